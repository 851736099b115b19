namespace Prism.Disks.Vhdx;

/// <summary>
/// A read-only view of a file with a replayed VHDX log applied in memory (MS-VHDX 2.3.3: never serve reads from
/// an un-replayed file, and a read-only open must not modify it). Operations apply in log order.
/// </summary>
internal sealed class OverlayStorage : IVhdxStorage
{
    private readonly IVhdxStorage _inner;
    private readonly List<(long Offset, long Length, byte[]? Data)> _ops = [];
    private long _length;

    public OverlayStorage(IVhdxStorage inner)
    {
        _inner = inner;
        _length = inner.Length;
    }

    public string Path => _inner.Path;

    public bool CanWrite => false;

    public long Length => _length;

    public void AddData(long offset, byte[] data)
    {
        _ops.Add((offset, data.Length, data));
        _length = Math.Max(_length, offset + data.Length);
    }

    public void AddZero(long offset, long length)
    {
        _ops.Add((offset, length, null));
        _length = Math.Max(_length, offset + length);
    }

    public void ExtendTo(long length) => _length = Math.Max(_length, length);

    public int Read(Span<byte> buffer, long offset)
    {
        if (offset >= _length)
        {
            return 0;
        }

        int want = (int)Math.Min(buffer.Length, _length - offset);
        Span<byte> dst = buffer[..want];
        int n = _inner.Read(dst, offset);
        dst[n..].Clear();
        foreach ((long opOffset, long opLength, byte[]? data) in _ops)
        {
            long start = Math.Max(opOffset, offset);
            long end = Math.Min(opOffset + opLength, offset + want);
            if (end <= start)
            {
                continue;
            }

            Span<byte> target = dst.Slice((int)(start - offset), (int)(end - start));
            if (data is null)
            {
                target.Clear();
            }
            else
            {
                data.AsSpan((int)(start - opOffset), (int)(end - start)).CopyTo(target);
            }
        }

        return want;
    }

    public void Write(ReadOnlySpan<byte> buffer, long offset) => throw new NotSupportedException("read-only VHDX open");

    public void SetLength(long length) => throw new NotSupportedException("read-only VHDX open");

    public void Flush()
    {
    }

    public void Dispose() => _inner.Dispose();
}
