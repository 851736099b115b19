using System.Buffers.Binary;
using System.Collections.Immutable;
using System.IO.Hashing;
using System.Text;
using Prism.Disks.IO;

namespace Prism.Disks.Ntfs;

/// <summary>
/// The snapshot's binary form, to keep it with a baseline: a 24-byte header ("PRSN", version, payload length), a payload
/// of little-endian 7-bit varints and UTF-8 strings (geometry, boot sector, $MFT runs, records, directories with their
/// index nodes, why records could not be loaded), and the payload's XxHash64. The file list is not stored: it is assembled again on reading.
/// </summary>
public sealed partial class NtfsWalkSnapshot
{
    /// <summary>The format version <see cref="Write"/> writes and <see cref="Read"/> reads.</summary>
    public const int FormatVersion = 1;

    private const uint Magic = 0x4E53_5250; // "PRSN"
    private const int HeaderSize = 24;
    private const long MaxPayload = int.MaxValue - 64;

    private static class HeaderOffsets
    {
        public const int Magic = 0, Version = 4, Reserved = 6, PayloadLength = 8, Checksum = 16;
    }

    /// <summary>Writes the snapshot to <paramref name="destination"/> (at its position).</summary>
    public void Write(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var payload = new MemoryStream();
        using (var w = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true))
        {
            w.Write7BitEncodedInt64(Volume.DiskOffset);
            w.Write7BitEncodedInt64(Volume.VolumeSize);
            w.Write7BitEncodedInt(Volume.BytesPerSector);
            w.Write7BitEncodedInt(Volume.ClusterSize);
            w.Write7BitEncodedInt(Volume.MftRecordSize);
            w.Write(Volume.SerialNumber);
            w.Write7BitEncodedInt(BootSector.Length);
            w.Write(BootSector);
            w.Write7BitEncodedInt64(MftRecordCount);
            w.Write7BitEncodedInt(MftRuns.Length);
            foreach (DataRun run in MftRuns)
            {
                w.Write7BitEncodedInt64(run.Vcn);
                w.Write7BitEncodedInt64(run.Lcn + 1);
                w.Write7BitEncodedInt64(run.ClusterCount);
            }

            w.Write7BitEncodedInt(Failures.Count);
            foreach ((long number, string reason) in Failures.OrderBy(f => f.Key))
            {
                w.Write7BitEncodedInt64(number);
                w.Write(reason);
            }

            w.Write7BitEncodedInt(Records.Count);
            foreach (Record r in Records.Values.OrderBy(r => r.Number))
            {
                w.Write7BitEncodedInt64(r.Number);
                w.Write7BitEncodedInt(r.Sequence);
                w.Write((byte)((r.IsDirectory ? 1 : 0) | (r.IsReparsePoint ? 2 : 0)));
                w.Write7BitEncodedInt(r.Extensions.Length);
                foreach (long extension in r.Extensions)
                {
                    w.Write7BitEncodedInt64(extension);
                }

                WriteRanges(w, r.AttributeListRanges);
                WriteRanges(w, r.MftRecords);
                w.Write7BitEncodedInt(r.Streams.Length);
                foreach (NtfsSnapshotStream s in r.Streams)
                {
                    w.Write(s.Name);
                    w.Write7BitEncodedInt64(s.Size);
                    w.Write(s.IsResident);
                    WriteRanges(w, s.Ranges);
                }
            }

            w.Write7BitEncodedInt(Directories.Count);
            foreach (Directory d in Directories.Values.OrderBy(d => d.Number))
            {
                w.Write7BitEncodedInt64(d.Number);
                WriteRanges(w, d.BitmapRanges);
                w.Write7BitEncodedInt(d.Nodes.Length);
                foreach (IndexNode n in d.Nodes)
                {
                    w.Write7BitEncodedInt64(n.Vcn + 1);
                    WriteRanges(w, n.Ranges);
                    w.Write7BitEncodedInt(n.Entries.Length);
                    foreach (IndexEntry e in n.Entries)
                    {
                        w.Write(e.Name);
                        w.Write7BitEncodedInt64(e.RecordNumber);
                        w.Write7BitEncodedInt(e.Sequence);
                        w.Write7BitEncodedInt64(e.ParentRecordNumber);
                    }

                    w.Write7BitEncodedInt(n.Subnodes.Length);
                    foreach (long vcn in n.Subnodes)
                    {
                        w.Write7BitEncodedInt64(vcn);
                    }
                }
            }
        }

        ReadOnlySpan<byte> body = payload.GetBuffer().AsSpan(0, (int)payload.Length);
        Span<byte> header = stackalloc byte[HeaderSize];
        header.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(header[HeaderOffsets.Magic..], Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(header[HeaderOffsets.Version..], FormatVersion);
        BinaryPrimitives.WriteInt64LittleEndian(header[HeaderOffsets.PayloadLength..], body.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(header[HeaderOffsets.Checksum..], XxHash64.HashToUInt64(body));
        destination.Write(header);
        destination.Write(body);
    }

    /// <summary>Reads a snapshot <see cref="Write"/> wrote, from <paramref name="source"/>'s position.</summary>
    /// <param name="source">The stream.</param>
    /// <param name="name">Name for error messages (a file path).</param>
    /// <exception cref="InvalidDataException">Not a snapshot, truncated, checksum mismatch, or a value out of range (with its offset).</exception>
    /// <exception cref="NotSupportedException">A snapshot of another format version.</exception>
    public static NtfsWalkSnapshot Read(Stream source, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        string what = name ?? "NTFS walk snapshot";
        Span<byte> header = stackalloc byte[HeaderSize];
        if (source.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false) < HeaderSize)
        {
            throw new InvalidDataException($"{what}: shorter than its {HeaderSize}-byte header");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(header[HeaderOffsets.Magic..]) != Magic)
        {
            throw new InvalidDataException($"{what}: no \"PRSN\" signature at offset 0x0");
        }

        int version = BinaryPrimitives.ReadUInt16LittleEndian(header[HeaderOffsets.Version..]);
        if (version != FormatVersion)
        {
            throw new NotSupportedException($"{what}: format version {version} at offset 0x{HeaderOffsets.Version:X}, this reader knows {FormatVersion}");
        }

        long length = BinaryPrimitives.ReadInt64LittleEndian(header[HeaderOffsets.PayloadLength..]);
        if (length < 0 || length > MaxPayload)
        {
            throw new InvalidDataException($"{what}: payload length {length} at offset 0x{HeaderOffsets.PayloadLength:X} out of range");
        }

        byte[] body = new byte[length];
        if (source.ReadAtLeast(body, body.Length, throwOnEndOfStream: false) < body.Length)
        {
            throw new InvalidDataException($"{what}: truncated, the header announces a {length}-byte payload");
        }

        ulong checksum = BinaryPrimitives.ReadUInt64LittleEndian(header[HeaderOffsets.Checksum..]);
        if (XxHash64.HashToUInt64(body) != checksum)
        {
            throw new InvalidDataException($"{what}: payload checksum mismatch (header offset 0x{HeaderOffsets.Checksum:X})");
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

    private static NtfsWalkSnapshot Decode(byte[] body, string what)
    {
        using var r = new BinaryReader(new MemoryStream(body, writable: false), Encoding.UTF8);
        long At() => HeaderSize + r.BaseStream.Position;
        long Long(long min = 0)
        {
            long at = At();
            long v = r.Read7BitEncodedInt64();
            return v >= min ? v : throw new InvalidDataException($"{what}: value {v} at offset 0x{at:X} below {min}");
        }

        int Int(int max = int.MaxValue)
        {
            long at = At();
            int v = r.Read7BitEncodedInt();
            return v >= 0 && v <= max ? v : throw new InvalidDataException($"{what}: value {v} at offset 0x{at:X} outside [0, {max}]");
        }

        // A count of items of at least one byte each cannot exceed the bytes left.
        int Count() => Int((int)Math.Min(int.MaxValue, body.Length - r.BaseStream.Position));

        ImmutableArray<ByteRange> Ranges()
        {
            var ranges = ImmutableArray.CreateBuilder<ByteRange>(Count());
            for (int i = 0; i < ranges.Capacity; i++)
            {
                ranges.Add(new ByteRange(Long(), Long()));
            }

            return ranges.MoveToImmutable();
        }

        var geometry = new Geometry(Long(), Long(), Int(65536), Int(), Int(65536), r.ReadUInt64());
        byte[] boot = r.ReadBytes(Int(65536));
        long mftRecords = Long();
        var runs = ImmutableArray.CreateBuilder<DataRun>(Count());
        for (int i = 0; i < runs.Capacity; i++)
        {
            runs.Add(new DataRun(Long(), Long() - 1, Long()));
        }

        int failureCount = Count();
        var failures = new Dictionary<long, string>(failureCount);
        for (int i = 0; i < failureCount; i++)
        {
            failures[Long()] = r.ReadString();
        }

        int recordCount = Count();
        var records = new Dictionary<long, Record>(recordCount);
        for (int i = 0; i < recordCount; i++)
        {
            long at = At();
            long number = Long();
            ushort sequence = (ushort)Int(ushort.MaxValue);
            byte flags = r.ReadByte();
            var extensions = ImmutableArray.CreateBuilder<long>(Count());
            for (int k = 0; k < extensions.Capacity; k++)
            {
                extensions.Add(Long());
            }

            ImmutableArray<ByteRange> listRanges = Ranges();
            ImmutableArray<ByteRange> mftRanges = Ranges();
            var streams = ImmutableArray.CreateBuilder<NtfsSnapshotStream>(Count());
            for (int k = 0; k < streams.Capacity; k++)
            {
                streams.Add(new NtfsSnapshotStream(r.ReadString(), Long(), r.ReadBoolean(), Ranges()));
            }

            if (!records.TryAdd(number, new Record(number, sequence, (flags & 1) != 0, (flags & 2) != 0, extensions.MoveToImmutable(), listRanges,
                mftRanges, streams.MoveToImmutable())))
            {
                throw new InvalidDataException($"{what}: record {number} at offset 0x{at:X} is listed twice");
            }
        }

        int directoryCount = Count();
        var directories = new Dictionary<long, Directory>(directoryCount);
        for (int i = 0; i < directoryCount; i++)
        {
            long at = At();
            long number = Long();
            ImmutableArray<ByteRange> bitmap = Ranges();
            var nodes = ImmutableArray.CreateBuilder<IndexNode>(Count());
            for (int k = 0; k < nodes.Capacity; k++)
            {
                long vcn = Long() - 1;
                ImmutableArray<ByteRange> ranges = Ranges();
                var entries = ImmutableArray.CreateBuilder<IndexEntry>(Count());
                for (int e = 0; e < entries.Capacity; e++)
                {
                    entries.Add(new IndexEntry(r.ReadString(), Long(), (ushort)Int(ushort.MaxValue), Long()));
                }

                var subnodes = ImmutableArray.CreateBuilder<long>(Count());
                for (int s = 0; s < subnodes.Capacity; s++)
                {
                    subnodes.Add(Long());
                }

                nodes.Add(new IndexNode(vcn, ranges, entries.MoveToImmutable(), subnodes.MoveToImmutable()));
            }

            if (!directories.TryAdd(number, new Directory(number, bitmap, nodes.MoveToImmutable())))
            {
                throw new InvalidDataException($"{what}: directory {number} at offset 0x{at:X} is listed twice");
            }
        }

        if (r.BaseStream.Position != body.Length)
        {
            throw new InvalidDataException($"{what}: {body.Length - r.BaseStream.Position} bytes after the last directory (offset 0x{At():X})");
        }

        return new NtfsWalkSnapshot(geometry, runs.MoveToImmutable(), mftRecords, boot, records, directories, failures);
    }

    private static void WriteRanges(BinaryWriter w, ImmutableArray<ByteRange> ranges)
    {
        w.Write7BitEncodedInt(ranges.Length);
        foreach (ByteRange range in ranges)
        {
            w.Write7BitEncodedInt64(range.Offset);
            w.Write7BitEncodedInt64(range.Length);
        }
    }
}
