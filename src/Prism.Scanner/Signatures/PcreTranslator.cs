using System.Globalization;
using System.Text;

namespace Prism.Scanner.Signatures;

/// <summary>
/// Translates a PCRE2 pattern, as ClamAV compiles it (8-bit, no UTF, default "C" character tables, LF newlines), into
/// a .NET pattern over <see cref="MapBytes"/>' text. Bytes 0x80-0xFF are mapped to U+2880-U+28FF (Braille patterns:
/// no case, not \w, \d or \s in .NET), so that .NET's Unicode-aware classes, case folding and \b see exactly what
/// PCRE sees in a byte string: ASCII letters, digits, "_" and the six ASCII spaces. Differences handled here: \xH,
/// \x{HH}, octal and \cX escapes become literals; PCRE's \h, \v (vertical space, not VT), \R and \N become classes;
/// POSIX classes [:name:] become ranges; the U flag swaps greedy and lazy quantifiers; E makes $ the end only; x is
/// applied while translating (whitespace and #-comments dropped). Constructs .NET cannot express, or expresses
/// differently, throw <see cref="NotSupportedException"/> naming the construct; malformed escapes throw
/// <see cref="FormatException"/>.
/// </summary>
internal static class PcreTranslator
{
    /// <summary>Where bytes 0x80-0xFF land in the mapped text.</summary>
    private const int HighBase = 0x2800;

    /// <summary>The text a translated pattern is matched against: byte b is char b below 0x80, U+2800+b above.</summary>
    public static string MapBytes(ReadOnlySpan<byte> data)
    {
        var chars = new char[data.Length];
        for (int i = 0; i < data.Length; i++)
        {
            byte b = data[i];
            chars[i] = (char)(b < 0x80 ? b : HighBase + b);
        }

        return new string(chars);
    }

    /// <summary>Translates <paramref name="pattern"/> under ClamAV's PCRE flags (the letters i s m x A E U).</summary>
    public static string Translate(string pattern, bool extended, bool ungreedy, bool dollarEndOnly, bool multiline)
    {
        var o = new StringBuilder(pattern.Length * 2);
        int i = 0;
        while (i < pattern.Length)
        {
            char c = pattern[i];
            if (extended && (c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v'))
            {
                i++;
                continue;
            }

            if (extended && c == '#')
            {
                while (i < pattern.Length && pattern[i] != '\n')
                {
                    i++;
                }

                continue;
            }

            switch (c)
            {
                case '\\':
                    i = TranslateEscape(pattern, i, o, inClass: false);
                    continue;
                case '[':
                    i = TranslateClass(pattern, i, o);
                    continue;
                case '(':
                    i = TranslateGroupOpen(pattern, i, o);
                    continue;
                case '*' or '+' or '?':
                    o.Append(c);
                    i = TranslateQuantifierSuffix(pattern, i + 1, o, ungreedy);
                    continue;
                case '{' when TryReadBraceQuantifier(pattern, i, out int end):
                    o.Append(pattern, i, end - i);
                    i = TranslateQuantifierSuffix(pattern, end, o, ungreedy);
                    continue;
                case '$':
                    o.Append(dollarEndOnly && !multiline ? @"\z" : "$");
                    i++;
                    continue;
                default:
                    AppendLiteralChar(o, c, pattern, i);
                    i++;
                    continue;
            }
        }

        return o.ToString();
    }

    /// <summary>One byte value as a .NET pattern atom (outside or inside a class: both accept the escape).</summary>
    private static void AppendByte(StringBuilder o, int value)
    {
        if (value < 0x80)
        {
            o.Append(CultureInfo.InvariantCulture, $@"\x{value:X2}");
        }
        else
        {
            o.Append(CultureInfo.InvariantCulture, $@"\u{HighBase + value:X4}");
        }
    }

    private static void AppendLiteralChar(StringBuilder o, char c, string pattern, int at)
    {
        if (c > 0xFF)
        {
            throw new NotSupportedException($"character U+{(int)c:X4} at column {at + 1} of /{pattern}/ is no byte (ClamAV's PCRE works on bytes without UTF)");
        }

        if (c >= 0x80)
        {
            AppendByte(o, c);
        }
        else
        {
            o.Append(c);
        }
    }

    /// <summary>After a quantifier: rejects possessive '+', applies U (swap greedy and lazy); returns the index after it.</summary>
    private static int TranslateQuantifierSuffix(string pattern, int i, StringBuilder o, bool ungreedy)
    {
        bool lazy = i < pattern.Length && pattern[i] == '?';
        if (i < pattern.Length && pattern[i] == '+')
        {
            throw new NotSupportedException($"possessive quantifier at column {i + 1} of /{pattern}/ (.NET has none)");
        }

        if (lazy != ungreedy)
        {
            o.Append('?');
        }

        return lazy ? i + 1 : i;
    }

    /// <summary>{n}, {n,} or {n,m} at <paramref name="i"/> (PCRE reads any other '{' as a literal).</summary>
    private static bool TryReadBraceQuantifier(string pattern, int i, out int end)
    {
        end = i + 1;
        int digits = end;
        while (end < pattern.Length && char.IsAsciiDigit(pattern[end]))
        {
            end++;
        }

        if (end == digits || end >= pattern.Length)
        {
            return false;
        }

        if (pattern[end] == ',')
        {
            end++;
            while (end < pattern.Length && char.IsAsciiDigit(pattern[end]))
            {
                end++;
            }
        }

        if (end >= pattern.Length || pattern[end] != '}')
        {
            return false;
        }

        end++;
        return true;
    }

    private static int TranslateGroupOpen(string pattern, int i, StringBuilder o)
    {
        if (i + 1 < pattern.Length && pattern[i + 1] == '*')
        {
            throw new NotSupportedException($"PCRE verb '(*' at column {i + 1} of /{pattern}/");
        }

        if (i + 1 >= pattern.Length || pattern[i + 1] != '?')
        {
            o.Append('(');
            return i + 1;
        }

        string rest = pattern[(i + 2)..];
        if (rest.StartsWith('#'))
        {
            int close = pattern.IndexOf(')', i);
            if (close < 0)
            {
                throw new FormatException($"unterminated comment at column {i + 1} of /{pattern}/");
            }

            return close + 1;
        }

        foreach (string same in (string[])[":", "=", "!", "<=", "<!", ">"])
        {
            if (rest.StartsWith(same, StringComparison.Ordinal))
            {
                o.Append("(?").Append(same);
                return i + 2 + same.Length;
            }
        }

        if (rest.StartsWith("P<", StringComparison.Ordinal))
        {
            o.Append("(?<");
            return i + 4;
        }

        if (rest.StartsWith("P=", StringComparison.Ordinal))
        {
            int close = pattern.IndexOf(')', i);
            if (close < 0)
            {
                throw new FormatException($"unterminated (?P= at column {i + 1} of /{pattern}/");
            }

            o.Append(@"\k<").Append(pattern, i + 4, close - i - 4).Append('>');
            return close + 1;
        }

        if (rest.Length > 0 && (rest[0] == '<' || rest[0] == '\'') && rest.Length > 1 && (char.IsAsciiLetter(rest[1]) || rest[1] == '_'))
        {
            o.Append("(?").Append(rest[0]);
            return i + 3;
        }

        // Inline options: only those .NET reads the same way. x would change how the rest must be translated.
        int at = i + 2;
        while (at < pattern.Length && pattern[at] is 'i' or 'm' or 's' or '-')
        {
            at++;
        }

        if (at > i + 2 && at < pattern.Length && pattern[at] is ')' or ':')
        {
            o.Append(pattern, i, at - i + 1);
            return at + 1;
        }

        string what = rest.Length == 0 ? "(?" : "(?" + rest[0];
        throw new NotSupportedException($"'{what}' at column {i + 1} of /{pattern}/ (recursion, conditionals, branch reset, callouts and the inline options x, U, J, X, n are not translated)");
    }

    /// <summary>An escape outside or inside a class; returns the index after it.</summary>
    private static int TranslateEscape(string pattern, int i, StringBuilder o, bool inClass)
    {
        if (i + 1 >= pattern.Length)
        {
            throw new FormatException($"'\\' at the end of /{pattern}/");
        }

        char e = pattern[i + 1];
        int next = i + 2;
        if (TryReadEscapedValue(pattern, i, out int value, out int after))
        {
            AppendByte(o, value);
            return after;
        }

        switch (e)
        {
            case 'd' or 'D' or 'w' or 'W' or 's' or 'S':
                o.Append('\\').Append(e);
                return next;
            case 'b' or 'B' or 'A' or 'z' or 'Z' or 'G' when !inClass:
                o.Append('\\').Append(e);
                return next;
            case 'h':
                o.Append(inClass ? @"\t \u28A0" : @"[\t \u28A0]");
                return next;
            case 'H' when !inClass:
                o.Append(@"[^\t \u28A0]");
                return next;
            case 'v':
                o.Append(inClass ? @"\n\x0B\f\r\u2885" : @"[\n\x0B\f\r\u2885]");
                return next;
            case 'V' when !inClass:
                o.Append(@"[^\n\x0B\f\r\u2885]");
                return next;
            case 'R' when !inClass:
                o.Append(@"(?:\r\n|[\n\x0B\f\r\u2885])");
                return next;
            case 'N' when !inClass:
                o.Append(@"[^\n]");
                return next;
            case 'Q':
                {
                    int end = pattern.IndexOf(@"\E", next, StringComparison.Ordinal);
                    string literal = end < 0 ? pattern[next..] : pattern[next..end];
                    foreach (char c in literal)
                    {
                        if (c > 0xFF)
                        {
                            AppendLiteralChar(o, c, pattern, i);
                        }
                        else
                        {
                            AppendByte(o, c);
                        }
                    }

                    return end < 0 ? pattern.Length : end + 2;
                }

            case 'E':
                return next;
            case 'k' when !inClass && next < pattern.Length && pattern[next] == '<':
                {
                    int close = pattern.IndexOf('>', next);
                    if (close < 0)
                    {
                        throw new FormatException($"unterminated \\k< at column {i + 1} of /{pattern}/");
                    }

                    o.Append(pattern, i, close - i + 1);
                    return close + 1;
                }

            case >= '1' and <= '9' when !inClass:
                {
                    int end = next;
                    while (end < pattern.Length && char.IsAsciiDigit(pattern[end]))
                    {
                        end++;
                    }

                    o.Append(pattern, i, end - i);
                    return end;
                }
        }

        if (char.IsAsciiLetterOrDigit(e))
        {
            throw new NotSupportedException($"escape '\\{e}' at column {i + 1} of /{pattern}/ is not translated");
        }

        // An escaped punctuation or other character is that character.
        if (e > 0xFF)
        {
            AppendLiteralChar(o, e, pattern, i + 1);
        }
        else
        {
            AppendByte(o, e);
        }

        return next;
    }

    /// <summary>Escapes that stand for one byte: \xH, \xHH, \x{H...}, \0oo, \o{...}, \cX, \n \r \t \f \e \a.</summary>
    private static bool TryReadEscapedValue(string pattern, int i, out int value, out int after)
    {
        char e = pattern[i + 1];
        after = i + 2;
        value = 0;
        switch (e)
        {
            case 'x':
                if (after < pattern.Length && pattern[after] == '{')
                {
                    int close = pattern.IndexOf('}', after);
                    if (close < 0 || !int.TryParse(pattern.AsSpan(after + 1, close - after - 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value))
                    {
                        throw new FormatException($"bad \\x{{...}} at column {i + 1} of /{pattern}/");
                    }

                    after = close + 1;
                }
                else
                {
                    int end = after;
                    while (end < pattern.Length && end < after + 2 && char.IsAsciiHexDigit(pattern[end]))
                    {
                        end++;
                    }

                    value = end == after ? 0 : int.Parse(pattern.AsSpan(after, end - after), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                    after = end;
                }

                break;
            case 'o' when after < pattern.Length && pattern[after] == '{':
                {
                    int close = pattern.IndexOf('}', after);
                    if (close < 0)
                    {
                        throw new FormatException($"bad \\o{{...}} at column {i + 1} of /{pattern}/");
                    }

                    value = ParseOctal(pattern, after + 1, close, i);
                    after = close + 1;
                    break;
                }

            case '0':
                {
                    int end = after;
                    while (end < pattern.Length && end < after + 2 && pattern[end] is >= '0' and <= '7')
                    {
                        end++;
                    }

                    value = end == after ? 0 : ParseOctal(pattern, after, end, i);
                    after = end;
                    break;
                }

            case 'c':
                if (after >= pattern.Length || pattern[after] > 0x7F)
                {
                    throw new FormatException($"bad \\c at column {i + 1} of /{pattern}/");
                }

                value = char.ToUpperInvariant(pattern[after]) ^ 0x40;
                after++;
                break;
            case 'n':
                value = '\n';
                break;
            case 'r':
                value = '\r';
                break;
            case 't':
                value = '\t';
                break;
            case 'f':
                value = '\f';
                break;
            case 'e':
                value = 0x1B;
                break;
            case 'a':
                value = 0x07;
                break;
            default:
                return false;
        }

        if (value > 0xFF)
        {
            throw new NotSupportedException($"character value 0x{value:X} at column {i + 1} of /{pattern}/ is no byte (ClamAV's PCRE works on bytes without UTF)");
        }

        return true;
    }

    private static int ParseOctal(string pattern, int from, int to, int at)
    {
        int v = 0;
        for (int k = from; k < to; k++)
        {
            if (pattern[k] is < '0' or > '7')
            {
                throw new FormatException($"bad octal escape at column {at + 1} of /{pattern}/");
            }

            v = (v * 8) + (pattern[k] - '0');
        }

        return v;
    }

    /// <summary>A character class: ranges split at 0x80 so that both halves map correctly; POSIX classes expanded.</summary>
    private static int TranslateClass(string pattern, int i, StringBuilder o)
    {
        o.Append('[');
        int at = i + 1;
        if (at < pattern.Length && pattern[at] == '^')
        {
            o.Append('^');
            at++;
        }

        bool first = true;
        while (true)
        {
            if (at >= pattern.Length)
            {
                throw new FormatException($"'[' at column {i + 1} of /{pattern}/ is not closed");
            }

            char c = pattern[at];
            if (c == ']' && !first)
            {
                break;
            }

            first = false;
            if (c == '[' && at + 1 < pattern.Length && pattern[at + 1] == ':')
            {
                int close = pattern.IndexOf(":]", at + 2, StringComparison.Ordinal);
                if (close < 0)
                {
                    throw new FormatException($"bad POSIX class at column {at + 1} of /{pattern}/");
                }

                o.Append(PosixClass(pattern[(at + 2)..close], pattern, at));
                at = close + 2;
                continue;
            }

            int single;
            if (c == '\\')
            {
                if (at + 1 < pattern.Length && TryReadEscapedValue(pattern, at, out int value, out int after))
                {
                    single = value;
                    at = after;
                }
                else if (at + 1 < pattern.Length && pattern[at + 1] == 'b')
                {
                    single = 0x08;
                    at += 2;
                }
                else if (at + 1 < pattern.Length && !char.IsAsciiLetterOrDigit(pattern[at + 1]))
                {
                    single = pattern[at + 1];
                    at += 2;
                }
                else
                {
                    at = TranslateEscape(pattern, at, o, inClass: true);
                    continue;
                }
            }
            else
            {
                single = c;
                at++;
            }

            if (single > 0xFF)
            {
                throw new NotSupportedException($"character U+{single:X4} in a class of /{pattern}/ is no byte");
            }

            // A range low-high: read the high end.
            if (at + 1 < pattern.Length && pattern[at] == '-' && pattern[at + 1] != ']')
            {
                int low = single;
                at++;
                char h = pattern[at];
                int high;
                if (h == '\\' && TryReadEscapedValue(pattern, at, out int hv, out int hAfter))
                {
                    high = hv;
                    at = hAfter;
                }
                else if (h == '\\' && at + 1 < pattern.Length && !char.IsAsciiLetterOrDigit(pattern[at + 1]))
                {
                    high = pattern[at + 1];
                    at += 2;
                }
                else if (h is '\\' or '[')
                {
                    throw new NotSupportedException($"class range ending in '{h}' at column {at + 1} of /{pattern}/");
                }
                else
                {
                    high = h;
                    at++;
                }

                if (high < low)
                {
                    throw new FormatException($"class range out of order at column {at} of /{pattern}/");
                }

                AppendRange(o, low, high);
                continue;
            }

            AppendRange(o, single, single);
        }

        o.Append(']');
        return at + 1;
    }

    private static void AppendRange(StringBuilder o, int low, int high)
    {
        if (low < 0x80)
        {
            AppendByte(o, low);
            if (Math.Min(high, 0x7F) > low)
            {
                o.Append('-');
                AppendByte(o, Math.Min(high, 0x7F));
            }
        }

        if (high >= 0x80)
        {
            int from = Math.Max(low, 0x80);
            AppendByte(o, from);
            if (high > from)
            {
                o.Append('-');
                AppendByte(o, high);
            }
        }
    }

    private static string PosixClass(string name, string pattern, int at) => name switch
    {
        "alpha" => "A-Za-z",
        "digit" => "0-9",
        "alnum" => "A-Za-z0-9",
        "upper" => "A-Z",
        "lower" => "a-z",
        "xdigit" => "0-9A-Fa-f",
        "space" => @"\t\n\x0B\f\r ",
        "blank" => @"\t ",
        "word" => "A-Za-z0-9_",
        "punct" => @"!-/:-@\[-`{-~",
        "cntrl" => @"\x00-\x1F\x7F",
        "print" => @"\x20-\x7E",
        "graph" => @"\x21-\x7E",
        "ascii" => @"\x00-\x7F",
        _ => throw new NotSupportedException($"POSIX class [:{name}:] at column {at + 1} of /{pattern}/ is not translated"),
    };
}
