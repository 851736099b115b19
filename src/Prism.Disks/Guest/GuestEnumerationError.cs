namespace Prism.Disks.Guest;

/// <summary>A file or directory that could not be read during a walk; it was skipped (and must be reported).</summary>
/// <param name="Path">The path the entry would have had.</param>
/// <param name="Id">The MFT record or inode involved, when known.</param>
/// <param name="Exception">The typed error (usually a <see cref="Errors.DiskFormatException"/>).</param>
public sealed record GuestEnumerationError(string Path, long? Id, Exception Exception)
{
    /// <summary>One line: path and error message.</summary>
    public override string ToString() => $"{Path}: {Exception.Message}";
}
