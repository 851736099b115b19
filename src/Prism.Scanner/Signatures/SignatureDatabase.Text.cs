namespace Prism.Scanner.Signatures;

/// <summary>What the normalised text rescan (<see cref="TextNormalizer"/>) needs from the database, derived once from its signatures.</summary>
public sealed partial class SignatureDatabase
{
    private TextRescanPlan? _textPlan;

    /// <summary>The text rescan's parameters (derived from the signatures, so a cached load needs nothing stored).</summary>
    internal TextRescanPlan TextPlan => _textPlan ??= TextRescanPlan.Of(this);
}

/// <summary>
/// Whether files clamscan types as text are normalised and rescanned (some body or logical signature of target type 0
/// or 7), the longest target-7 pattern part (clamscan's maxpatlen for its buffered rescan; taken as the part's
/// maximum span, which equals clamscan's for parts without a variable jump or boundary anchor: measured, clamscan
/// counts bytes, "??", fixed {n} jumps and alternatives by their length, and splits parts at "*" and variable jumps,
/// which it does not count), and whether some target-7 signature has an EOF-n
/// offset (then clamscan normalises the whole file and scans it as a file).
/// </summary>
internal sealed record TextRescanPlan(bool Enabled, int MaxPatternLength, bool Whole)
{
    /// <summary>clamscan's default MaxScriptNormalize: larger files are not normalised.</summary>
    public const long MaxFileSize = 20L << 20;

    public static TextRescanPlan Of(SignatureDatabase db)
    {
        bool enabled = db.Logicals.Any(l => l.Target is 0 or 7 && l.MacroGroup < 0);
        int maxPatternLength = 0;
        bool whole = false;
        foreach (BodySignature body in db.Bodies)
        {
            enabled |= body.Target is 0 or 7;
            if (body.Target != 7)
            {
                continue;
            }

            whole |= body.Offset.Kind == SignatureOffsetKind.FromEnd;
            foreach (PatternSegment segment in body.Segments)
            {
                maxPatternLength = Math.Max(maxPatternLength, segment.MaxSpan);
            }
        }

        return new TextRescanPlan(enabled, maxPatternLength, whole);
    }
}
