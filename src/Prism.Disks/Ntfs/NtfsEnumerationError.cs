namespace Prism.Disks.Ntfs;

/// <summary>A file or directory that could not be read during enumeration; it was skipped.</summary>
/// <param name="Path">The path the entry would have had.</param>
/// <param name="RecordNumber">The MFT record involved, when known.</param>
/// <param name="Exception">The typed error (usually <see cref="Errors.NtfsFormatException"/>).</param>
public sealed record NtfsEnumerationError(string Path, long? RecordNumber, Exception Exception)
{
    /// <summary>One line: path and error message.</summary>
    public override string ToString() => $"{Path}: {Exception.Message}";
}
