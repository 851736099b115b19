using System.Buffers.Binary;
using System.Globalization;

namespace Prism.Scanner.Signatures;

/// <summary>
/// A byte-compare subsignature of a logical signature, <c>ref(offset#options#comparisons)</c>, evaluated as clamscan
/// 1.4 evaluates it (verified with crafted files): once the body patterns have run, when subsignature <c>ref</c>
/// matched, the number at <c>ref</c>'s last match start plus the offset (<c>&gt;&gt;n</c> or <c>&lt;&lt;n</c>, hex or
/// decimal) is compared with one or two values (<c>&lt;</c>, <c>&gt;</c>, <c>=</c>; all must hold); a success counts
/// the subsignature once. Binary numbers (<c>i</c> with <c>l</c> or <c>b</c>, 1, 2, 4 or 8 bytes) are read unsigned
/// and compared as signed 64-bit values. A read that would start at file offset 0 or before, or run past the end,
/// fails, as in ClamAV. Option sets ClamAV accepts but never evaluates (<c>i</c> or <c>h</c> without an endianness)
/// never match. The text forms (<c>h</c>, <c>d</c>, <c>a</c>) are reported as not supported.
/// </summary>
internal sealed class ByteCompareSubsignature
{
    private ByteCompareSubsignature(int logical, int subsignature, int reference, long offset, bool? littleEndian, int length, (char Symbol, long Value)[] comparisons, string text)
    {
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
        (bool binary, bool? littleEndian, int length) = ParseOptions(tokens[1], text);
        if (!binary)
        {
            throw new NotSupportedException($"byte compare '{text}': text numbers (h, d, a) are not supported, only binary (i)");
        }

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

        return new ByteCompareSubsignature(logical, subsignature, reference, offset, littleEndian, length, comparisons, text);
    }

    /// <summary>This subsignature as one of the logical signature now at index <paramref name="logical"/>.</summary>
    public ByteCompareSubsignature WithLogical(int logical) =>
        new(logical, Subsignature, Reference, Offset, LittleEndian, Length, [.. Comparisons], Text);

    /// <summary>True when the number at <paramref name="referenceStart"/> + offset in <paramref name="file"/> passes every comparison.</summary>
    public bool Evaluate(ReadOnlySpan<byte> file, long referenceStart)
    {
        long at = referenceStart + Offset;
        if (LittleEndian is not bool little || at <= 0 || at + Length > file.Length)
        {
            return false;
        }

        ReadOnlySpan<byte> b = file.Slice((int)at, Length);
        long value = Length switch
        {
            1 => b[0],
            2 => little ? BinaryPrimitives.ReadUInt16LittleEndian(b) : BinaryPrimitives.ReadUInt16BigEndian(b),
            4 => little ? BinaryPrimitives.ReadUInt32LittleEndian(b) : BinaryPrimitives.ReadUInt32BigEndian(b),
            _ => little ? BinaryPrimitives.ReadInt64LittleEndian(b) : BinaryPrimitives.ReadInt64BigEndian(b),
        };
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

    private static (bool Binary, bool? LittleEndian, int Length) ParseOptions(string token, string text)
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

        return (bin, little, (int)length);
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
