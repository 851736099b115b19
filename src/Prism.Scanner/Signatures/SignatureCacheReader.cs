using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;

namespace Prism.Scanner.Signatures;

/// <summary>
/// Reads what <see cref="SignatureCacheWriter"/> wrote, bounds-checking every length against the bytes left (a
/// truncated or altered file throws <see cref="InvalidDataException"/> naming the offset) and hashing every byte read
/// so that <see cref="VerifyChecksum"/> can compare with the file's closing XxHash128.
/// </summary>
internal sealed class SignatureCacheReader(Stream stream, long length)
{
    private readonly XxHash128 _digest = new();

    public long Position { get; private set; }

    private long Remaining => length - 16 - Position;

    public int ReadInt32()
    {
        Span<byte> b = stackalloc byte[4];
        ReadBytes(b);
        return BinaryPrimitives.ReadInt32LittleEndian(b);
    }

    public long ReadInt64()
    {
        Span<byte> b = stackalloc byte[8];
        ReadBytes(b);
        return BinaryPrimitives.ReadInt64LittleEndian(b);
    }

    /// <summary>A count or length field: non-negative and at most <paramref name="max"/>.</summary>
    public int ReadCount(long max, string what)
    {
        long at = Position;
        int n = ReadInt32();
        return n < 0 || n > max ? throw new InvalidDataException($"{what} at 0x{at:X}: {n} is out of range") : n;
    }

    public string ReadString()
    {
        int n = ReadCount(Remaining, "string length");
        byte[] utf8 = new byte[n];
        ReadBytes(utf8);
        return Encoding.UTF8.GetString(utf8);
    }

    public void ReadBytes(Span<byte> destination)
    {
        if (destination.Length > Remaining)
        {
            throw new InvalidDataException($"cache at 0x{Position:X}: {destination.Length} bytes wanted, {Math.Max(0, Remaining)} left");
        }

        stream.ReadExactly(destination);
        _digest.Append(destination);
        Position += destination.Length;
    }

    public int[] ReadInt32Array(string what)
    {
        int n = ReadCount(Remaining / 4, what);
        var values = new int[n];
        ReadBytes(MemoryMarshal.AsBytes(values.AsSpan()));
        if (!BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.ReverseEndianness(values, values);
        }

        return values;
    }

    public uint[] ReadUInt32Array(string what)
    {
        int n = ReadCount(Remaining / 4, what);
        var values = new uint[n];
        ReadBytes(MemoryMarshal.AsBytes(values.AsSpan()));
        if (!BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.ReverseEndianness(values, values);
        }

        return values;
    }

    public ulong[] ReadUInt64Array(string what)
    {
        int n = ReadCount(Remaining / 8, what);
        var values = new ulong[n];
        ReadBytes(MemoryMarshal.AsBytes(values.AsSpan()));
        if (!BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.ReverseEndianness(values, values);
        }

        return values;
    }

    public byte[] ReadByteArray(string what)
    {
        int n = ReadCount(Remaining, what);
        var values = new byte[n];
        ReadBytes(values);
        return values;
    }

    /// <summary>Throws <see cref="InvalidDataException"/> unless the closing XxHash128 equals the hash of everything read.</summary>
    public void VerifyChecksum()
    {
        if (Remaining != 0)
        {
            throw new InvalidDataException($"cache at 0x{Position:X}: {Remaining} unread bytes before the checksum");
        }

        Span<byte> expected = stackalloc byte[16];
        Span<byte> actual = stackalloc byte[16];
        stream.ReadExactly(expected);
        _digest.GetHashAndReset(actual);
        if (!expected.SequenceEqual(actual))
        {
            throw new InvalidDataException($"cache checksum at 0x{Position:X} does not match its content");
        }
    }
}
