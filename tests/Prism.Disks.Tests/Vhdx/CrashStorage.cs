using Prism.Disks.Vhdx;

namespace Prism.Disks.Tests.Vhdx;

/// <summary>
/// Simulates a power cut. Keeps a durable image (state at the last completed Flush) and the writes and length changes
/// made since. The <c>crashAt</c>-th Write/SetLength/Flush throws <c>IOException("injected crash")</c> instead of
/// happening, and so does every later call. <see cref="Recover"/> then returns what a disk could hold after the cut:
/// the durable image plus an arbitrary subset of the pending operations, writes possibly torn into 4 KiB pieces.
/// </summary>
internal sealed class CrashStorage : IVhdxStorage
{
    private readonly MemoryStorage _durable;
    private readonly MemoryStorage _current;
    private readonly List<(long Offset, byte[]? Data, long NewLength)> _pending = [];
    private readonly int _crashAt;

    public CrashStorage(string path, byte[] image, int crashAt)
    {
        Path = path;
        _durable = new MemoryStorage(path, image, canWrite: true);
        _current = new MemoryStorage(path, image, canWrite: true);
        _crashAt = crashAt;
    }

    public string Path { get; }

    public bool CanWrite => true;

    public long Length => _current.Length;

    /// <summary>Write/SetLength/Flush calls made so far (including the one that crashed).</summary>
    public int Operations { get; private set; }

    public bool Crashed { get; private set; }

    /// <summary>Every write that happened: its operation number (as counted by <see cref="Operations"/>), offset and length.</summary>
    public List<(int Operation, long Offset, int Length)> Writes { get; } = [];

    public int Read(Span<byte> buffer, long offset) => _current.Read(buffer, offset);

    public void Write(ReadOnlySpan<byte> buffer, long offset)
    {
        Tick();
        Writes.Add((Operations, offset, buffer.Length));
        _current.Write(buffer, offset);
        _pending.Add((offset, buffer.ToArray(), -1));
    }

    public void SetLength(long length)
    {
        Tick();
        _current.SetLength(length);
        _pending.Add((0, null, length));
    }

    public void Flush()
    {
        Tick();
        foreach ((long offset, byte[]? data, long newLength) in _pending)
        {
            Apply(_durable, offset, data, newLength);
        }

        _pending.Clear();
    }

    public void Dispose()
    {
    }

    /// <summary>
    /// The image after the crash. mode 0: no pending operation reached the disk; 1: all of them did;
    /// otherwise a random subset, each write torn at 4 KiB file boundaries with each piece kept or lost independently.
    /// </summary>
    public byte[] Recover(int mode, Random rng)
    {
        var image = new MemoryStorage(Path, _durable.ToArray(), canWrite: true, copy: false);
        foreach ((long offset, byte[]? data, long newLength) in _pending)
        {
            if (mode == 0)
            {
                break;
            }

            if (mode == 1 || data is null)
            {
                if (mode == 1 || rng.Next(2) == 0)
                {
                    Apply(image, offset, data, newLength);
                }

                continue;
            }

            long pos = offset;
            long end = offset + data.Length;
            while (pos < end)
            {
                long pieceEnd = Math.Min(end, ((pos / 4096) + 1) * 4096);
                if (rng.Next(2) == 0)
                {
                    image.Write(data.AsSpan((int)(pos - offset), (int)(pieceEnd - pos)), pos);
                }

                pos = pieceEnd;
            }
        }

        return image.ToArray();
    }

    private static void Apply(MemoryStorage target, long offset, byte[]? data, long newLength)
    {
        if (data is null)
        {
            target.SetLength(newLength);
        }
        else
        {
            target.Write(data, offset);
        }
    }

    private void Tick()
    {
        if (Crashed)
        {
            throw new IOException("injected crash (storage is gone)");
        }

        Operations++;
        if (Operations == _crashAt)
        {
            Crashed = true;
            throw new IOException("injected crash");
        }
    }
}
