using Prism.Disks.Errors;

namespace Prism.Scanner.Signatures;

/// <summary>A signature line, file or archive member the loader did not use, with the reason.</summary>
/// <param name="Source">The database file (for archive members "archive.cvd:member.ndb").</param>
/// <param name="LineNumber">1-based line number; 0 when the issue concerns the whole file.</param>
/// <param name="Reason">Why the signature (or file) was not loaded, e.g. "offset EP+0 is not supported".</param>
public sealed record SignatureIssue(string Source, int LineNumber, string Reason)
{
    /// <summary>"source:line: reason", with control characters (from archive member names or lines) escaped for printing.</summary>
    public override string ToString() =>
        TextEscaping.Escape(LineNumber > 0 ? $"{Source}:{LineNumber}: {Reason}" : $"{Source}: {Reason}");
}
