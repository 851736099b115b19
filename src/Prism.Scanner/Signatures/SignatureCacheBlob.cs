using System.Buffers.Binary;
using System.Text;

namespace Prism.Scanner.Signatures;

/// <summary>
/// A growable little-endian byte buffer for the compiled cache's structured sections (body signatures, logical
/// signatures): written whole with <see cref="SignatureCacheWriter.WriteByteArray"/>, so the cache file reads it in one
/// call and hashes it in bulk instead of field by field.
/// </summary>
internal sealed class SignatureCacheBlobWriter
{
    private byte[] _buffer = new byte[1 << 16];

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, Length);

    public void WriteByte(byte value) => Reserve(1)[0] = value;

    public void WriteInt32(int value) => BinaryPrimitives.WriteInt32LittleEndian(Reserve(4), value);

    public void WriteInt64(long value) => BinaryPrimitives.WriteInt64LittleEndian(Reserve(8), value);

    /// <summary>A length, then the bytes.</summary>
    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        WriteInt32(bytes.Length);
        bytes.CopyTo(Reserve(bytes.Length));
    }

    /// <summary>A length, then the UTF-8 bytes.</summary>
    public void WriteString(string value)
    {
        int n = Encoding.UTF8.GetByteCount(value);
        WriteInt32(n);
        Encoding.UTF8.GetBytes(value, Reserve(n));
    }

    private Span<byte> Reserve(int n)
    {
        if (Length + n > _buffer.Length)
        {
            Array.Resize(ref _buffer, (int)Math.Min(Array.MaxLength, Math.Max((long)_buffer.Length * 2, (long)Length + n)));
        }

        Span<byte> span = _buffer.AsSpan(Length, n);
        Length += n;
        return span;
    }
}

/// <summary>
/// Reads what <see cref="SignatureCacheBlobWriter"/> wrote, checking every length and count against the bytes left:
/// a malformed section throws <see cref="InvalidDataException"/> naming the section and the offset in it.
/// </summary>
internal sealed class SignatureCacheBlobReader(byte[] data, string section)
{
    private int _position;

    public bool AtEnd => _position == data.Length;

    public byte ReadByte() => Take(1)[0];

    public int ReadInt32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

    public long ReadInt64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

    /// <summary>A count that is non-negative and at most <paramref name="max"/> (and, each item taking at least one byte, at most the bytes left).</summary>
    public int ReadCount(int max, string what)
    {
        int at = _position;
        int n = ReadInt32();
        return n < 0 || n > max || n > data.Length - _position
            ? throw Malformed(at, $"{what} {n} is out of range")
            : n;
    }

    /// <summary>A value in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int ReadInt32(int min, int max, string what)
    {
        int at = _position;
        int n = ReadInt32();
        return n < min || n > max ? throw Malformed(at, $"{what} {n} is out of range") : n;
    }

    public byte[] ReadBytes()
    {
        int n = ReadCount(int.MaxValue, "byte count");
        return Take(n).ToArray();
    }

    public string ReadString()
    {
        int n = ReadCount(int.MaxValue, "string length");
        return Encoding.UTF8.GetString(Take(n));
    }

    public InvalidDataException Malformed(string message) => Malformed(_position, message);

    /// <summary>Throws unless every byte of the section was read.</summary>
    public void EnsureEnd()
    {
        if (!AtEnd)
        {
            throw Malformed(_position, $"{data.Length - _position} unread bytes");
        }
    }

    private ReadOnlySpan<byte> Take(int n)
    {
        if (n > data.Length - _position)
        {
            throw Malformed(_position, $"{n} bytes wanted, {data.Length - _position} left");
        }

        ReadOnlySpan<byte> span = data.AsSpan(_position, n);
        _position += n;
        return span;
    }

    private InvalidDataException Malformed(int at, string message) => new($"cache {section} section at +0x{at:X}: {message}");
}
