namespace Prism.Disks.IO;

/// <summary>
/// Byte ranges, each tagged with an integer (a file's index in a walk), indexed once to answer which of them overlap a
/// few query ranges (a clone's divergence) in time proportional to the query and the answer, not to how many are
/// indexed. Built for ranges that seldom overlap one another, as a volume's allocations: a range that spans many others
/// makes the queries that start inside it scan them. Immutable and thread-safe.
/// </summary>
public sealed class ByteRangeIndex
{
    private readonly long[] _starts;
    private readonly long[] _ends;
    private readonly int[] _tags;

    // _reach[i]: the largest end of ranges 0..i (non-decreasing), so the ranges that may reach past an offset start at a binary search.
    private readonly long[] _reach;

    /// <summary>Indexes <paramref name="ranges"/> (empty ones are left out).</summary>
    public ByteRangeIndex(IEnumerable<(ByteRange Range, int Tag)> ranges)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        (ByteRange Range, int Tag)[] sorted = [.. ranges.Where(r => r.Range.Length > 0)];
        Array.Sort(sorted, static (a, b) => a.Range.Offset.CompareTo(b.Range.Offset));
        _starts = new long[sorted.Length];
        _ends = new long[sorted.Length];
        _tags = new int[sorted.Length];
        _reach = new long[sorted.Length];
        long reach = long.MinValue;
        for (int i = 0; i < sorted.Length; i++)
        {
            _starts[i] = sorted[i].Range.Offset;
            _ends[i] = sorted[i].Range.End;
            _tags[i] = sorted[i].Tag;
            reach = Math.Max(reach, _ends[i]);
            _reach[i] = reach;
        }
    }

    /// <summary>How many ranges are indexed.</summary>
    public int Count => _starts.Length;

    /// <summary>Adds to <paramref name="tags"/> the tag of every indexed range that shares a byte with one of <paramref name="query"/>.</summary>
    public void Overlapping(IEnumerable<ByteRange> query, ISet<int> tags)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(tags);
        foreach (ByteRange q in query)
        {
            if (q.Length <= 0)
            {
                continue;
            }

            // Candidates start before the query ends and come at or after the first one whose reach passes its start.
            int end = LowerBound(_starts, q.End);
            for (int i = LowerBoundAbove(_reach, q.Offset); i < end; i++)
            {
                if (_ends[i] > q.Offset)
                {
                    tags.Add(_tags[i]);
                }
            }
        }
    }

    // The first index whose value is >= value.
    private static int LowerBound(long[] values, long value)
    {
        int lo = 0, hi = values.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (values[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    // The first index whose value is > value.
    private static int LowerBoundAbove(long[] values, long value)
    {
        int lo = 0, hi = values.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (values[mid] <= value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
