using Prism.Disks.IO;

namespace Prism.Disks.Ext4;

/// <summary>The content of one inode as a positional source: data ranges read through the volume, holes and unwritten ranges as zeros.</summary>
internal sealed class Ext4FileSource : IDiskSource
{
    private readonly Ext4Volume _volume;
    private readonly Ext4Extent[] _extents;

    public Ext4FileSource(Ext4Volume volume, Ext4Extent[] extents, long length)
    {
        _volume = volume;
        _extents = extents;
        Length = length;
    }

    public long Length { get; }

    public int Read(Span<byte> buffer, long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset >= Length)
        {
            return 0;
        }

        int total = (int)Math.Min(buffer.Length, Length - offset);
        int done = 0;
        int index = Find(offset);
        while (done < total)
        {
            long at = offset + done;
            while (index < _extents.Length && _extents[index].FileEnd <= at)
            {
                index++;
            }

            if (index >= _extents.Length)
            {
                // The map always covers the whole size; this is only reached for a zero-length file.
                buffer[done..total].Clear();
                break;
            }

            Ext4Extent e = _extents[index];
            int n = (int)Math.Min(total - done, e.FileEnd - at);
            Span<byte> part = buffer.Slice(done, n);
            if (e.Kind is Ext4ExtentKind.Data or Ext4ExtentKind.Inline)
            {
                _volume.ReadBytes(e.VolumeOffset + (at - e.FileOffset), part);
            }
            else
            {
                part.Clear();
            }

            done += n;
        }

        return total;
    }

    private int Find(long offset)
    {
        int lo = 0, hi = _extents.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (_extents[mid].FileEnd <= offset)
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
