using Prism.Disks.IO;

namespace Prism.Disks.Guest;

/// <summary>Helpers over sorted lists of byte ranges.</summary>
public static class ByteRanges
{
    /// <summary>Sorts <paramref name="ranges"/> and merges overlapping or adjacent ones (empty ranges dropped).</summary>
    public static List<ByteRange> Coalesce(IEnumerable<ByteRange> ranges)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        var sorted = ranges.Where(r => r.Length > 0).ToList();
        sorted.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        var result = new List<ByteRange>(sorted.Count);
        foreach (ByteRange r in sorted)
        {
            if (result.Count > 0 && r.Offset <= result[^1].End)
            {
                result[^1] = new ByteRange(result[^1].Offset, Math.Max(result[^1].End, r.End) - result[^1].Offset);
            }
            else
            {
                result.Add(r);
            }
        }

        return result;
    }

    /// <summary>True when any of <paramref name="ranges"/> overlaps the sorted, disjoint <paramref name="sorted"/> list.</summary>
    public static bool Touches(IReadOnlyList<ByteRange> ranges, IReadOnlyList<ByteRange> sorted)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        ArgumentNullException.ThrowIfNull(sorted);
        foreach (ByteRange r in ranges)
        {
            if (Touches(r, sorted))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when any of <paramref name="ranges"/> overlaps the sorted, disjoint <paramref name="sorted"/> list.</summary>
    public static bool Touches(ReadOnlySpan<ByteRange> ranges, IReadOnlyList<ByteRange> sorted)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        foreach (ByteRange r in ranges)
        {
            if (Touches(r, sorted))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when non-empty <paramref name="range"/> overlaps one of the sorted, disjoint <paramref name="sorted"/> ranges.</summary>
    public static bool Touches(ByteRange range, IReadOnlyList<ByteRange> sorted)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        int lo = 0;
        int hi = sorted.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid].End <= range.Offset)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo < sorted.Count && sorted[lo].Offset < range.End && range.Length > 0;
    }
}
