using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Prism.Disks.IO;
using Prism.Disks.Ntfs;

namespace Prism.Disks.Guest;

/// <summary>
/// The walk's binary form, to keep it with a golden's baseline: a 24-byte header ("PRGW", version, payload length,
/// payload XxHash64), then a payload of little-endian 7-bit varints and UTF-8 strings: file system, disk offset, the
/// files (path, identity, type, size, metadata ranges, name range, streams with their ranges), the metadata and replayed
/// ranges, the errors, and the file system's state (kind 0: none; kind 1: an <see cref="NtfsWalkSnapshot"/> in its own form).
/// </summary>
public sealed partial class GuestWalk
{
    /// <summary>The format version <see cref="Write"/> writes and <see cref="Read"/> reads.</summary>
    public const int FormatVersion = 1;

    private const uint Magic = 0x5747_5250; // "PRGW"
    private const int HeaderSize = 24;
    private const int HeaderVersion = 4, HeaderLength = 8, HeaderChecksum = 16;
    private const int StateNone = 0, StateNtfs = 1;

    /// <summary>Writes the walk to <paramref name="destination"/> (at its position).</summary>
    /// <exception cref="NotSupportedException">The walk keeps a state of a kind this format does not know.</exception>
    public void Write(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var payload = new MemoryStream();
        using (var w = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true))
        {
            w.Write7BitEncodedInt((int)FileSystem);
            w.Write7BitEncodedInt64(DiskOffset);
            w.Write7BitEncodedInt(Files.Count);
            foreach (GuestWalkFile f in Files)
            {
                w.Write(f.Path);
                w.Write7BitEncodedInt64(f.Id);
                w.Write(f.Generation);
                w.Write7BitEncodedInt((int)f.Type);
                w.Write7BitEncodedInt64(f.Size);
                WriteRanges(w, f.Metadata);
                w.Write7BitEncodedInt64(f.NameRange.Offset);
                w.Write7BitEncodedInt64(f.NameRange.Length);
                w.Write7BitEncodedInt(f.Streams.Count);
                foreach (GuestWalkStream s in f.Streams)
                {
                    w.Write(s.Name);
                    w.Write7BitEncodedInt64(s.Size);
                    w.Write(s.IsResident);
                    WriteRanges(w, s.Content);
                }
            }

            WriteRanges(w, Metadata);
            WriteRanges(w, Replayed);
            w.Write7BitEncodedInt(Errors.Count);
            foreach (string e in Errors)
            {
                w.Write(e);
            }

            switch (State)
            {
                case null:
                    w.Write7BitEncodedInt(StateNone);
                    break;
                case NtfsWalkSnapshot snapshot:
                    w.Write7BitEncodedInt(StateNtfs);
                    using (var state = new MemoryStream())
                    {
                        snapshot.Write(state);
                        w.Write7BitEncodedInt64(state.Length);
                        w.Write(state.GetBuffer(), 0, (int)state.Length);
                    }

                    break;
                default:
                    throw new NotSupportedException($"a walk state of type {State.GetType().Name} cannot be written");
            }
        }

        ReadOnlySpan<byte> body = payload.GetBuffer().AsSpan(0, (int)payload.Length);
        Span<byte> header = stackalloc byte[HeaderSize];
        header.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(header[HeaderVersion..], FormatVersion);
        BinaryPrimitives.WriteInt64LittleEndian(header[HeaderLength..], body.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(header[HeaderChecksum..], XxHash64.HashToUInt64(body));
        destination.Write(header);
        destination.Write(body);
    }

    /// <summary>Reads a walk <see cref="Write"/> wrote, from <paramref name="source"/>'s position.</summary>
    /// <param name="source">The stream.</param>
    /// <param name="name">Name for error messages (a store, a file path).</param>
    /// <exception cref="InvalidDataException">Not a walk, truncated, checksum mismatch, or a value out of range (with its offset).</exception>
    /// <exception cref="NotSupportedException">A walk of another format version.</exception>
    public static GuestWalk Read(Stream source, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        string what = name ?? "guest walk";
        Span<byte> header = stackalloc byte[HeaderSize];
        if (source.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false) < HeaderSize)
        {
            throw new InvalidDataException($"{what}: shorter than its {HeaderSize}-byte header");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
        {
            throw new InvalidDataException($"{what}: no \"PRGW\" signature at offset 0x0");
        }

        int version = BinaryPrimitives.ReadUInt16LittleEndian(header[HeaderVersion..]);
        if (version != FormatVersion)
        {
            throw new NotSupportedException($"{what}: format version {version} at offset 0x{HeaderVersion:X}, this reader knows {FormatVersion}");
        }

        long length = BinaryPrimitives.ReadInt64LittleEndian(header[HeaderLength..]);
        if (length < 0 || length > int.MaxValue - 64)
        {
            throw new InvalidDataException($"{what}: payload length {length} at offset 0x{HeaderLength:X} out of range");
        }

        byte[] body = new byte[length];
        if (source.ReadAtLeast(body, body.Length, throwOnEndOfStream: false) < body.Length)
        {
            throw new InvalidDataException($"{what}: truncated, the header announces a {length}-byte payload");
        }

        if (XxHash64.HashToUInt64(body) != BinaryPrimitives.ReadUInt64LittleEndian(header[HeaderChecksum..]))
        {
            throw new InvalidDataException($"{what}: payload checksum mismatch (header offset 0x{HeaderChecksum:X})");
        }

        try
        {
            return Decode(body, what);
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

    private static void WriteRanges(BinaryWriter w, IReadOnlyList<ByteRange> ranges)
    {
        w.Write7BitEncodedInt(ranges.Count);
        foreach (ByteRange r in ranges)
        {
            w.Write7BitEncodedInt64(r.Offset);
            w.Write7BitEncodedInt64(r.Length);
        }
    }

    private static GuestWalk Decode(byte[] body, string what)
    {
        using var r = new BinaryReader(new MemoryStream(body, writable: false), Encoding.UTF8);
        long At() => HeaderSize + r.BaseStream.Position;
        long Long()
        {
            long at = At();
            long v = r.Read7BitEncodedInt64();
            return v >= 0 ? v : throw new InvalidDataException($"{what}: negative value {v} at offset 0x{at:X}");
        }

        int Int(int max)
        {
            long at = At();
            int v = r.Read7BitEncodedInt();
            return v >= 0 && v <= max ? v : throw new InvalidDataException($"{what}: value {v} at offset 0x{at:X} outside [0, {max}]");
        }

        // A count of items of at least one byte each cannot exceed the bytes left.
        int Count() => Int((int)Math.Min(int.MaxValue, body.Length - r.BaseStream.Position));
        ByteRange[] Ranges()
        {
            var ranges = new ByteRange[Count()];
            for (int i = 0; i < ranges.Length; i++)
            {
                ranges[i] = new ByteRange(Long(), Long());
            }

            return ranges;
        }

        var fileSystem = (GuestFileSystem)Int(int.MaxValue);
        if (!Enum.IsDefined(fileSystem))
        {
            throw new InvalidDataException($"{what}: unknown file system {(int)fileSystem} at offset 0x{HeaderSize:X}");
        }

        long diskOffset = Long();
        var files = new GuestWalkFile[Count()];
        for (int i = 0; i < files.Length; i++)
        {
            string path = r.ReadString();
            long id = Long();
            uint generation = r.ReadUInt32();
            long typeAt = At();
            var type = (GuestFileType)Int(int.MaxValue);
            if (!Enum.IsDefined(type))
            {
                throw new InvalidDataException($"{what}: unknown file type {(int)type} at offset 0x{typeAt:X}");
            }

            long size = Long();
            ByteRange[] metadata = Ranges();
            var nameRange = new ByteRange(Long(), Long());
            var streams = new GuestWalkStream[Count()];
            for (int s = 0; s < streams.Length; s++)
            {
                streams[s] = new GuestWalkStream(r.ReadString(), Long(), r.ReadBoolean(), Ranges());
            }

            files[i] = new GuestWalkFile(path, id, generation, type, size, metadata, nameRange, streams);
        }

        ByteRange[] allMetadata = Ranges();
        ByteRange[] replayed = Ranges();
        string[] errors = new string[Count()];
        for (int i = 0; i < errors.Length; i++)
        {
            errors[i] = r.ReadString();
        }

        long kindAt = At();
        object? state;
        switch (Int(int.MaxValue))
        {
            case StateNone:
                state = null;
                break;
            case StateNtfs:
                long length = Long();
                if (length > body.Length - r.BaseStream.Position)
                {
                    throw new InvalidDataException($"{what}: NTFS state of {length} bytes at offset 0x{At():X} runs past the payload");
                }

                state = NtfsWalkSnapshot.Read(new MemoryStream(body, (int)r.BaseStream.Position, (int)length, writable: false), what + " (NTFS state)");
                r.BaseStream.Position += length;
                break;
            default:
                throw new InvalidDataException($"{what}: unknown state kind at offset 0x{kindAt:X}");
        }

        if (r.BaseStream.Position != body.Length)
        {
            throw new InvalidDataException($"{what}: {body.Length - r.BaseStream.Position} bytes after the walk at offset 0x{At():X}");
        }

        return new GuestWalk(fileSystem, diskOffset, files, allMetadata, replayed, errors, state);
    }
}
