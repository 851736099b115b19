using System.Globalization;

namespace Prism.Scanner.Signatures;

/// <summary>
/// Parses ClamAV body-signature hex content (ndb field 4): hex bytes, "??", nibble wildcards "a?"/"?a", "*",
/// "{n}", "{-n}", "{n-}", "{n-m}", "[n-m]", "(aa|bbcc)", generic alternates "(a?bb|cc{2}dd|ee(ff|00))" and "!(aa|bb)".
/// Throws <see cref="FormatException"/> for malformed text and <see cref="NotSupportedException"/> for valid
/// constructs the engine does not implement ((B) or (L) inside a part).
/// </summary>
internal static class HexPatternParser
{
    /// <summary>Largest bounded gap accepted; larger ones are reported as unsupported.</summary>
    public const int MaxGap = 1 << 20;

    /// <summary>Most byte strings one alternative may expand to (generic alternates are expanded, not interpreted).</summary>
    private const int MaxExpandedOptions = 4096;

    /// <summary>ClamAV limits ranges inside generic alternates to fewer bytes than this.</summary>
    private const int MaxAlternativeGap = 128;

    /// <summary>One '*'-separated part and the fewest bytes that must separate it from the previous part.</summary>
    public readonly record struct RawSegment(List<PatternElement> Elements, int MinDistanceFromPrevious);

    public static List<RawSegment> Parse(string text)
    {
        var segments = new List<RawSegment>();
        var current = new List<PatternElement>();
        var values = new List<byte>();
        var masks = new List<byte>();
        int distance = 0;
        int i = 0;

        void FlushBytes()
        {
            if (values.Count > 0)
            {
                current.Add(PatternElement.FromBytes([.. values], [.. masks]));
                values.Clear();
                masks.Clear();
            }
        }

        void EndSegment(int nextDistance)
        {
            FlushBytes();
            if (!current.Exists(e => e.Kind != PatternElementKind.Gap))
            {
                throw new FormatException($"empty part before column {i + 1} (every '*'-separated part needs bytes)");
            }

            segments.Add(new RawSegment(current, distance));
            current = [];
            distance = nextDistance;
        }

        if (text.Length == 0)
        {
            throw new FormatException("empty hex signature");
        }

        while (i < text.Length)
        {
            char c = text[i];
            if (c == '*')
            {
                EndSegment(0);
                i++;
            }
            else if (c is '{' or '[')
            {
                char close = c == '{' ? '}' : ']';
                int end = text.IndexOf(close, i + 1);
                if (end < 0)
                {
                    throw new FormatException($"'{c}' at column {i + 1} is not closed");
                }

                string body = text[(i + 1)..end];
                FlushBytes();
                (int min, int? max) = ParseRange(body, c == '[', i);
                if (max is null)
                {
                    // {n-}: at least n bytes, then anything: a new part, like '*' with a minimum distance.
                    EndSegment(min);
                }
                else
                {
                    current.Add(c == '[' ? PatternElement.FromAnchoredGap(min, max.Value) : PatternElement.FromGap(min, max.Value));
                }

                i = end + 1;
            }
            else if (c == '(' || (c == '!' && i + 1 < text.Length && text[i + 1] == '('))
            {
                bool negated = c == '!';
                int open = negated ? i + 1 : i;
                int end = FindClose(text, open);
                string body = text[(open + 1)..end];
                FlushBytes();
                current.Add(body is "B" or "L" or "W" && !negated
                    ? PatternElement.FromBoundary(body[0])
                    : ParseAlternatives(body, negated, open));
                i = end + 1;
            }
            else
            {
                if (i + 1 >= text.Length)
                {
                    throw new FormatException($"odd number of hex digits at column {i + 1}");
                }

                (byte value, byte mask) = ParseHexPair(text[i], text[i + 1], i);
                values.Add(value);
                masks.Add(mask);
                i += 2;
            }
        }

        EndSegment(0);
        return segments;
    }

    private static (int Min, int? Max) ParseRange(string body, bool bracket, int column)
    {
        int dash = body.IndexOf('-', StringComparison.Ordinal);
        int min, max;
        if (dash < 0)
        {
            min = max = ParseCount(body, column);
        }
        else
        {
            string left = body[..dash], right = body[(dash + 1)..];
            if (left.Length == 0 && right.Length == 0)
            {
                throw new FormatException($"empty range at column {column + 1}");
            }

            min = left.Length == 0 ? 0 : ParseCount(left, column);
            if (right.Length == 0)
            {
                if (bracket)
                {
                    throw new FormatException($"open range [{body}] at column {column + 1}");
                }

                return (min, null);
            }

            max = ParseCount(right, column);
        }

        if (min > max)
        {
            throw new FormatException($"range {body} at column {column + 1} has min > max");
        }

        if (max == 0 && !bracket)
        {
            // clamscan matches {0}, {0-0} and {-0} like '*' (verified with ClamAV 1.4.6): a new part, any distance.
            return (0, null);
        }

        if (max > MaxGap)
        {
            throw new NotSupportedException($"gap of {max} bytes exceeds the engine limit of {MaxGap}");
        }

        return (min, max);
    }

    private static int ParseCount(string s, int column)
    {
        if (!int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int n))
        {
            throw new FormatException($"bad number '{s}' at column {column + 1}");
        }

        return n;
    }

    /// <summary>Index of the ')' closing the '(' at <paramref name="open"/>, nested groups skipped.</summary>
    private static int FindClose(string text, int open)
    {
        int depth = 0;
        for (int k = open; k < text.Length; k++)
        {
            if (text[k] == '(')
            {
                depth++;
            }
            else if (text[k] == ')' && --depth == 0)
            {
                return k;
            }
        }

        throw new FormatException($"'(' at column {open + 1} is not closed");
    }

    /// <summary>Splits an alternative's body at its top-level '|'.</summary>
    private static List<string> SplitOptions(string body)
    {
        var parts = new List<string>();
        int depth = 0, start = 0;
        for (int k = 0; k < body.Length; k++)
        {
            if (body[k] == '(')
            {
                depth++;
            }
            else if (body[k] == ')')
            {
                depth--;
            }
            else if (body[k] == '|' && depth == 0)
            {
                parts.Add(body[start..k]);
                start = k + 1;
            }
        }

        parts.Add(body[start..]);
        return parts;
    }

    /// <summary>
    /// An alternative: fixed options, or ClamAV's generic alternates (options with "??", nibbles, fixed {n} under 128
    /// bytes and nested alternatives), each expanded into the byte strings it can match.
    /// </summary>
    private static PatternElement ParseAlternatives(string body, bool negated, int column)
    {
        List<string> parts = SplitOptions(body);
        if (parts.Count < 2 && !negated)
        {
            throw new FormatException($"alternative at column {column + 1} needs at least two options");
        }

        var options = new List<PatternElement>();
        foreach (string part in parts)
        {
            foreach ((byte[] v, byte[] m) in ExpandOption(part, column))
            {
                options.Add(PatternElement.FromBytes(v, m));
            }
        }

        if (options.Count > MaxExpandedOptions)
        {
            throw new NotSupportedException($"alternative at column {column + 1} expands to more than {MaxExpandedOptions} options");
        }

        PatternElement alt = PatternElement.FromAlternatives([.. options], negated);
        if (negated && (alt.MinLength != alt.MaxLength || options.Exists(o => !o.IsFullyFixed) || body.Contains('(')))
        {
            throw new NotSupportedException($"negated alternative with options of unequal length or wildcards at column {column + 1}");
        }

        return alt;
    }

    /// <summary>Every (values, masks) string one option of an alternative matches.</summary>
    private static List<(byte[] Values, byte[] Masks)> ExpandOption(string option, int column)
    {
        if (option.Length == 0)
        {
            throw new FormatException($"empty option in alternative at column {column + 1}");
        }

        var results = new List<(List<byte> V, List<byte> M)> { ([], []) };
        int k = 0;
        while (k < option.Length)
        {
            char c = option[k];
            List<(byte[] Values, byte[] Masks)> pieces;
            if (c == '(')
            {
                int end = FindClose(option, k);
                string inner = option[(k + 1)..end];
                if (inner is "B" or "L" or "W")
                {
                    throw new NotSupportedException($"boundary anchor ({inner}) inside an alternative is not supported");
                }

                pieces = [];
                foreach (string nested in SplitOptions(inner))
                {
                    pieces.AddRange(ExpandOption(nested, column));
                }

                k = end + 1;
            }
            else if (c == '{')
            {
                int end = option.IndexOf('}', k + 1);
                if (end < 0)
                {
                    throw new FormatException($"'{{' in alternative at column {column + 1} is not closed");
                }

                (int min, int? max) = ParseRange(option[(k + 1)..end], bracket: false, column);
                if (max != min || max >= MaxAlternativeGap)
                {
                    // clamscan: "Alternative match contains unsupported ranges".
                    throw new FormatException($"range {{{option[(k + 1)..end]}}} in alternative at column {column + 1}: only fixed {{n}} under {MaxAlternativeGap} bytes");
                }

                pieces = [];
                for (int n = min; n <= max; n++)
                {
                    pieces.Add((new byte[n], new byte[n]));
                }

                k = end + 1;
            }
            else if (c is '*' or '[' or '!')
            {
                throw new FormatException($"'{c}' is not allowed inside an alternative (column {column + 1})");
            }
            else
            {
                if (k + 1 >= option.Length)
                {
                    throw new FormatException($"odd number of hex digits in alternative at column {column + 1}");
                }

                (byte value, byte mask) = ParseHexPair(option[k], option[k + 1], column);
                pieces = [([value], [mask])];
                k += 2;
            }

            if ((long)results.Count * pieces.Count > MaxExpandedOptions)
            {
                throw new NotSupportedException($"alternative at column {column + 1} expands to more than {MaxExpandedOptions} options");
            }

            var next = new List<(List<byte> V, List<byte> M)>(results.Count * pieces.Count);
            foreach ((List<byte> v, List<byte> m) in results)
            {
                foreach ((byte[] pv, byte[] pm) in pieces)
                {
                    next.Add(([.. v, .. pv], [.. m, .. pm]));
                }
            }

            results = next;
        }

        return results.ConvertAll(r => (r.V.ToArray(), r.M.ToArray()));
    }

    private static (byte Value, byte Mask) ParseHexPair(char hi, char lo, int column)
    {
        int h = HexValue(hi), l = HexValue(lo);
        if (h == -2 || l == -2)
        {
            throw new FormatException($"invalid character '{(h == -2 ? hi : lo)}' at column {column + 1}");
        }

        byte mask = (byte)((h >= 0 ? 0xF0 : 0) | (l >= 0 ? 0x0F : 0));
        byte value = (byte)(((h >= 0 ? h : 0) << 4) | (l >= 0 ? l : 0));
        return (value, mask);
    }

    /// <summary>0-15 for a hex digit, -1 for '?', -2 for anything else.</summary>
    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        '?' => -1,
        _ => -2,
    };
}
