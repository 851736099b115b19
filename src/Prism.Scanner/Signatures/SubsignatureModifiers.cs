using System.Text;

namespace Prism.Scanner.Signatures;

/// <summary>
/// The .ldb subsignature modifiers (<c>::i</c>, <c>::w</c>, <c>::f</c>, <c>::a</c>) as rewrites of the hex pattern,
/// with ClamAV's documented effects: fullword wraps the pattern in <c>(W)</c> boundaries (its <c>[n-m]</c> ranges
/// becoming <c>{n-m}</c>); wide follows every byte with 00 (gaps, alternation and boundaries untouched, <c>[n-m]</c>
/// again becoming <c>{n-m}</c>) and, with ascii, the plain pattern is matched too; nocase matches letters in either case.
/// </summary>
internal static class SubsignatureModifiers
{
    /// <summary>Most bytes folded into one case alternative (2^n options), so that it can serve as an anchor.</summary>
    private const int CaseChunk = 4;

    /// <summary>
    /// The patterns (one, or two for wide+ascii) that <paramref name="hex"/> with <paramref name="options"/> stands
    /// for; Wide marks the wide one, whose (W) edges clamscan tests on two-byte characters.
    /// </summary>
    /// <exception cref="FormatException">An unknown modifier or a pattern the rewrite cannot read.</exception>
    public static List<(string Pattern, bool Wide)> Apply(string hex, string options)
    {
        bool nocase = false, fullword = false, wide = false, ascii = false;
        foreach (char o in options)
        {
            switch (o)
            {
                case 'i':
                    nocase = true;
                    break;
                case 'f':
                    fullword = true;
                    break;
                case 'w':
                    wide = true;
                    break;
                case 'a':
                    ascii = true;
                    break;
                default:
                    throw new FormatException($"unknown subsignature modifier '{o}'");
            }
        }

        string pattern = fullword ? "(W)" + hex.Replace('[', '{').Replace(']', '}') + "(W)" : hex;
        var variants = new List<(string Pattern, bool Wide)>();
        if (wide)
        {
            variants.Add((Widen(pattern), true));
        }

        if (!wide || ascii)
        {
            variants.Add((pattern, false));
        }

        return nocase ? variants.ConvertAll(v => (FoldCase(v.Pattern), v.Wide)) : variants;
    }

    /// <summary>Each byte (or wildcard byte) followed by 00; gaps, '*', alternation and (B)/(L)/(W) kept.</summary>
    private static string Widen(string s)
    {
        var o = new StringBuilder(s.Length * 2);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c is '*' or '|' or ')')
            {
                o.Append(c);
            }
            else if (c is '[' or '{')
            {
                char close = c == '[' ? ']' : '}';
                int end = s.IndexOf(close, i);
                if (end < 0)
                {
                    throw new FormatException($"'{c}' at column {i + 1} is not closed");
                }

                o.Append('{').Append(s, i + 1, end - i - 1).Append('}');
                i = end;
            }
            else if (c is '!' or '(')
            {
                if (c == '!')
                {
                    o.Append(c);
                    i++;
                }

                if (i + 2 >= s.Length)
                {
                    throw new FormatException($"truncated '(' at column {i + 1}");
                }

                o.Append(s[i]);
                if (s[i + 1] is 'B' or 'L' or 'W')
                {
                    if (s[i + 2] != ')')
                    {
                        throw new FormatException($"malformed boundary at column {i + 1}");
                    }

                    o.Append(s[i + 1]).Append(')');
                    i += 2;
                }
            }
            else
            {
                if (i + 1 >= s.Length)
                {
                    throw new FormatException("odd number of hex digits");
                }

                o.Append(c).Append(s[i + 1]).Append("00");
                i++;
            }
        }

        return o.ToString();
    }

    /// <summary>
    /// Letters as alternatives of both cases: outside parentheses runs of up to <see cref="CaseChunk"/> plain bytes
    /// become one alternative of every spelling (a usable anchor), inside them each letter becomes (xx|XX).
    /// </summary>
    private static string FoldCase(string s)
    {
        var o = new StringBuilder(s.Length * 3);
        var run = new List<byte>();
        int depth = 0;

        void FlushRun()
        {
            for (int k = 0; k < run.Count; k += CaseChunk)
            {
                List<byte> chunk = run.GetRange(k, Math.Min(CaseChunk, run.Count - k));
                if (!chunk.Exists(IsLetter))
                {
                    chunk.ForEach(b => o.Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
                    continue;
                }

                var spellings = new List<string> { string.Empty };
                foreach (byte b in chunk)
                {
                    string lower = ((byte)(IsLetter(b) ? b | 0x20 : b)).ToString("x2", System.Globalization.CultureInfo.InvariantCulture);
                    string upper = ((byte)(IsLetter(b) ? b & 0xDF : b)).ToString("x2", System.Globalization.CultureInfo.InvariantCulture);
                    spellings = IsLetter(b) ? [.. spellings.Select(p => p + lower), .. spellings.Select(p => p + upper)] : spellings.ConvertAll(p => p + lower);
                }

                o.Append('(').AppendJoin('|', spellings).Append(')');
            }

            run.Clear();
        }

        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (i + 1 < s.Length && char.IsAsciiHexDigit(c) && char.IsAsciiHexDigit(s[i + 1]))
            {
                byte b = Convert.ToByte(s.Substring(i, 2), 16);
                i++;
                if (depth == 0 && !(i + 1 < s.Length && s[i + 1] == '['))
                {
                    run.Add(b);
                }
                else
                {
                    FlushRun();
                    o.Append(IsLetter(b) ? $"({b | 0x20:x2}|{b & 0xDF:x2})" : $"{b:x2}");
                }

                continue;
            }

            FlushRun();
            if (c is '{' or '[')
            {
                int end = s.IndexOf(c == '{' ? '}' : ']', i);
                if (end < 0)
                {
                    throw new FormatException($"'{c}' at column {i + 1} is not closed");
                }

                o.Append(s, i, end - i + 1);
                i = end;
                continue;
            }

            if (c == '(' && i + 2 < s.Length && s[i + 1] is 'B' or 'L' or 'W' && s[i + 2] == ')')
            {
                o.Append(s, i, 3);
                i += 2;
                continue;
            }

            if (c == '(')
            {
                depth++;
            }
            else if (c == ')')
            {
                depth--;
            }
            else if (char.IsAsciiHexDigit(c) || c == '?')
            {
                // A nibble wildcard pair ("4?", "?4", "??") is kept as it is.
                if (i + 1 < s.Length)
                {
                    o.Append(c).Append(s[i + 1]);
                    i++;
                    continue;
                }
            }

            o.Append(c);
        }

        FlushRun();
        return o.ToString();
    }

    private static bool IsLetter(byte b) => (b | 0x20) is >= (byte)'a' and <= (byte)'z';
}
