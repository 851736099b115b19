namespace Prism.Disks.IO;

/// <summary>A window onto another source (a partition inside a virtual disk).</summary>
public sealed class SubRangeSource : IDiskSource
{
    private readonly IDiskSource _inner;

    /// <summary>Creates a window of <paramref name="length"/> bytes at <paramref name="start"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The window does not lie inside the source.</exception>
    public SubRangeSource(IDiskSource inner, long start, long length)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (start > inner.Length || length > inner.Length - start)
        {
            throw new ArgumentOutOfRangeException(nameof(length),
                $"range 0x{start:X}+0x{length:X} lies outside a source of 0x{inner.Length:X} bytes");
        }

        _inner = inner;
        Start = start;
        Length = length;
    }

    /// <summary>Offset of the window inside the inner source.</summary>
    public long Start { get; }

    /// <inheritdoc />
    public long Length { get; }

    /// <inheritdoc />
    public int Read(Span<byte> buffer, long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset >= Length)
        {
            return 0;
        }

        int n = (int)Math.Min(buffer.Length, Length - offset);
        return _inner.Read(buffer[..n], Start + offset);
    }
}
