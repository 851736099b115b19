using System.Diagnostics;

namespace Prism.Scanner.Signatures;

/// <summary>
/// One '*'-separated part of a body signature, split around its anchor: the fixed bytes the multi-pattern
/// automaton looks for. A hit on the anchor is verified by matching <see cref="After"/> forwards and
/// <see cref="Before"/> backwards from it.
/// </summary>
internal sealed partial class PatternSegment
{
    /// <summary>Longest anchor fed to the matchers (<see cref="QuadAnchorFilter"/> keys); the rest of a long fixed run is verified.</summary>
    public const int MaxAnchorLength = QuadAnchorFilter.KeyLength;

    /// <summary>Most options of an alternative used as anchors.</summary>
    private const int MaxAnchorOptions = 32;

    /// <summary>(W) inside a part: one byte that is not [0-9A-Za-z].</summary>
    private static readonly PatternElement s_nonAlphanumeric = PatternElement.FromAlternatives(
        [.. Enumerable.Range(0, 256).Where(b => IsAlphanumeric((byte)b)).Select(b => PatternElement.FromBytes([(byte)b], [0xFF]))],
        negated: true);

    private PatternSegment(PatternElement[] before, byte[][] anchors, PatternElement[] after, int minDistance, bool anchorIsAlternative,
        char leading, char trailing)
    {
        AnchorIsAlternative = anchorIsAlternative;
        LeadingBoundary = leading;
        TrailingBoundary = trailing;
        Before = before;
        Anchors = anchors;
        After = after;
        MinDistanceFromPrevious = minDistance;
        foreach (PatternElement e in before)
        {
            MinBefore += e.MinLength;
            MaxBefore += e.MaxLength;
        }

        foreach (PatternElement e in after)
        {
            MinAfter += e.MinLength;
            MaxAfter += e.MaxLength;
        }

        // A trailing class looks at the byte after the match: wait for it (or the end of the file).
        MaxAfter += trailing switch { NoBoundary => 0, 'L' or WideWord => 2, _ => 1 };

        foreach (byte[] a in anchors)
        {
            AnchorMaxLength = Math.Max(AnchorMaxLength, a.Length);
        }
    }

    /// <summary>No (B)/(L)/(W) at this edge.</summary>
    public const char NoBoundary = '\0';

    /// <summary>
    /// The (W) edge of a wide (::w) logical subsignature: clamscan tests the neighbouring two-byte character there (an
    /// alphanumeric byte with a 00 after it is a word character), or a single byte where only one is left.
    /// </summary>
    public const char WideWord = 'w';

    /// <summary>(B), (L) or (W) before the part's first byte (checked on the byte before the match), or <see cref="NoBoundary"/>.</summary>
    public char LeadingBoundary { get; }

    /// <summary>(B), (L) or (W) after the part's last byte (checked on the byte after the match), or <see cref="NoBoundary"/>.</summary>
    public char TrailingBoundary { get; }

    /// <summary>The "aa" of "aa[n-m]HEXSIG", checked before the match; null when the part has none.</summary>
    public PatternElement? LeadingByte { get; private init; }

    /// <summary>The [n-m] between <see cref="LeadingByte"/> and the match.</summary>
    public PatternElement? LeadingGap { get; private init; }

    /// <summary>Bytes before the match a leading class or byte looks at: part of the history a session keeps.</summary>
    public int ContextBefore => Math.Max(LeadingBoundary == WideWord ? 2 : LeadingBoundary != NoBoundary ? 1 : 0, LeadingGap is { } g ? g.MaxLength + 1 : 0);

    /// <summary>This part with its (W) edges tested as clamscan tests them for wide subsignatures.</summary>
    public PatternSegment WithWideWordEdges() =>
        new(Before, Anchors, After, MinDistanceFromPrevious, AnchorIsAlternative,
            LeadingBoundary == 'W' ? WideWord : LeadingBoundary, TrailingBoundary == 'W' ? WideWord : TrailingBoundary)
        {
            LeadingByte = LeadingByte,
            LeadingGap = LeadingGap,
        };

    /// <summary>Elements before the anchor, nearest first (matched backwards).</summary>
    public PatternElement[] Before { get; }

    /// <summary>The fixed keyword(s); several when the anchor is an alternative.</summary>
    public byte[][] Anchors { get; }

    /// <summary>Elements after the anchor, in order.</summary>
    public PatternElement[] After { get; }

    /// <summary>Fewest bytes between the previous part's end and this part's start ({n-} gives n).</summary>
    public int MinDistanceFromPrevious { get; }

    public int MinBefore { get; }

    public int MaxBefore { get; }

    public int MinAfter { get; }

    public int MaxAfter { get; }

    public int AnchorMaxLength { get; }

    /// <summary>Longest byte span a match of this part can cover.</summary>
    public int MaxSpan => ContextBefore + MaxBefore + AnchorMaxLength + MaxAfter;

    /// <summary>True when the anchors are the options of an alternative (written "(..|..)"), false for one fixed run.</summary>
    public bool AnchorIsAlternative { get; }

    /// <summary>
    /// ClamAV-syntax text of this part (for the signature-set hash), rebuilt from the compiled elements on demand rather
    /// than kept: the elements of the part as parsed, in order, each as <see cref="PatternElement.ToCanonical"/> writes it.
    /// </summary>
    public string Canonical
    {
        get
        {
            var text = new System.Text.StringBuilder();
            if (LeadingByte is { } lb)
            {
                text.Append(lb.ToCanonical()).Append(LeadingGap!.ToCanonical());
            }

            AppendBoundary(text, LeadingBoundary);
            for (int i = Before.Length - 1; i >= 0; i--)
            {
                text.Append(ReferenceEquals(Before[i], s_nonAlphanumeric) ? "(W)" : Before[i].ToCanonical());
            }

            text.Append(AnchorIsAlternative ? "(" : string.Empty)
                .AppendJoin('|', Anchors.Select(Convert.ToHexStringLower))
                .Append(AnchorIsAlternative ? ")" : string.Empty);
            foreach (PatternElement e in After)
            {
                text.Append(ReferenceEquals(e, s_nonAlphanumeric) ? "(W)" : e.ToCanonical());
            }

            AppendBoundary(text, TrailingBoundary);
            return text.ToString();

            static void AppendBoundary(System.Text.StringBuilder text, char edge)
            {
                if (edge != NoBoundary)
                {
                    text.Append('(').Append(edge == WideWord ? 'W' : edge).Append(')');
                }
            }
        }
    }

    /// <summary>Chooses the anchor; throws <see cref="NotSupportedException"/> when the part has no fixed byte to anchor on.</summary>
    public static PatternSegment Compile(HexPatternParser.RawSegment raw)
    {
        List<PatternElement> elements = [.. raw.Elements];
        // The part's text, for the messages of the parts refused below only.
        string Canonical() => string.Concat(raw.Elements.Select(e => e.ToCanonical()));

        // ClamAV's character classes (verified with clamscan 1.4.6): at a part's edges (B), (L) and (W) test the
        // neighbouring byte, a file boundary passing; inside a part (W) is one non-alphanumeric byte.
        // "aa[n-m]HEXSIG": clamscan measures the offset from HEXSIG, so the single byte becomes context before the match.
        PatternElement? leadingByte = null, leadingGap = null;
        if (elements.Count > 2 && elements[0].Kind == PatternElementKind.Bytes && elements[0].MaxLength == 1 && elements[1].IsAnchoredGap)
        {
            (leadingByte, leadingGap) = (elements[0], elements[1]);
            elements.RemoveRange(0, 2);
        }

        char leading = NoBoundary, trailing = NoBoundary;
        if (elements.Count > 0 && elements[0].Kind == PatternElementKind.Boundary)
        {
            leading = elements[0].BoundaryKind;
            elements.RemoveAt(0);
        }

        if (elements.Count > 0 && elements[^1].Kind == PatternElementKind.Boundary)
        {
            trailing = elements[^1].BoundaryKind;
            elements.RemoveAt(elements.Count - 1);
        }

        for (int k = 0; k < elements.Count; k++)
        {
            if (elements[k].Kind != PatternElementKind.Boundary)
            {
                continue;
            }

            if (elements[k].BoundaryKind != 'W')
            {
                throw new NotSupportedException($"({elements[k].BoundaryKind}) inside part '{Canonical()}' is not supported (only at its start or end)");
            }

            elements[k] = s_nonAlphanumeric;
        }

        // The best window of up to MaxAnchorLength exact bytes inside one Bytes element: longest first, then the most
        // distinct values with the fewest 00/FF bytes, which are common in disk images and would flood verification.
        int bestElement = -1, bestStart = 0, bestLength = 0, bestScore = int.MinValue;
        for (int ei = 0; ei < elements.Count; ei++)
        {
            PatternElement e = elements[ei];
            if (e.Kind != PatternElementKind.Bytes)
            {
                continue;
            }

            int run = 0;
            for (int k = 0; k <= e.Masks.Length; k++)
            {
                if (k < e.Masks.Length && e.Masks[k] == 0xFF)
                {
                    run++;
                    continue;
                }

                int length = Math.Min(run, MaxAnchorLength);
                for (int start = k - run; start + length <= k && length > 0; start++)
                {
                    int score = AnchorScore(e.Values.AsSpan(start, length));
                    if (length > bestLength || (length == bestLength && score > bestScore))
                    {
                        (bestElement, bestStart, bestLength, bestScore) = (ei, start, length, score);
                    }
                }

                run = 0;
            }
        }

        // An alternative of fixed options is a better anchor when its shortest option beats the fixed run.
        int bestAlternative = -1, bestAlternativeLength = 0;
        for (int ei = 0; ei < elements.Count; ei++)
        {
            PatternElement e = elements[ei];
            if (e.Kind == PatternElementKind.Alternatives && !e.Negated && e.Options.Length <= MaxAnchorOptions
                && Array.TrueForAll(e.Options, o => o.IsFullyFixed) && e.MinLength > bestAlternativeLength)
            {
                bestAlternative = ei;
                bestAlternativeLength = e.MinLength;
            }
        }

        if (bestLength == 0 && bestAlternative < 0)
        {
            throw new NotSupportedException("part '" + Canonical() + "' has no fixed byte to anchor on");
        }

        var before = new List<PatternElement>();
        var after = new List<PatternElement>();
        byte[][] anchors;
        if (bestAlternativeLength > bestLength)
        {
            anchors = elements[bestAlternative].Options.Select(o => o.Values).ToArray();
            before.AddRange(elements.Take(bestAlternative));
            after.AddRange(elements.Skip(bestAlternative + 1));
        }
        else
        {
            PatternElement host = elements[bestElement];
            int length = bestLength;
            anchors = [host.Values.AsSpan(bestStart, length).ToArray()];
            before.AddRange(elements.Take(bestElement));
            if (bestStart > 0)
            {
                before.Add(PatternElement.FromBytes(host.Values[..bestStart], host.Masks[..bestStart]));
            }

            int rightStart = bestStart + length;
            if (rightStart < host.Values.Length)
            {
                after.Add(PatternElement.FromBytes(host.Values[rightStart..], host.Masks[rightStart..]));
            }

            after.AddRange(elements.Skip(bestElement + 1));
        }

        before.Reverse();
        return new PatternSegment([.. before], anchors, [.. after], raw.MinDistanceFromPrevious, bestAlternativeLength > bestLength, leading, trailing)
        {
            LeadingByte = leadingByte,
            LeadingGap = leadingGap,
        };
    }

    private static int AnchorScore(ReadOnlySpan<byte> window)
    {
        int score = 0;
        for (int i = 0; i < window.Length; i++)
        {
            if (window[..i].IndexOf(window[i]) < 0)
            {
                score += 2;
            }

            if (window[i] is 0x00 or 0xFF)
            {
                score--;
            }
        }

        return score;
    }

    /// <summary>
    /// Verifies a hit of anchor <paramref name="anchorLength"/> bytes long at absolute <paramref name="anchorStart"/>.
    /// <paramref name="window"/> holds the bytes from absolute <paramref name="windowBase"/>; bytes outside it count as
    /// absent (the caller keeps enough history and waits for enough look-ahead). The match must start within
    /// [<paramref name="startMin"/>, <paramref name="startMax"/>]. Returns the latest such start and the earliest end.
    /// </summary>
    public bool TryMatch(ReadOnlySpan<byte> window, long windowBase, long anchorStart, int anchorLength,
        long startMin, long startMax, long? fileLength, out long start, out long end)
    {
        end = 0;
        if (!MatchBackward(Before, 0, window, windowBase, anchorStart, startMin, startMax, out start))
        {
            return false;
        }

        if (!MatchForward(After, 0, window, windowBase, anchorStart + anchorLength, out end))
        {
            return false;
        }

        if (LeadingByte is { } lb && !LeadingByteMatches(lb, LeadingGap!, window, windowBase, start))
        {
            return false;
        }

        return (LeadingBoundary == NoBoundary || EdgeMatches(LeadingBoundary, leading: true, window, windowBase, start - 1, fileLength))
            && (TrailingBoundary == NoBoundary || EdgeMatches(TrailingBoundary, leading: false, window, windowBase, end, fileLength));
    }

    /// <summary>
    /// The class test on the byte at <paramref name="position"/> next to a match: a file boundary passes; (B) and
    /// (W) want a non-alphanumeric byte; (L) wants LF before the match and LF or CR LF after it.
    /// </summary>
    private static bool EdgeMatches(char kind, bool leading, ReadOnlySpan<byte> window, long windowBase, long position, long? fileLength)
    {
        if (position < 0 || (fileLength is long n && position >= n))
        {
            return true;
        }

        if (position < windowBase || position >= windowBase + window.Length)
        {
            return false;
        }

        byte b = window[(int)(position - windowBase)];
        if (kind == WideWord)
        {
            long other = leading ? position - 1 : position + 1;
            if (leading && position == 0)
            {
                return true;
            }

            bool pairAvailable = other >= windowBase && other < windowBase + window.Length && (fileLength is not long length || other < length);
            if (!pairAvailable)
            {
                return !IsAlphanumeric(b);
            }

            byte o = window[(int)(other - windowBase)];
            return leading ? !(IsAlphanumeric(o) && b == 0) : !(IsAlphanumeric(b) && o == 0);
        }

        if (kind != 'L')
        {
            return !IsAlphanumeric(b);
        }

        // clamscan: LF before the match; LF or CR LF after it (a lone CR does not end a line).
        long next = position + 1 - windowBase;
        return b == (byte)'\n' || (!leading && b == (byte)'\r' && next < window.Length && window[(int)next] == (byte)'\n');
    }

    /// <summary>True when <paramref name="lb"/> lies n to m bytes before <paramref name="start"/> (n-m from <paramref name="gap"/>).</summary>
    private static bool LeadingByteMatches(PatternElement lb, PatternElement gap, ReadOnlySpan<byte> window, long windowBase, long start)
    {
        for (int g = gap.MinLength; g <= gap.MaxLength; g++)
        {
            long p = start - 1 - g;
            if (p >= windowBase && p < windowBase + window.Length && lb.BytesMatchAt(window, (int)(p - windowBase)))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsAlphanumeric(byte b) => b is (>= (byte)'0' and <= (byte)'9') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z');

    private static bool MatchForward(PatternElement[] elements, int i, ReadOnlySpan<byte> window, long windowBase,
        long position, out long end)
    {
        long windowEnd = windowBase + window.Length;
        for (; i < elements.Length; i++)
        {
            PatternElement e = elements[i];
            switch (e.Kind)
            {
                case PatternElementKind.Bytes:
                    if (position + e.MaxLength > windowEnd || !e.BytesMatchAt(window, (int)(position - windowBase)))
                    {
                        end = 0;
                        return false;
                    }

                    position += e.MaxLength;
                    break;
                case PatternElementKind.Gap:
                    for (int g = e.MinLength; g <= e.MaxLength && position + g <= windowEnd; g++)
                    {
                        if (MatchForward(elements, i + 1, window, windowBase, position + g, out end))
                        {
                            return true;
                        }
                    }

                    end = 0;
                    return false;
                default:
                    if (e.Negated)
                    {
                        if (position + e.MaxLength > windowEnd || AnyOptionMatches(e, window, (int)(position - windowBase)))
                        {
                            end = 0;
                            return false;
                        }

                        position += e.MaxLength;
                        break;
                    }

                    foreach (PatternElement o in e.Options)
                    {
                        if (position + o.MaxLength <= windowEnd && o.BytesMatchAt(window, (int)(position - windowBase))
                            && MatchForward(elements, i + 1, window, windowBase, position + o.MaxLength, out end))
                        {
                            return true;
                        }
                    }

                    end = 0;
                    return false;
            }
        }

        end = position;
        return true;
    }

    private static bool MatchBackward(PatternElement[] elements, int i, ReadOnlySpan<byte> window, long windowBase,
        long position, long startMin, long startMax, out long start)
    {
        Debug.Assert(position >= windowBase || position < startMin, "history window too short");
        for (; i < elements.Length; i++)
        {
            if (position < startMin)
            {
                start = 0;
                return false;
            }

            PatternElement e = elements[i];
            switch (e.Kind)
            {
                case PatternElementKind.Bytes:
                    position -= e.MaxLength;
                    if (position < windowBase || !e.BytesMatchAt(window, (int)(position - windowBase)))
                    {
                        start = 0;
                        return false;
                    }

                    break;
                case PatternElementKind.Gap:
                    for (int g = e.MinLength; g <= e.MaxLength && position - g >= windowBase && position - g >= startMin; g++)
                    {
                        if (MatchBackward(elements, i + 1, window, windowBase, position - g, startMin, startMax, out start))
                        {
                            return true;
                        }
                    }

                    start = 0;
                    return false;
                default:
                    if (e.Negated)
                    {
                        position -= e.MaxLength;
                        if (position < windowBase || AnyOptionMatches(e, window, (int)(position - windowBase)))
                        {
                            start = 0;
                            return false;
                        }

                        break;
                    }

                    foreach (PatternElement o in e.Options)
                    {
                        long p = position - o.MaxLength;
                        if (p >= windowBase && o.BytesMatchAt(window, (int)(p - windowBase))
                            && MatchBackward(elements, i + 1, window, windowBase, p, startMin, startMax, out start))
                        {
                            return true;
                        }
                    }

                    start = 0;
                    return false;
            }
        }

        start = position;
        return position >= startMin && position <= startMax;
    }

    private static bool AnyOptionMatches(PatternElement alternative, ReadOnlySpan<byte> window, int index)
    {
        foreach (PatternElement o in alternative.Options)
        {
            if (o.BytesMatchAt(window, index))
            {
                return true;
            }
        }

        return false;
    }
}
