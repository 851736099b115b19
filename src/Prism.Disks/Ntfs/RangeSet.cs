using System.Collections.Immutable;
using Prism.Disks.Guest;
using Prism.Disks.IO;

namespace Prism.Disks.Ntfs;

/// <summary>Ascending, coalesced byte ranges with an overlap test by binary search (a clone's divergence on its volume).</summary>
internal sealed class RangeSet
{
    private readonly List<ByteRange> _ranges;

    public RangeSet(IEnumerable<ByteRange> ranges) => _ranges = ByteRanges.Coalesce(ranges);

    public IReadOnlyList<ByteRange> Ranges => _ranges;

    public bool IsEmpty => _ranges.Count == 0;

    /// <summary>True when <paramref name="range"/> shares a byte with the set.</summary>
    public bool Overlaps(ByteRange range) => range.Length > 0 && ByteRanges.Touches(range, _ranges);

    /// <summary>True when any of <paramref name="ranges"/> shares a byte with the set.</summary>
    public bool Overlaps(ImmutableArray<ByteRange> ranges) => ByteRanges.Touches(ranges.AsSpan(), _ranges);
}
