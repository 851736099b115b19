namespace Prism.Disks.Errors;

/// <summary>An NTFS structure (boot sector, file record, index block, run list, compressed unit) is malformed.</summary>
public sealed class NtfsFormatException : DiskFormatException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="filePath">The volume's name or image path, when known.</param>
    /// <param name="structure">The structure, e.g. "NTFS file record 42".</param>
    /// <param name="fileOffset">Byte offset of the structure inside the volume, when known.</param>
    /// <param name="detail">What was wrong.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public NtfsFormatException(string? filePath, string structure, long? fileOffset, string detail, Exception? inner = null)
        : base(filePath, structure, fileOffset, detail, inner)
    {
    }

    /// <summary>The MFT record number involved, when the error concerns one file record.</summary>
    public long? RecordNumber { get; init; }
}
