using System.Collections.Immutable;
using Prism.Disks.IO;

namespace Prism.Disks.Ntfs;

/// <summary>Ascending, coalesced byte ranges with an overlap test by binary search (a clone's divergence on its volume).</summary>
internal sealed class RangeSet
{
    private readonly ByteRange[] _ranges;

    public RangeSet(IEnumerable<ByteRange> ranges) => _ranges = [.. Coalesce(ranges)];

    public IReadOnlyList<ByteRange> Ranges => _ranges;

    public bool IsEmpty => _ranges.Length == 0;

    /// <summary>Sorts, drops empty ranges and merges overlapping or touching ones.</summary>
    public static List<ByteRange> Coalesce(IEnumerable<ByteRange> ranges)
    {
        var sorted = ranges.Where(r => r.Length > 0).OrderBy(r => r.Offset).ToList();
        var merged = new List<ByteRange>(sorted.Count);
        foreach (ByteRange r in sorted)
        {
            if (merged.Count > 0 && merged[^1].End >= r.Offset)
            {
                ByteRange last = merged[^1];
                merged[^1] = new ByteRange(last.Offset, Math.Max(last.End, r.End) - last.Offset);
            }
            else
            {
                merged.Add(r);
            }
        }

        return merged;
    }

    /// <summary>True when <paramref name="range"/> shares a byte with the set.</summary>
    public bool Overlaps(ByteRange range)
    {
        if (range.Length <= 0)
        {
            return false;
        }

        // The first range ending after range.Offset.
        int lo = 0, hi = _ranges.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_ranges[mid].End <= range.Offset)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo < _ranges.Length && _ranges[lo].Offset < range.End;
    }

    /// <summary>True when any of <paramref name="ranges"/> shares a byte with the set.</summary>
    public bool Overlaps(ImmutableArray<ByteRange> ranges)
    {
        foreach (ByteRange r in ranges)
        {
            if (Overlaps(r))
            {
                return true;
            }
        }

        return false;
    }
}
