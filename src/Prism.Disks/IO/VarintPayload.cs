using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Prism.Disks.IO;

/// <summary>
/// The binary form the kept walks share (<see cref="Guest.GuestWalk"/>, <see cref="Ntfs.NtfsWalkSnapshot"/>): a 24-byte
/// header (a 4-byte signature, a 16-bit format version, 2 reserved bytes, the payload's length as 64 bits and its XxHash64,
/// all little-endian), then a payload of little-endian 7-bit varints and length-prefixed UTF-8 strings
/// (<see cref="BinaryWriter"/>'s encodings), read back by a <see cref="VarintReader"/> whose errors name the offset.
/// </summary>
public static class VarintPayload
{
    /// <summary>Bytes before the payload.</summary>
    public const int HeaderSize = 24;

    private const int VersionOffset = 4, LengthOffset = 8, ChecksumOffset = 16;
    private const long MaxPayload = int.MaxValue - 64;

    /// <summary>Writes the header and the payload <paramref name="write"/> makes to <paramref name="destination"/> (at its position).</summary>
    /// <param name="destination">The stream.</param>
    /// <param name="signature">The 4-byte signature (little-endian, e.g. 0x5747_5250 for "PRGW").</param>
    /// <param name="version">The format version.</param>
    /// <param name="write">Writes the payload.</param>
    public static void Write(Stream destination, uint signature, int version, Action<BinaryWriter> write)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(write);
        using var payload = new MemoryStream();
        using (var w = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true))
        {
            write(w);
        }

        ReadOnlySpan<byte> body = payload.GetBuffer().AsSpan(0, (int)payload.Length);
        Span<byte> header = stackalloc byte[HeaderSize];
        header.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(header, signature);
        BinaryPrimitives.WriteUInt16LittleEndian(header[VersionOffset..], (ushort)version);
        BinaryPrimitives.WriteInt64LittleEndian(header[LengthOffset..], body.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(header[ChecksumOffset..], XxHash64.HashToUInt64(body));
        destination.Write(header);
        destination.Write(body);
    }

    /// <summary>Writes a count then each range's offset and length.</summary>
    public static void WriteRanges(BinaryWriter writer, IReadOnlyList<ByteRange> ranges)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(ranges);
        writer.Write7BitEncodedInt(ranges.Count);
        foreach (ByteRange r in ranges)
        {
            writer.Write7BitEncodedInt64(r.Offset);
            writer.Write7BitEncodedInt64(r.Length);
        }
    }

    /// <summary>
    /// Reads a header and its payload from <paramref name="source"/>'s position and decodes the payload with
    /// <paramref name="decode"/>, which must read it to its end.
    /// </summary>
    /// <param name="source">The stream.</param>
    /// <param name="signature">The expected signature.</param>
    /// <param name="version">The format version this reader knows.</param>
    /// <param name="what">Names the data in error messages.</param>
    /// <param name="decode">Decodes the payload.</param>
    /// <exception cref="InvalidDataException">Another signature, a truncated or damaged payload, a value out of range (with its offset).</exception>
    /// <exception cref="NotSupportedException">Another format version.</exception>
    public static T Read<T>(Stream source, uint signature, int version, string what, Func<VarintReader, T> decode)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(what);
        ArgumentNullException.ThrowIfNull(decode);
        Span<byte> header = stackalloc byte[HeaderSize];
        if (source.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false) < HeaderSize)
        {
            throw new InvalidDataException($"{what}: shorter than its {HeaderSize}-byte header");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != signature)
        {
            Span<byte> text = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(text, signature);
            throw new InvalidDataException($"{what}: no \"{Encoding.ASCII.GetString(text)}\" signature at offset 0x0");
        }

        int found = BinaryPrimitives.ReadUInt16LittleEndian(header[VersionOffset..]);
        if (found != version)
        {
            throw new NotSupportedException($"{what}: format version {found} at offset 0x{VersionOffset:X}, this reader knows {version}");
        }

        long length = BinaryPrimitives.ReadInt64LittleEndian(header[LengthOffset..]);
        if (length < 0 || length > MaxPayload)
        {
            throw new InvalidDataException($"{what}: payload length {length} at offset 0x{LengthOffset:X} out of range");
        }

        byte[] body = new byte[length];
        if (source.ReadAtLeast(body, body.Length, throwOnEndOfStream: false) < body.Length)
        {
            throw new InvalidDataException($"{what}: truncated, the header announces a {length}-byte payload");
        }

        if (XxHash64.HashToUInt64(body) != BinaryPrimitives.ReadUInt64LittleEndian(header[ChecksumOffset..]))
        {
            throw new InvalidDataException($"{what}: payload checksum mismatch (header offset 0x{ChecksumOffset:X})");
        }

        try
        {
            using var reader = new VarintReader(body, what);
            T value = decode(reader);
            if (reader.Remaining != 0)
            {
                throw new InvalidDataException($"{what}: {reader.Remaining} bytes after the end of the data at offset 0x{reader.Offset:X}");
            }

            return value;
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException($"{what}: payload ends inside a value", ex);
        }
        catch (FormatException ex)
        {
            throw new InvalidDataException($"{what}: bad varint or string in the payload: {ex.Message}", ex);
        }
    }
}

/// <summary>
/// Reads a <see cref="VarintPayload"/> payload: varints checked against their range, counts checked against the bytes
/// left, strings; every error names the data and the offset (from the start of the header).
/// </summary>
public sealed class VarintReader : IDisposable
{
    private readonly byte[] _body;
    private readonly BinaryReader _reader;

    internal VarintReader(byte[] body, string what)
    {
        _body = body;
        What = what;
        _reader = new BinaryReader(new MemoryStream(body, writable: false), Encoding.UTF8);
    }

    /// <summary>Names the data in error messages.</summary>
    public string What { get; }

    /// <summary>The offset of the next value, from the start of the header.</summary>
    public long Offset => VarintPayload.HeaderSize + _reader.BaseStream.Position;

    /// <summary>Bytes left in the payload.</summary>
    public long Remaining => _body.Length - _reader.BaseStream.Position;

    /// <summary>The position in the payload (to slice a nested form out of it).</summary>
    public int Position
    {
        get => (int)_reader.BaseStream.Position;
        set => _reader.BaseStream.Position = value;
    }

    /// <summary>The payload (to read a nested form from it).</summary>
    public byte[] Payload => _body;

    /// <summary>A varint of at least <paramref name="min"/>.</summary>
    public long Long(long min = 0)
    {
        long at = Offset;
        long v = _reader.Read7BitEncodedInt64();
        return v >= min ? v : throw new InvalidDataException($"{What}: value {v} at offset 0x{at:X} below {min}");
    }

    /// <summary>A varint in [0, <paramref name="max"/>].</summary>
    public int Int(int max = int.MaxValue)
    {
        long at = Offset;
        int v = _reader.Read7BitEncodedInt();
        return v >= 0 && v <= max ? v : throw new InvalidDataException($"{What}: value {v} at offset 0x{at:X} outside [0, {max}]");
    }

    /// <summary>A count of items of at least one byte each: no more than the bytes left.</summary>
    public int Count() => Int((int)Math.Min(int.MaxValue, Remaining));

    /// <summary>Ranges as <see cref="VarintPayload.WriteRanges"/> wrote them.</summary>
    public ByteRange[] Ranges()
    {
        var ranges = new ByteRange[Count()];
        for (int i = 0; i < ranges.Length; i++)
        {
            ranges[i] = new ByteRange(Long(), Long());
        }

        return ranges;
    }

    /// <summary>A length-prefixed UTF-8 string.</summary>
    public string String() => _reader.ReadString();

    /// <summary>One byte.</summary>
    public byte Byte() => _reader.ReadByte();

    /// <summary>A boolean byte.</summary>
    public bool Boolean() => _reader.ReadBoolean();

    /// <summary>A little-endian 32-bit integer.</summary>
    public uint UInt32() => _reader.ReadUInt32();

    /// <summary>A little-endian 64-bit integer.</summary>
    public ulong UInt64() => _reader.ReadUInt64();

    /// <summary><paramref name="count"/> bytes.</summary>
    public byte[] Bytes(int count) => _reader.ReadBytes(count);

    /// <inheritdoc />
    public void Dispose() => _reader.Dispose();
}
