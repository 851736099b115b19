namespace Prism.Disks.IO;

/// <summary>Helpers over <see cref="IDiskSource"/>.</summary>
public static class DiskSourceExtensions
{
    /// <summary>Reads exactly <c>buffer.Length</c> bytes or throws <see cref="EndOfStreamException"/> naming the offset.</summary>
    /// <exception cref="EndOfStreamException">The source ends before the buffer is filled.</exception>
    public static void ReadExactly(this IDiskSource source, Span<byte> buffer, long offset)
    {
        ArgumentNullException.ThrowIfNull(source);
        int total = 0;
        while (total < buffer.Length)
        {
            int n = source.Read(buffer[total..], offset + total);
            if (n <= 0)
            {
                throw new EndOfStreamException(
                    $"short read at 0x{offset + total:X}: wanted {buffer.Length} bytes at 0x{offset:X}, source length 0x{source.Length:X}");
            }

            total += n;
        }
    }

    /// <summary>A view of <paramref name="length"/> bytes of <paramref name="source"/> starting at <paramref name="offset"/>.</summary>
    public static IDiskSource Slice(this IDiskSource source, long offset, long length) => new SubRangeSource(source, offset, length);
}
