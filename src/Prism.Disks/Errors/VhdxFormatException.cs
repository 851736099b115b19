namespace Prism.Disks.Errors;

/// <summary>A VHDX structure is malformed or unsupported.</summary>
public sealed class VhdxFormatException : DiskFormatException
{
    /// <summary>Creates the exception.</summary>
    public VhdxFormatException(string? filePath, string structure, long? fileOffset, string detail, Exception? inner = null)
        : base(filePath, structure, fileOffset, detail, inner)
    {
    }
}
