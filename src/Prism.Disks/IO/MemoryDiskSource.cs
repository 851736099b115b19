namespace Prism.Disks.IO;

/// <summary>An <see cref="IDiskSource"/> over a byte array (tests, small images).</summary>
public sealed class MemoryDiskSource : IDiskSource
{
    private readonly ReadOnlyMemory<byte> _data;

    /// <summary>Wraps <paramref name="data"/> without copying.</summary>
    public MemoryDiskSource(ReadOnlyMemory<byte> data) => _data = data;

    /// <inheritdoc />
    public long Length => _data.Length;

    /// <inheritdoc />
    public int Read(Span<byte> buffer, long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset >= _data.Length)
        {
            return 0;
        }

        int n = (int)Math.Min(buffer.Length, _data.Length - offset);
        _data.Span.Slice((int)offset, n).CopyTo(buffer);
        return n;
    }
}
