using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;

namespace Prism.Scanner.Signatures;

/// <summary>
/// Writes the compiled signature cache's little-endian fields and arrays to a stream, keeping an XxHash128 of every
/// byte written so that <see cref="WriteChecksum"/> can close the file with it.
/// </summary>
internal sealed class SignatureCacheWriter(Stream stream)
{
    private readonly XxHash128 _digest = new();
    private readonly byte[] _scratch = new byte[1 << 16];

    public long Position { get; private set; }

    public void WriteInt32(int value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, value);
        WriteBytes(b);
    }

    public void WriteInt64(long value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(b, value);
        WriteBytes(b);
    }

    public void WriteString(string value)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(value);
        WriteInt32(utf8.Length);
        WriteBytes(utf8);
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        stream.Write(bytes);
        _digest.Append(bytes);
        Position += bytes.Length;
    }

    /// <summary>Writes a length, then the values little-endian.</summary>
    public void WriteInt32Array(ReadOnlySpan<int> values)
    {
        WriteInt32(values.Length);
        if (BitConverter.IsLittleEndian)
        {
            WriteBytes(MemoryMarshal.AsBytes(values));
            return;
        }

        for (int i = 0; i < values.Length; i += _scratch.Length / 4)
        {
            ReadOnlySpan<int> part = values.Slice(i, Math.Min(_scratch.Length / 4, values.Length - i));
            BinaryPrimitives.ReverseEndianness(part, MemoryMarshal.Cast<byte, int>(_scratch.AsSpan(0, part.Length * 4)));
            WriteBytes(_scratch.AsSpan(0, part.Length * 4));
        }
    }

    public void WriteUInt32Array(ReadOnlySpan<uint> values) => WriteInt32Array(MemoryMarshal.Cast<uint, int>(values));

    /// <summary>Writes a length, then the values little-endian.</summary>
    public void WriteUInt64Array(ReadOnlySpan<ulong> values)
    {
        WriteInt32(values.Length);
        if (BitConverter.IsLittleEndian)
        {
            WriteBytes(MemoryMarshal.AsBytes(values));
            return;
        }

        for (int i = 0; i < values.Length; i += _scratch.Length / 8)
        {
            ReadOnlySpan<ulong> part = values.Slice(i, Math.Min(_scratch.Length / 8, values.Length - i));
            BinaryPrimitives.ReverseEndianness(part, MemoryMarshal.Cast<byte, ulong>(_scratch.AsSpan(0, part.Length * 8)));
            WriteBytes(_scratch.AsSpan(0, part.Length * 8));
        }
    }

    public void WriteByteArray(ReadOnlySpan<byte> values)
    {
        WriteInt32(values.Length);
        WriteBytes(values);
    }

    /// <summary>Ends the file with the XxHash128 of everything written before.</summary>
    public void WriteChecksum()
    {
        Span<byte> digest = stackalloc byte[16];
        _digest.GetHashAndReset(digest);
        stream.Write(digest);
        Position += 16;
    }
}
