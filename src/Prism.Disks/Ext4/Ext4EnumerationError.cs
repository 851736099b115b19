namespace Prism.Disks.Ext4;

/// <summary>A file or directory that could not be read during a walk; it was skipped.</summary>
/// <param name="Path">The path the entry would have had.</param>
/// <param name="Inode">The inode involved.</param>
/// <param name="Exception">The typed error (usually <see cref="Errors.Ext4FormatException"/>).</param>
public sealed record Ext4EnumerationError(string Path, uint Inode, Exception Exception)
{
    /// <summary>One line: path and error message.</summary>
    public override string ToString() => $"{Path}: {Exception.Message}";
}
