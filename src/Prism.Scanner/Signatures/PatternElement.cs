namespace Prism.Scanner.Signatures;

/// <summary>Kinds of element in a body (ndb) signature segment.</summary>
internal enum PatternElementKind
{
    /// <summary>A run of bytes, each with a mask (0xFF exact, 0xF0/0x0F nibble, 0x00 "??").</summary>
    Bytes,

    /// <summary>A bounded gap: {n}, {-n}, {n-m}, [n-m].</summary>
    Gap,

    /// <summary>(aa|bbcc|...) or, negated, !(aa|bb).</summary>
    Alternatives,

    /// <summary>A character class (B), (L) or (W); resolved by <see cref="PatternSegment.Compile"/>.</summary>
    Boundary,
}

/// <summary>One element of a body signature segment (ClamAV "Body-based signature content format").</summary>
internal sealed class PatternElement
{
    /// <summary>Shared all-0xFF masks by length (short runs only; never written to).</summary>
    private static readonly byte[][] s_exactMasks = [.. Enumerable.Range(0, 65).Select(n => Enumerable.Repeat((byte)0xFF, n).ToArray())];

    private PatternElement(PatternElementKind kind, byte[] values, byte[] masks, int minLength, int maxLength,
        PatternElement[] options, bool negated)
    {
        Kind = kind;
        Values = values;
        Masks = masks;
        MinLength = minLength;
        MaxLength = maxLength;
        Options = options;
        Negated = negated;
    }

    public PatternElementKind Kind { get; }

    /// <summary>Byte values of a <see cref="PatternElementKind.Bytes"/> run, already masked.</summary>
    public byte[] Values { get; }

    /// <summary>Masks of a <see cref="PatternElementKind.Bytes"/> run.</summary>
    public byte[] Masks { get; }

    /// <summary>Fewest bytes this element consumes.</summary>
    public int MinLength { get; }

    /// <summary>Most bytes this element consumes.</summary>
    public int MaxLength { get; }

    /// <summary>The options of an <see cref="PatternElementKind.Alternatives"/> element (each a Bytes element).</summary>
    public PatternElement[] Options { get; }

    /// <summary>True for !(..): matches any bytes of the options' (common) length that no option matches.</summary>
    public bool Negated { get; }

    public bool IsFullyFixed
    {
        get
        {
            if (Kind != PatternElementKind.Bytes)
            {
                return false;
            }

            foreach (byte m in Masks)
            {
                if (m != 0xFF)
                {
                    return false;
                }
            }

            return true;
        }
    }

    public static PatternElement FromBytes(byte[] values, byte[] masks)
    {
        var masked = new byte[values.Length];
        bool exact = true;
        for (int i = 0; i < values.Length; i++)
        {
            masked[i] = (byte)(values[i] & masks[i]);
            exact &= masks[i] == 0xFF;
        }

        // Most runs are exact: they share one read-only all-0xFF mask array per length instead of each holding its own.
        return new PatternElement(PatternElementKind.Bytes, masked, exact ? ExactMask(masks.Length) : masks, values.Length, values.Length, [], false);
    }

    private static byte[] ExactMask(int length) => length < s_exactMasks.Length ? s_exactMasks[length] : Enumerable.Repeat((byte)0xFF, length).ToArray();

    /// <summary>(B), (L) or (W), by its letter.</summary>
    public static PatternElement FromBoundary(char kind) =>
        new(PatternElementKind.Boundary, [(byte)kind], [], 0, 0, [], false);

    /// <summary>The letter of a <see cref="PatternElementKind.Boundary"/> element.</summary>
    public char BoundaryKind => (char)Values[0];

    public static PatternElement FromGap(int min, int max) =>
        new(PatternElementKind.Gap, [], [], min, max, [], false);

    /// <summary>A [n-m] gap: it ties a single byte to the hex signature next to it (ClamAV "HEXSIG[x-y]aa").</summary>
    public static PatternElement FromAnchoredGap(int min, int max) =>
        new(PatternElementKind.Gap, [], [], min, max, [], negated: true);

    /// <summary>True for a [n-m] gap (see <see cref="FromAnchoredGap"/>).</summary>
    public bool IsAnchoredGap => Kind == PatternElementKind.Gap && Negated;

    public static PatternElement FromAlternatives(PatternElement[] options, bool negated)
    {
        int min = int.MaxValue, max = 0;
        foreach (PatternElement o in options)
        {
            min = Math.Min(min, o.MinLength);
            max = Math.Max(max, o.MaxLength);
        }

        return new PatternElement(PatternElementKind.Alternatives, [], [], min, max, options, negated);
    }

    /// <summary>True when the bytes run matches <paramref name="data"/> at <paramref name="index"/> (caller checked the length).</summary>
    public bool BytesMatchAt(ReadOnlySpan<byte> data, int index)
    {
        byte[] values = Values, masks = Masks;
        for (int k = 0; k < values.Length; k++)
        {
            if ((data[index + k] & masks[k]) != values[k])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Canonical text (lower-case hex, ClamAV syntax) for the signature-set hash.</summary>
    public string ToCanonical()
    {
        switch (Kind)
        {
            case PatternElementKind.Bytes:
                // Two characters per byte, written in place (this runs for every element of a large database).
                return string.Create(Values.Length * 2, this, static (chars, e) =>
                {
                    const string Hex = "0123456789abcdef";
                    for (int i = 0; i < e.Values.Length; i++)
                    {
                        int v = e.Values[i];
                        (chars[2 * i], chars[(2 * i) + 1]) = e.Masks[i] switch
                        {
                            0xFF => (Hex[v >> 4], Hex[v & 0xF]),
                            0xF0 => (Hex[v >> 4], '?'),
                            0x0F => ('?', Hex[v & 0xF]),
                            _ => ('?', '?'),
                        };
                    }
                });
            case PatternElementKind.Gap:
                return IsAnchoredGap ? $"[{MinLength}-{MaxLength}]" : $"{{{MinLength}-{MaxLength}}}";
            case PatternElementKind.Boundary:
                return $"({BoundaryKind})";
            default:
                return (Negated ? "!(" : "(") + string.Join('|', Options.Select(o => o.ToCanonical())) + ")";
        }
    }
}
