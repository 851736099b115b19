using Prism.Disks.Vhdx;

namespace Prism.Disks.Tests.Vhdx;

/// <summary>A growable in-memory VHDX container (tests: corruption, crash recovery). Refuses to grow past a cap.</summary>
internal sealed class MemoryStorage : IVhdxStorage
{
    private byte[] _data;
    private long _length;
    private readonly long _maxLength;

    /// <summary>Wraps a copy of <paramref name="image"/>, or the array itself when <paramref name="copy"/> is false.</summary>
    public MemoryStorage(string path, byte[] image, bool canWrite, long maxLength = 256L * 1024 * 1024, bool copy = true)
    {
        Path = path;
        _data = copy ? (byte[])image.Clone() : image;
        _length = image.Length;
        CanWrite = canWrite;
        _maxLength = maxLength;
    }

    public string Path { get; }

    public bool CanWrite { get; }

    public long Length => _length;

    public int Flushes { get; private set; }

    public int Read(Span<byte> buffer, long offset)
    {
        if (offset >= _length)
        {
            return 0;
        }

        int n = (int)Math.Min(buffer.Length, _length - offset);
        _data.AsSpan((int)offset, n).CopyTo(buffer);
        return n;
    }

    public void Write(ReadOnlySpan<byte> buffer, long offset)
    {
        if (!CanWrite)
        {
            throw new InvalidOperationException("read-only memory storage");
        }

        long end = offset + buffer.Length;
        Grow(end);
        buffer.CopyTo(_data.AsSpan((int)offset));
        _length = Math.Max(_length, end);
    }

    public void SetLength(long length)
    {
        if (!CanWrite)
        {
            throw new InvalidOperationException("read-only memory storage");
        }

        Grow(length);
        if (length < _length)
        {
            _data.AsSpan((int)length, (int)(_length - length)).Clear();
        }

        _length = length;
    }

    public void Flush() => Flushes++;

    public void Dispose()
    {
    }

    public byte[] ToArray() => _data.AsSpan(0, (int)_length).ToArray();

    private void Grow(long needed)
    {
        if (needed > _maxLength || needed < 0)
        {
            throw new IOException($"memory storage: no space for 0x{needed:X} bytes (cap 0x{_maxLength:X})");
        }

        if (needed > _data.Length)
        {
            Array.Resize(ref _data, (int)Math.Max(needed, Math.Min(_maxLength, (long)_data.Length * 2)));
        }
    }
}
