using Prism.Disks.IO;
using Prism.Disks.Ntfs;

namespace Prism.Disks.Guest;

/// <summary>
/// The walk's binary form, to keep it with a golden's baseline: a <see cref="VarintPayload"/> ("PRGW", version, payload
/// length and XxHash64, then little-endian 7-bit varints and UTF-8 strings): file system, disk offset, the
/// files (path, identity, type, size, metadata ranges, name range, streams with their ranges), the metadata and replayed
/// ranges, the errors, and the file system's state (kind 0: none; kind 1: an <see cref="NtfsWalkSnapshot"/> in its own form).
/// </summary>
public sealed partial class GuestWalk
{
    /// <summary>The format version <see cref="Write"/> writes and <see cref="Read"/> reads.</summary>
    public const int FormatVersion = 1;

    private const uint Magic = 0x5747_5250; // "PRGW"
    private const int StateNone = 0, StateNtfs = 1;

    /// <summary>Writes the walk to <paramref name="destination"/> (at its position).</summary>
    /// <exception cref="NotSupportedException">The walk keeps a state of a kind this format does not know.</exception>
    public void Write(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (State is not (null or NtfsWalkSnapshot))
        {
            throw new NotSupportedException($"a walk state of type {State.GetType().Name} cannot be written");
        }

        VarintPayload.Write(destination, Magic, FormatVersion, w =>
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
                VarintPayload.WriteRanges(w, f.Metadata);
                w.Write7BitEncodedInt64(f.NameRange.Offset);
                w.Write7BitEncodedInt64(f.NameRange.Length);
                w.Write7BitEncodedInt(f.Streams.Count);
                foreach (GuestWalkStream s in f.Streams)
                {
                    w.Write(s.Name);
                    w.Write7BitEncodedInt64(s.Size);
                    w.Write(s.IsResident);
                    VarintPayload.WriteRanges(w, s.Content);
                }
            }

            VarintPayload.WriteRanges(w, Metadata);
            VarintPayload.WriteRanges(w, Replayed);
            w.Write7BitEncodedInt(Errors.Count);
            foreach (string e in Errors)
            {
                w.Write(e);
            }

            if (State is NtfsWalkSnapshot snapshot)
            {
                w.Write7BitEncodedInt(StateNtfs);
                using var state = new MemoryStream();
                snapshot.Write(state);
                w.Write7BitEncodedInt64(state.Length);
                w.Write(state.GetBuffer(), 0, (int)state.Length);
            }
            else
            {
                w.Write7BitEncodedInt(StateNone);
            }
        });
    }

    /// <summary>Reads a walk <see cref="Write"/> wrote, from <paramref name="source"/>'s position.</summary>
    /// <param name="source">The stream.</param>
    /// <param name="name">Name for error messages (a store, a file path).</param>
    /// <exception cref="InvalidDataException">Not a walk, truncated, checksum mismatch, or a value out of range (with its offset).</exception>
    /// <exception cref="NotSupportedException">A walk of another format version.</exception>
    public static GuestWalk Read(Stream source, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        return VarintPayload.Read(source, Magic, FormatVersion, name ?? "guest walk", Decode);
    }

    private static GuestWalk Decode(VarintReader r)
    {
        string what = r.What;
        var fileSystem = (GuestFileSystem)r.Int();
        if (!Enum.IsDefined(fileSystem))
        {
            throw new InvalidDataException($"{what}: unknown file system {(int)fileSystem} at offset 0x{VarintPayload.HeaderSize:X}");
        }

        long diskOffset = r.Long();
        var files = new GuestWalkFile[r.Count()];
        for (int i = 0; i < files.Length; i++)
        {
            string path = r.String();
            long id = r.Long();
            uint generation = r.UInt32();
            long typeAt = r.Offset;
            var type = (GuestFileType)r.Int();
            if (!Enum.IsDefined(type))
            {
                throw new InvalidDataException($"{what}: unknown file type {(int)type} at offset 0x{typeAt:X}");
            }

            long size = r.Long();
            ByteRange[] metadata = r.Ranges();
            var nameRange = new ByteRange(r.Long(), r.Long());
            var streams = new GuestWalkStream[r.Count()];
            for (int s = 0; s < streams.Length; s++)
            {
                streams[s] = new GuestWalkStream(r.String(), r.Long(), r.Boolean(), r.Ranges());
            }

            files[i] = new GuestWalkFile(path, id, generation, type, size, metadata, nameRange, streams);
        }

        ByteRange[] allMetadata = r.Ranges();
        ByteRange[] replayed = r.Ranges();
        string[] errors = new string[r.Count()];
        for (int i = 0; i < errors.Length; i++)
        {
            errors[i] = r.String();
        }

        long kindAt = r.Offset;
        object? state;
        switch (r.Int())
        {
            case StateNone:
                state = null;
                break;
            case StateNtfs:
                long length = r.Long();
                if (length > r.Remaining)
                {
                    throw new InvalidDataException($"{what}: NTFS state of {length} bytes at offset 0x{r.Offset:X} runs past the payload");
                }

                state = NtfsWalkSnapshot.Read(new MemoryStream(r.Payload, r.Position, (int)length, writable: false), what + " (NTFS state)");
                r.Position += (int)length;
                break;
            default:
                throw new InvalidDataException($"{what}: unknown state kind at offset 0x{kindAt:X}");
        }

        return new GuestWalk(fileSystem, diskOffset, files, allMetadata, replayed, errors, state);
    }
}
