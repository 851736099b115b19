namespace Prism.Disks.Errors;

/// <summary>
/// Malformed on-disk data. The message names the file, the structure and the absolute byte offset.
/// </summary>
public class DiskFormatException : IOException
{
    /// <summary>Creates the exception.</summary>
    public DiskFormatException(string? filePath, string structure, long? fileOffset, string detail, Exception? inner = null)
        : base(Compose(filePath, structure, fileOffset, detail), inner)
    {
        FilePath = filePath;
        Structure = structure;
        FileOffset = fileOffset;
        Detail = detail;
    }

    /// <summary>The file (or image) that holds the bad structure, when known.</summary>
    public string? FilePath { get; }

    /// <summary>The structure that failed to decode, e.g. "VHDX region table".</summary>
    public string Structure { get; }

    /// <summary>Absolute byte offset of the structure (or the bad field) inside the file, when known.</summary>
    public long? FileOffset { get; }

    /// <summary>What was wrong, without the location prefix.</summary>
    public string Detail { get; }

    private static string Compose(string? filePath, string structure, long? fileOffset, string detail)
    {
        // Paths (a parent's comes from a locator) and details (names read from a disk) are disk-derived: escaped.
        string where = fileOffset is long o ? $"{structure} at 0x{o:X}" : structure;
        return TextEscaping.Escape(filePath is null ? $"{where}: {detail}" : $"{filePath}: {where}: {detail}");
    }
}
