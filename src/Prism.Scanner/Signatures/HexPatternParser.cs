using System.Globalization;

namespace Prism.Scanner.Signatures;

/// <summary>
/// Parses ClamAV body-signature hex content (ndb field 4): hex bytes, "??", nibble wildcards "a?"/"?a", "*",
/// "{n}", "{-n}", "{n-}", "{n-m}", "[n-m]", "(aa|bbcc)" and "!(aa|bb)".
/// Throws <see cref="FormatException"/> for malformed text and <see cref="NotSupportedException"/> for valid
/// constructs the engine does not implement ("(B)", "(L)", negated alternatives of unequal lengths).
/// </summary>
internal static class HexPatternParser
{
    /// <summary>Largest bounded gap accepted; larger ones are reported as unsupported.</summary>
    public const int MaxGap = 1 << 20;

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
                    current.Add(PatternElement.FromGap(min, max.Value));
                }

                i = end + 1;
            }
            else if (c == '(' || (c == '!' && i + 1 < text.Length && text[i + 1] == '('))
            {
                bool negated = c == '!';
                int open = negated ? i + 1 : i;
                int end = text.IndexOf(')', open + 1);
                if (end < 0)
                {
                    throw new FormatException($"'(' at column {open + 1} is not closed");
                }

                string body = text[(open + 1)..end];
                if (body is "B" or "L" or "W")
                {
                    throw new NotSupportedException($"boundary anchor ({body}) is not supported");
                }

                FlushBytes();
                current.Add(ParseAlternatives(body, negated, open));
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

    private static PatternElement ParseAlternatives(string body, bool negated, int column)
    {
        string[] parts = body.Split('|');
        if (parts.Length < 2 && !negated)
        {
            throw new FormatException($"alternative at column {column + 1} needs at least two options");
        }

        var options = new PatternElement[parts.Length];
        for (int p = 0; p < parts.Length; p++)
        {
            string part = parts[p];
            if (part.Length == 0 || part.Length % 2 != 0)
            {
                throw new FormatException($"bad option '{part}' in alternative at column {column + 1}");
            }

            var v = new byte[part.Length / 2];
            var m = new byte[v.Length];
            for (int k = 0; k < v.Length; k++)
            {
                (v[k], m[k]) = ParseHexPair(part[2 * k], part[(2 * k) + 1], column);
            }

            options[p] = PatternElement.FromBytes(v, m);
        }

        PatternElement alt = PatternElement.FromAlternatives(options, negated);
        if (negated && alt.MinLength != alt.MaxLength)
        {
            throw new NotSupportedException($"negated alternative with options of unequal length at column {column + 1}");
        }

        return alt;
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
