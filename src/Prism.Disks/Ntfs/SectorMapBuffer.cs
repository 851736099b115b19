using Prism.Disks.IO;

namespace Prism.Disks.Ntfs;

/// <summary>
/// Byte ranges in consecutive segments (a file's records, then each stream's content), in buffers reused from file to
/// file: a sector map without an allocation per file.
/// </summary>
internal sealed class SectorMapBuffer
{
    private ByteRange[] _ranges = new ByteRange[16];
    private int[] _ends = new int[4];
    private int _segments;

    /// <summary>Ranges in all segments so far (the ended ones and the open one).</summary>
    public int Count { get; private set; }

    public int SegmentCount => _segments;

    public void Clear()
    {
        Count = 0;
        _segments = 0;
    }

    /// <summary>Appends <paramref name="range"/> to the open segment; it extends the last range instead when that one ends where it starts and is at <paramref name="mergeFrom"/> or after.</summary>
    public void Add(ByteRange range, int mergeFrom)
    {
        if (Count > 0 && Count - 1 >= mergeFrom && Count - 1 >= SegmentStart && _ranges[Count - 1].End == range.Offset)
        {
            _ranges[Count - 1] = new ByteRange(_ranges[Count - 1].Offset, _ranges[Count - 1].Length + range.Length);
            return;
        }

        if (Count == _ranges.Length)
        {
            Array.Resize(ref _ranges, 2 * _ranges.Length);
        }

        _ranges[Count++] = range;
    }

    /// <summary>Ends the open segment; the next range starts a new one.</summary>
    public void EndSegment()
    {
        if (_segments == _ends.Length)
        {
            Array.Resize(ref _ends, 2 * _ends.Length);
        }

        _ends[_segments++] = Count;
    }

    /// <summary>The ranges of ended segment <paramref name="index"/>, valid until the next change.</summary>
    public ReadOnlySpan<ByteRange> Segment(int index)
    {
        int start = index == 0 ? 0 : _ends[index - 1];
        return _ranges.AsSpan(start, _ends[index] - start);
    }

    private int SegmentStart => _segments == 0 ? 0 : _ends[_segments - 1];
}
