using System.Text.RegularExpressions;

namespace Prism.Scanner.Signatures;

/// <summary>
/// A PCRE subsignature of a logical signature, <c>[Offset:]Trigger/PCRE/[Flags]</c>, run as clamscan 1.4 runs it
/// (verified with crafted files): after the body patterns, over the whole file, in database order, only when its
/// trigger (a logical expression over the preceding subsignatures' counts) holds. Without an offset the whole file is
/// searched; with an offset n (or EOF-n, EP+n, ...) the subject starts there and the match must start at its first
/// byte, unless flag r (rolling) or a maxshift is given; with n,m a match may start at most m bytes in, and flag e
/// confines the subject to those m bytes. Flag g counts every match (each search resumes at the previous match's
/// end), otherwise the first only. Flags i s m x A E U are PCRE's own. Matching is NonBacktracking when .NET allows
/// it for the translated pattern, otherwise backtracking with <see cref="MatchTimeout"/> per search: a search that
/// runs out of time counts as no match (as a search over ClamAV's PCRE match limit does).
/// </summary>
internal sealed class PcreSubsignature
{
    /// <summary>Time bound of one backtracking search.</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(2);

    private PcreSubsignature(int logical, int subsignature, LogicalExpression trigger, SignatureOffset offset, string pattern, string flags, Regex regex)
    {
        Logical = logical;
        Subsignature = subsignature;
        Trigger = trigger;
        Offset = offset;
        Pattern = pattern;
        Flags = flags;
        Regex = regex;
        Global = flags.Contains('g', StringComparison.Ordinal);
        Rolling = flags.Contains('r', StringComparison.Ordinal);
        Encompass = flags.Contains('e', StringComparison.Ordinal);
        Anchored = flags.Contains('A', StringComparison.Ordinal);
    }

    /// <summary>Index of the logical signature this subsignature belongs to.</summary>
    public int Logical { get; }

    public int Subsignature { get; }

    public LogicalExpression Trigger { get; }

    public SignatureOffset Offset { get; }

    /// <summary>The PCRE text as written (with <c>\/</c> escapes).</summary>
    public string Pattern { get; }

    public string Flags { get; }

    public Regex Regex { get; }

    /// <summary>True when <see cref="Regex"/> runs without backtracking (linear time); otherwise it has a timeout.</summary>
    public bool IsNonBacktracking => (Regex.Options & RegexOptions.NonBacktracking) != 0;

    public bool Global { get; }

    public bool Rolling { get; }

    public bool Encompass { get; }

    public bool Anchored { get; }

    /// <summary>The subsignature as text that <see cref="Parse"/> reads back into this one (the compiled cache stores it).</summary>
    public string SourceText => $"{Offset}:{Trigger.Text}/{Pattern}/{Flags}";

    /// <summary>True when <paramref name="text"/> (a subsignature without '::' modifiers) is written as a PCRE subsignature.</summary>
    public static bool IsPcre(string text) => text.Contains('/', StringComparison.Ordinal);

    /// <summary>
    /// Parses one PCRE subsignature. <see cref="FormatException"/> where clamscan rejects the database (no trigger, a
    /// trigger naming this or a later subsignature, mismatched '/', empty pattern, unknown flag, bad offset);
    /// <see cref="NotSupportedException"/> for PCRE constructs .NET cannot run as PCRE does.
    /// </summary>
    public static PcreSubsignature Parse(string text, int logical, int subsignature)
    {
        int firstSlash = text.IndexOf('/', StringComparison.Ordinal);
        int lastSlash = text.LastIndexOf('/');
        string prefix = text[..firstSlash];
        string offsetText = "*";
        int colon = prefix.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            if (prefix.IndexOf(':', colon + 1) >= 0)
            {
                throw new FormatException($"PCRE subsignature '{text}' has more than one ':' before its pattern; expected [offset:]trigger/pcre/flags");
            }

            offsetText = prefix[..colon];
            prefix = prefix[(colon + 1)..];
        }

        if (firstSlash == lastSlash)
        {
            throw new FormatException($"PCRE subsignature '{text}' has mismatched '/' delimiters");
        }

        if (text[0] == '/' || prefix.Length == 0)
        {
            throw new FormatException($"PCRE subsignature '{text}' has no logical trigger");
        }

        string pattern = text[(firstSlash + 1)..lastSlash];
        string flags = text[(lastSlash + 1)..];
        if (pattern.Length == 0)
        {
            throw new FormatException($"PCRE subsignature '{text}' has an empty pattern");
        }

        LogicalExpression trigger = LogicalExpression.Parse(prefix);
        if (trigger.HighestIndex >= subsignature)
        {
            throw new FormatException($"the trigger '{prefix}' of PCRE subsignature {subsignature} names subsignature {trigger.HighestIndex}; a trigger may only name earlier ones");
        }

        SignatureOffset offset = SignatureOffset.Parse(offsetText);
        bool extended = false, ungreedy = false, dollarEndOnly = false, multiline = false;
        var options = RegexOptions.CultureInvariant;
        foreach (char f in flags)
        {
            switch (f)
            {
                case 'i':
                    options |= RegexOptions.IgnoreCase;
                    break;
                case 's':
                    options |= RegexOptions.Singleline;
                    break;
                case 'm':
                    options |= RegexOptions.Multiline;
                    multiline = true;
                    break;
                case 'x':
                    extended = true;
                    break;
                case 'E':
                    dollarEndOnly = true;
                    break;
                case 'U':
                    ungreedy = true;
                    break;
                case 'A' or 'g' or 'r' or 'e':
                    break;
                default:
                    throw new FormatException($"unknown PCRE flag '{f}' in '{text}' (ClamAV takes g r e i s m x A E U)");
            }
        }

        string translated = PcreTranslator.Translate(pattern, extended, ungreedy, dollarEndOnly, multiline);
        return new PcreSubsignature(logical, subsignature, trigger, offset, pattern, flags, Compile(translated, options, pattern));
    }

    /// <summary>This subsignature as one of the logical signature now at index <paramref name="logical"/>.</summary>
    public PcreSubsignature WithLogical(int logical) => new(logical, Subsignature, Trigger, Offset, Pattern, Flags, Regex);

    /// <summary>
    /// Runs the search on the whole file (<paramref name="text"/> from <see cref="PcreTranslator.MapBytes"/>) and calls
    /// <paramref name="onMatch"/> with each counted match's start offset in the file.
    /// </summary>
    public void Run(string text, PeLayout? pe, bool eofDisabled, Action<long> onMatch)
    {
        long length = text.Length;
        long start = 0, shift = 0;
        bool any = Offset.Kind == SignatureOffsetKind.Any;
        if (!any)
        {
            if (Offset.Kind == SignatureOffsetKind.FromEnd && eofDisabled)
            {
                return;
            }

            (long min, long max) = Offset.StartRange(length, pe);
            if (min > max)
            {
                return;
            }

            (start, shift) = (min, max - min);
        }

        if (start >= length)
        {
            return;
        }

        bool anchored = Anchored || (!Rolling && shift == 0 && !any);
        long subjectLength = Encompass && shift != 0 ? Math.Min(shift, length - start) : length - start;
        string subject = start == 0 && subjectLength == length ? text : text.Substring((int)start, (int)subjectLength);
        int from = 0;
        do
        {
            Match m;
            try
            {
                m = Regex.Match(subject, from);
            }
            catch (RegexMatchTimeoutException)
            {
                return;
            }

            if (!m.Success || (anchored && m.Index != from))
            {
                return;
            }

            if (!Encompass && shift != 0 && m.Index > shift)
            {
                return;
            }

            onMatch(start + m.Index);

            // ClamAV resumes at the match's end; an empty match would repeat forever there, so step past it.
            from = m.Length > 0 ? m.Index + m.Length : m.Index + 1;
        }
        while (Global && from < subjectLength);
    }

    public string ToCanonical() => $"pcre:{Offset}:{Trigger.Text}/{Pattern}/{Flags}";

    /// <summary>NonBacktracking where .NET supports every construct used; else backtracking with a timeout.</summary>
    private static Regex Compile(string translated, RegexOptions options, string pattern)
    {
        try
        {
            return new Regex(translated, options | RegexOptions.NonBacktracking | RegexOptions.ExplicitCapture);
        }
        catch (Exception e) when (e is NotSupportedException or ArgumentException)
        {
            // Backreferences (numbered ones are no groups under ExplicitCapture), lookarounds, atomic groups, \G: run
            // with a time bound instead; a pattern .NET cannot parse at all fails again below.
        }

        try
        {
            return new Regex(translated, options, MatchTimeout);
        }
        catch (RegexParseException e) when (e.Error is RegexParseError.InsufficientClosingParentheses
            or RegexParseError.InsufficientOpeningParentheses or RegexParseError.UnterminatedBracket
            or RegexParseError.UnterminatedComment or RegexParseError.QuantifierAfterNothing
            or RegexParseError.NestedQuantifiersNotParenthesized or RegexParseError.ReversedCharacterRange
            or RegexParseError.ReversedQuantifierRange)
        {
            // Broken in PCRE too: clamscan refuses the database when it compiles the pattern.
            throw new FormatException($"/{pattern}/ is no valid regular expression ({e.Message})", e);
        }
        catch (ArgumentException e)
        {
            throw new NotSupportedException($".NET cannot compile /{pattern}/ as translated ({e.Message})", e);
        }
    }
}
