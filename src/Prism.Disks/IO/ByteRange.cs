namespace Prism.Disks.IO;

/// <summary>A half-open byte range [<see cref="Offset"/>, <see cref="End"/>).</summary>
/// <param name="Offset">First byte.</param>
/// <param name="Length">Length in bytes.</param>
public readonly record struct ByteRange(long Offset, long Length)
{
    /// <summary>The first byte past the range.</summary>
    public long End => Offset + Length;

    /// <summary>True when the two ranges share at least one byte.</summary>
    public bool Overlaps(ByteRange other) => Offset < other.End && other.Offset < End;

    /// <summary>The common part of two ranges, or a zero-length range when they do not overlap.</summary>
    public ByteRange Intersect(ByteRange other)
    {
        long start = Math.Max(Offset, other.Offset);
        long end = Math.Min(End, other.End);
        return end > start ? new ByteRange(start, end - start) : new ByteRange(start, 0);
    }

    /// <inheritdoc />
    public override string ToString() => $"[0x{Offset:X}, 0x{End:X})";
}
