using System.Buffers.Binary;
using System.Globalization;

namespace Prism.Scanner.Signatures;

/// <summary>
/// A byte-compare subsignature of a logical signature, <c>ref(offset#options#comparisons)</c>, evaluated as clamscan
/// 1.4 evaluates it (verified with crafted files): once the body patterns have run, when subsignature <c>ref</c>
/// matched, the number at <c>ref</c>'s last match start plus the offset (<c>&gt;&gt;n</c> or <c>&lt;&lt;n</c>, hex or
/// decimal) is compared with one or two values (<c>&lt;</c>, <c>&gt;</c>, <c>=</c>; all must hold); a success counts
/// the subsignature once. Binary numbers (<c>i</c> with <c>l</c> or <c>b</c>, 1, 2, 4 or 8 bytes) are read unsigned
/// and compared as signed 64-bit values. Text numbers (<c>h</c> hex, <c>d</c> decimal, <c>a</c> either by a "0x"
/// prefix) are read as ClamAV reads them: leading white space dropped (which fails <c>e</c>, exact), then like C's
/// strtol over at most the given length, stopping at the first other character (<c>e</c>: all must be read); a
/// little-endian hex text has its character pairs reversed first (ClamAV's swap, quirks included). A read that would
/// start at file offset 0 or before, or run past the end, fails, as in ClamAV; so do option sets ClamAV accepts but
/// never evaluates (no endianness, little-endian decimal, an automatic number shorter than 3 characters).
/// </summary>
internal sealed class ByteCompareSubsignature
{
    private ByteCompareSubsignature(
        int logical, int subsignature, int reference, long offset, NumberKind kind, bool? littleEndian, bool exact, int length, (char Symbol, long Value)[] comparisons, string text)
    {
        Kind = kind;
        Exact = exact;
        Logical = logical;
        Subsignature = subsignature;
        Reference = reference;
        Offset = offset;
        LittleEndian = littleEndian;
        Length = length;
        Comparisons = comparisons;
        Text = text;
    }

    public int Logical { get; }

    public int Subsignature { get; }

    /// <summary>The subsignature whose last match start the offset is counted from.</summary>
    public int Reference { get; }

    /// <summary>Signed distance from the reference match's start.</summary>
    public long Offset { get; }

    /// <summary>How the number is written in the file.</summary>
    public NumberKind Kind { get; }

    /// <summary>Option e: a text number must fill the whole length (binary numbers always do).</summary>
    public bool Exact { get; }

    /// <summary>Null when no endianness was given: ClamAV then never evaluates the comparison.</summary>
    public bool? LittleEndian { get; }

    public int Length { get; }

    public IReadOnlyList<(char Symbol, long Value)> Comparisons { get; }

    public string Text { get; }

    /// <summary>ClamAV's test for a byte-compare subsignature: '(' and two different '#'.</summary>
    public static bool IsByteCompare(string text)
    {
        int hash = text.IndexOf('#', StringComparison.Ordinal);
        return text.Contains('(', StringComparison.Ordinal) && hash >= 0 && hash != text.LastIndexOf('#');
    }

    /// <summary>
    /// Parses one byte-compare subsignature; <see cref="FormatException"/> where clamscan rejects the database,
    /// <see cref="NotSupportedException"/> for the text forms h, d and a.
    /// </summary>
    public static ByteCompareSubsignature Parse(string text, int logical, int subsignature)
    {
        int open = text.IndexOf('(', StringComparison.Ordinal);
        string referenceText = text[..open];
        if (!referenceText.All(char.IsAsciiDigit))
        {
            throw new FormatException($"byte compare '{text}': the referenced subsignature '{referenceText}' is not a decimal number");
        }

        int reference = referenceText.Length == 0 ? 0
            : int.TryParse(referenceText, NumberStyles.None, CultureInfo.InvariantCulture, out int r) && r <= 64 ? r
            : throw new FormatException($"byte compare '{text}': referenced subsignature {referenceText} exceeds 64");
        int close = text.IndexOf(')', open);
        if (close < 0)
        {
            throw new FormatException($"byte compare '{text}': no closing ')'");
        }

        string[] tokens = text[(open + 1)..close].Split('#');
        if (tokens.Length != 3 || tokens.Any(t => t.Length == 0))
        {
            throw new FormatException($"byte compare '{text}': expected offset#options#comparisons");
        }

        long offset = ParseOffset(tokens[0], text);
        (NumberKind kind, bool? littleEndian, bool exact, int length) = ParseOptions(tokens[1], text);

        string[] comparisonTexts = tokens[2].Split(',');
        if (comparisonTexts.Length > 2)
        {
            throw new FormatException($"byte compare '{text}': at most two comparisons");
        }

        var comparisons = new (char, long)[comparisonTexts.Length];
        for (int i = 0; i < comparisonTexts.Length; i++)
        {
            string c = comparisonTexts[i];
            if (c.Length < 2 || c[0] is not ('<' or '>' or '=') || ParseCNumber(c[1..], signed: true) is not long value)
            {
                throw new FormatException($"byte compare '{text}': bad comparison '{c}'");
            }

            comparisons[i] = (c[0], value);
        }

        return new ByteCompareSubsignature(logical, subsignature, reference, offset, kind, littleEndian, exact, length, comparisons, text);
    }

    /// <summary>This subsignature as one of the logical signature now at index <paramref name="logical"/>.</summary>
    public ByteCompareSubsignature WithLogical(int logical) =>
        new(logical, Subsignature, Reference, Offset, Kind, LittleEndian, Exact, Length, [.. Comparisons], Text);

    /// <summary>True when the number at <paramref name="referenceStart"/> + offset in <paramref name="file"/> passes every comparison.</summary>
    public bool Evaluate(ReadOnlySpan<byte> file, long referenceStart)
    {
        long at = referenceStart + Offset;
        if (Kind == NumberKind.None || LittleEndian is not bool little || at <= 0 || at + Length > file.Length)
        {
            return false;
        }

        ReadOnlySpan<byte> b = file.Slice((int)at, Length);
        long value;
        if (Kind == NumberKind.Binary)
        {
            value = Length switch
            {
                1 => b[0],
                2 => little ? BinaryPrimitives.ReadUInt16LittleEndian(b) : BinaryPrimitives.ReadUInt16BigEndian(b),
                4 => little ? BinaryPrimitives.ReadUInt32LittleEndian(b) : BinaryPrimitives.ReadUInt32BigEndian(b),
                _ => little ? BinaryPrimitives.ReadInt64LittleEndian(b) : BinaryPrimitives.ReadInt64BigEndian(b),
            };
        }
        else if (ReadText(b, little) is long v)
        {
            value = v;
        }
        else
        {
            return false;
        }

        foreach ((char symbol, long limit) in Comparisons)
        {
            bool ok = symbol switch
            {
                '>' => value > limit,
                '<' => value < limit,
                _ => value == limit,
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    public string ToCanonical() => $"bcomp:{Text}";

    /// <summary>">>n" or "&lt;&lt;n" (n as C's strtol base 0 reads it); a token starting with '0' is offset 0.</summary>
    private static long ParseOffset(string token, string text)
    {
        if (token[0] == '0')
        {
            return 0;
        }

        if (token.Length > 2 && (token.StartsWith(">>", StringComparison.Ordinal) || token.StartsWith("<<", StringComparison.Ordinal))
            && ParseCNumber(token[2..], signed: true) is long n)
        {
            return token[0] == '<' ? -n : n;
        }

        throw new FormatException($"byte compare '{text}': bad offset '{token}' (expected >>n or <<n)");
    }

    /// <summary>A text number as ClamAV reads it; null where ClamAV gives up (overflow, inexact, unsupported combination).</summary>
    private long? ReadText(ReadOnlySpan<byte> field, bool little)
    {
        int pad = 0;
        while (pad < field.Length && IsCSpace(field[pad]))
        {
            pad++;
        }

        ReadOnlySpan<byte> digits = field[pad..];
        NumberKind kind = Kind;
        if (kind == NumberKind.Auto)
        {
            if (digits.Length < 3)
            {
                return null;
            }

            kind = digits[0] == '0' && digits[1] is (byte)'x' or (byte)'X' ? NumberKind.Hex : NumberKind.Decimal;
        }

        if (kind == NumberKind.Decimal && little)
        {
            return null;
        }

        ReadOnlySpan<byte> source = digits;
        int span = digits.Length;
        if (kind == NumberKind.Hex && little)
        {
            source = SwapHexPairs(digits);
            span = digits.Length == 1 ? 1 : digits.Length + (digits.Length % 2);
        }

        if (StrToLong(source[..Math.Min(span, source.Length)], kind == NumberKind.Hex ? 16 : 10, out int consumed) is not long value)
        {
            return null;
        }

        return Exact && (consumed != digits.Length || pad != 0) ? null : value;
    }

    /// <summary>
    /// ClamAV's little-endian hex normalisation: padded to an even length (a leading "0x" marked by 'x'), character
    /// pairs taken from the end; a pair holding a non-hex character zeroes what was built so far.
    /// </summary>
    private static byte[] SwapHexPairs(ReadOnlySpan<byte> digits)
    {
        int n = digits.Length % 2 == 0 ? digits.Length : digits.Length + 1;
        byte[] result = new byte[n + 1];
        result.AsSpan().Fill((byte)'0');
        if (digits.Length == 1)
        {
            result[0] = digits[0];
            return result;
        }

        bool prefixed = digits.Length >= 3 && digits[0] == '0' && digits[1] is (byte)'x' or (byte)'X';
        byte[] hex = new byte[n + 1];
        hex.AsSpan().Fill((byte)'0');
        if (n == digits.Length + 1)
        {
            if (prefixed)
            {
                digits[2..].CopyTo(hex.AsSpan(3));
                hex[0] = (byte)'x';
            }
            else
            {
                digits.CopyTo(hex.AsSpan(1));
            }
        }
        else
        {
            digits.CopyTo(hex);
            if (prefixed)
            {
                hex[0] = (byte)'x';
            }
        }

        static bool Valid(byte c) => char.IsAsciiHexDigit((char)c) || c is (byte)'x' or (byte)'X';
        for (int i = 0; i < n; i += 2)
        {
            if (!Valid(hex[n - i - 2]))
            {
                result.AsSpan().Fill((byte)'0');
                continue;
            }

            result[i] = hex[n - i - 2];
            if (Valid(hex[n - i - 1]))
            {
                result[i + 1] = hex[n - i - 1];
            }
            else
            {
                result.AsSpan().Fill((byte)'0');
            }
        }

        return result;
    }

    /// <summary>
    /// C's strtol (base 10 or 16) over at most <paramref name="s"/>.Length characters: white space, a sign, for base
    /// 16 an optional "0x"; <paramref name="consumed"/> is where reading stopped (0 when no digit was read). Null on
    /// overflow of a 64-bit long.
    /// </summary>
    private static long? StrToLong(ReadOnlySpan<byte> s, int numberBase, out int consumed)
    {
        consumed = 0;
        int i = 0;
        while (i < s.Length && IsCSpace(s[i]))
        {
            i++;
        }

        if (i >= s.Length)
        {
            return 0;
        }

        bool negative = s[i] == '-';
        if (s[i] is (byte)'-' or (byte)'+')
        {
            i++;
            if (i >= s.Length)
            {
                return 0;
            }
        }

        if (numberBase == 16 && s[i] == '0' && i + 1 < s.Length && s[i + 1] is (byte)'x' or (byte)'X')
        {
            if (i + 2 >= s.Length)
            {
                return 0;
            }

            i += 2;
        }

        Int128 acc = 0;
        bool any = false;
        for (; i < s.Length; i++)
        {
            int d = s[i] switch
            {
                >= (byte)'0' and <= (byte)'9' => s[i] - '0',
                >= (byte)'a' and <= (byte)'z' => s[i] - 'a' + 10,
                >= (byte)'A' and <= (byte)'Z' => s[i] - 'A' + 10,
                _ => 99,
            };
            if (d >= numberBase)
            {
                break;
            }

            any = true;
            acc = (acc * numberBase) + d;
            if (acc > (Int128)long.MaxValue + 1)
            {
                return null;
            }
        }

        if (!any)
        {
            return 0;
        }

        consumed = i;
        if (negative)
        {
            return (long)(-acc);
        }

        return acc > long.MaxValue ? null : (long)acc;
    }

    /// <summary>C's isspace in the "C" locale.</summary>
    private static bool IsCSpace(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r';

    private static (NumberKind Kind, bool? LittleEndian, bool Exact, int Length) ParseOptions(string token, string text)
    {
        bool hex = false, dec = false, bin = false, auto = false, le = false, be = false;
        int i = 0;
        for (; i < token.Length && !char.IsAsciiDigit(token[i]); i++)
        {
            // ClamAV's rules: one of h, d, i, a; one of l, b; d is big-endian only.
            char o = token[i];
            bool conflict = o switch
            {
                'h' => dec || bin || auto,
                'd' => hex || bin || auto || le,
                'i' => hex || dec || auto,
                'a' => hex || dec || bin,
                'l' => be || dec,
                'b' => le,
                'e' => false,
                _ => true,
            };
            if (conflict)
            {
                throw new FormatException($"byte compare '{text}': bad or conflicting option '{o}' in '{token}'");
            }

            hex |= o == 'h';
            dec |= o == 'd';
            bin |= o == 'i';
            auto |= o == 'a';
            le |= o == 'l';
            be |= o is 'b' or 'd';
        }

        bool? little = le ? true : be ? false : null;
        bool exact = token[..i].Contains('e', StringComparison.Ordinal);
        NumberKind kind = hex ? NumberKind.Hex : dec ? NumberKind.Decimal : bin ? NumberKind.Binary : auto ? NumberKind.Auto : NumberKind.None;
        if (ParseCNumber(token[i..], signed: false) is not long length || length == 0)
        {
            throw new FormatException($"byte compare '{text}': bad byte length in '{token}'");
        }

        if (bin && (length > 8 || 8 % length != 0))
        {
            throw new FormatException($"byte compare '{text}': a binary number has 1, 2, 4 or 8 bytes, not {length}");
        }

        if (hex && length > 18)
        {
            throw new FormatException($"byte compare '{text}': a hex number has at most 18 characters");
        }

        return (kind, little, exact, (int)length);
    }

    /// <summary>A whole token as C's strtol/strtoll with base 0 reads it (0x hex, leading-0 octal, decimal); null otherwise.</summary>
    private static long? ParseCNumber(string s, bool signed)
    {
        bool negative = false;
        if (signed && s.Length > 0 && s[0] is '-' or '+')
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        long value;
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            if (!long.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value) || s.Length == 2)
            {
                return null;
            }
        }
        else if (s.Length > 1 && s[0] == '0')
        {
            value = 0;
            foreach (char c in s)
            {
                if (c is < '0' or > '7')
                {
                    return null;
                }

                value = (value * 8) + (c - '0');
            }
        }
        else if (!long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value))
        {
            return null;
        }

        return negative ? -value : value;
    }
}

/// <summary>How a byte-compare subsignature's number is written in the file (option h, d, i or a).</summary>
internal enum NumberKind
{
    /// <summary>No type option: ClamAV never evaluates the comparison.</summary>
    None,

    /// <summary>h: hexadecimal text.</summary>
    Hex,

    /// <summary>d: decimal text (big-endian only).</summary>
    Decimal,

    /// <summary>i: a binary integer of 1, 2, 4 or 8 bytes.</summary>
    Binary,

    /// <summary>a: hexadecimal text when it starts with "0x", decimal otherwise.</summary>
    Auto,
}
