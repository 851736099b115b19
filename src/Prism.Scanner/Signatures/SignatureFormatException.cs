using Prism.Disks.Errors;

namespace Prism.Scanner.Signatures;

/// <summary>
/// A malformed signature database: the message names the file and the 1-based line. The message echoes database text
/// (a CVD header, a member name, a line's fields), so control characters in it are escaped.
/// </summary>
public sealed class SignatureFormatException : IOException
{
    internal SignatureFormatException(string source, int lineNumber, string detail, Exception? inner = null)
        : base(TextEscaping.Escape(lineNumber > 0 ? $"{source}:{lineNumber}: {detail}" : $"{source}: {detail}"), inner)
    {
        FilePath = source;
        LineNumber = lineNumber;
        Detail = detail;
    }

    /// <summary>The database file (for archive members "archive.cvd:member.ndb").</summary>
    public string FilePath { get; }

    /// <summary>1-based line number of the bad line; 0 when the whole file is bad (e.g. a corrupt .cvd header).</summary>
    public int LineNumber { get; }

    /// <summary>What was wrong, without the location prefix.</summary>
    public string Detail { get; }
}
