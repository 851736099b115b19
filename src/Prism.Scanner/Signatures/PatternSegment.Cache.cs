namespace Prism.Scanner.Signatures;

/// <summary>A compiled part in the compiled signature cache (<see cref="SignatureCache"/>): its elements, anchors and edges as they are in memory.</summary>
internal sealed partial class PatternSegment
{
    private const byte BytesTag = 0, GapTag = 1, AnchoredGapTag = 2, AlternativesTag = 3, NegatedAlternativesTag = 4, BoundaryTag = 5,
        NonAlphanumericTag = 6, NoElementTag = 7;

    /// <summary>Writes the part: edges, distance, the [n-m] leading byte, elements before and after, anchors.</summary>
    public void WriteTo(SignatureCacheBlobWriter w)
    {
        w.WriteByte((byte)LeadingBoundary);
        w.WriteByte((byte)TrailingBoundary);
        w.WriteInt32(MinDistanceFromPrevious);
        WriteElement(w, LeadingByte);
        WriteElement(w, LeadingGap);
        WriteElements(w, Before);
        WriteElements(w, After);
        w.WriteInt32(Anchors.Length);
        foreach (byte[] a in Anchors)
        {
            w.WriteBytes(a);
        }

        w.WriteByte(AnchorIsAlternative ? (byte)1 : (byte)0);
    }

    /// <summary>Reads a part written by <see cref="WriteTo"/>, checking each element's shape as the matcher relies on it.</summary>
    public static PatternSegment ReadFrom(SignatureCacheBlobReader r)
    {
        char leading = ReadEdge(r), trailing = ReadEdge(r);
        int minDistance = r.ReadInt32(0, int.MaxValue, "part distance");
        PatternElement? leadingByte = ReadElement(r), leadingGap = ReadElement(r);
        if ((leadingByte is null) != (leadingGap is null)
            || (leadingByte is not null && (leadingByte.Kind != PatternElementKind.Bytes || leadingByte.MaxLength != 1 || !leadingGap!.IsAnchoredGap)))
        {
            throw r.Malformed("malformed aa[n-m] lead of a part");
        }

        PatternElement[] before = ReadElements(r), after = ReadElements(r);
        int anchorCount = r.ReadCount(1 << 16, "anchor count");
        if (anchorCount == 0)
        {
            throw r.Malformed("a part without anchors");
        }

        var anchors = new byte[anchorCount][];
        for (int i = 0; i < anchorCount; i++)
        {
            anchors[i] = r.ReadBytes();
            if (anchors[i].Length == 0)
            {
                throw r.Malformed("an empty anchor");
            }
        }

        byte alternative = r.ReadByte();
        if (alternative > 1 || (alternative == 0 && anchorCount != 1))
        {
            throw r.Malformed("anchors neither one run nor an alternative");
        }

        return new PatternSegment(before, anchors, after, minDistance, alternative == 1, leading, trailing)
        {
            LeadingByte = leadingByte,
            LeadingGap = leadingGap,
        };
    }

    private static PatternElement ReadBytesElement(SignatureCacheBlobReader r)
    {
        byte[] values = r.ReadBytes(), masks = r.ReadBytes();
        if (values.Length != masks.Length || values.Length == 0)
        {
            throw r.Malformed($"a byte run of {values.Length} values and {masks.Length} masks");
        }

        return PatternElement.FromBytes(values, masks);
    }

    private static char ReadEdge(SignatureCacheBlobReader r)
    {
        char c = (char)r.ReadByte();
        return c is NoBoundary or 'B' or 'L' or 'W' or WideWord ? c : throw r.Malformed($"unknown part edge 0x{(int)c:X2}");
    }

    private static void WriteElements(SignatureCacheBlobWriter w, PatternElement[] elements)
    {
        w.WriteInt32(elements.Length);
        foreach (PatternElement e in elements)
        {
            WriteElement(w, e);
        }
    }

    private static PatternElement[] ReadElements(SignatureCacheBlobReader r)
    {
        var elements = new PatternElement[r.ReadCount(1 << 20, "element count")];
        for (int i = 0; i < elements.Length; i++)
        {
            elements[i] = ReadElement(r) ?? throw r.Malformed("a missing element");
            if (elements[i].Kind == PatternElementKind.Boundary)
            {
                throw r.Malformed("a class inside a compiled part");
            }
        }

        return elements;
    }

    private static void WriteElement(SignatureCacheBlobWriter w, PatternElement? e)
    {
        if (e is null)
        {
            w.WriteByte(NoElementTag);
            return;
        }

        if (ReferenceEquals(e, s_nonAlphanumeric))
        {
            w.WriteByte(NonAlphanumericTag);
            return;
        }

        switch (e.Kind)
        {
            case PatternElementKind.Bytes:
                w.WriteByte(BytesTag);
                w.WriteBytes(e.Values);
                w.WriteBytes(e.Masks);
                break;
            case PatternElementKind.Gap:
                w.WriteByte(e.IsAnchoredGap ? AnchoredGapTag : GapTag);
                w.WriteInt32(e.MinLength);
                w.WriteInt32(e.MaxLength);
                break;
            case PatternElementKind.Alternatives:
                w.WriteByte(e.Negated ? NegatedAlternativesTag : AlternativesTag);
                WriteElements(w, e.Options);
                break;
            default:
                w.WriteByte(BoundaryTag);
                w.WriteByte((byte)e.BoundaryKind);
                break;
        }
    }

    private static PatternElement? ReadElement(SignatureCacheBlobReader r)
    {
        byte tag = r.ReadByte();
        switch (tag)
        {
            case NoElementTag:
                return null;
            case NonAlphanumericTag:
                return s_nonAlphanumeric;
            case BytesTag:
                return ReadBytesElement(r);
            case GapTag or AnchoredGapTag:
                int min = r.ReadInt32(0, int.MaxValue, "gap minimum"), max = r.ReadInt32(min, int.MaxValue, "gap maximum");
                return tag == GapTag ? PatternElement.FromGap(min, max) : PatternElement.FromAnchoredGap(min, max);
            case AlternativesTag or NegatedAlternativesTag:
                // Options are byte runs only: read without recursion, so no nesting depth reaches the stack's limit.
                var options = new PatternElement[r.ReadCount(1 << 20, "option count")];
                if (options.Length == 0)
                {
                    throw r.Malformed("an alternative without options");
                }

                for (int i = 0; i < options.Length; i++)
                {
                    options[i] = r.ReadByte() == BytesTag ? ReadBytesElement(r) : throw r.Malformed("an alternative whose options are not byte runs");
                }

                return PatternElement.FromAlternatives(options, negated: tag == NegatedAlternativesTag);
            case BoundaryTag:
                char kind = (char)r.ReadByte();
                return kind is 'B' or 'L' or 'W' ? PatternElement.FromBoundary(kind) : throw r.Malformed($"unknown class ({kind})");
            default:
                throw r.Malformed($"unknown element tag {tag}");
        }
    }
}
