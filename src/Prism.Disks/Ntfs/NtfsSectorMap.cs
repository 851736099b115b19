using Prism.Disks.IO;

namespace Prism.Disks.Ntfs;

/// <summary>
/// A file's sector map as <see cref="NtfsFileView.GetSectorMap"/> gives it: the same ranges as
/// <see cref="NtfsVolume.GetExtents"/>, in a buffer the walk reuses (valid until the visitor returns).
/// </summary>
public readonly ref struct NtfsSectorMap
{
    private readonly SectorMapBuffer _buffer;

    internal NtfsSectorMap(SectorMapBuffer buffer) => _buffer = buffer;

    /// <summary>Byte ranges of the base and extension file records.</summary>
    public ReadOnlySpan<ByteRange> MftRecords => _buffer.Segment(0);

    /// <summary>Number of $DATA streams (as <see cref="NtfsFileView.StreamCount"/>).</summary>
    public int StreamCount => _buffer.SegmentCount - 1;

    /// <summary>Where stream <paramref name="index"/>'s content lies (see <see cref="NtfsStreamExtents.Ranges"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not a stream of the file.</exception>
    public ReadOnlySpan<ByteRange> StreamRanges(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, StreamCount);
        return _buffer.Segment(index + 1);
    }
}
