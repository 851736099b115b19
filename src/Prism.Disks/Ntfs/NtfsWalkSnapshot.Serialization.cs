using System.Collections.Immutable;
using System.Runtime.InteropServices;
using Prism.Disks.IO;

namespace Prism.Disks.Ntfs;

/// <summary>
/// The snapshot's binary form, to keep it with a baseline: a <see cref="VarintPayload"/> ("PRSN", version, payload length
/// and XxHash64, then little-endian 7-bit varints and UTF-8 strings: geometry, boot sector, $MFT runs, why records could
/// not be loaded, records, directories with their index nodes). The file list is not stored: it is assembled again on reading.
/// </summary>
public sealed partial class NtfsWalkSnapshot
{
    /// <summary>The format version <see cref="Write"/> writes and <see cref="Read"/> reads.</summary>
    public const int FormatVersion = 1;

    private const uint Magic = 0x4E53_5250; // "PRSN"

    /// <summary>Writes the snapshot to <paramref name="destination"/> (at its position).</summary>
    public void Write(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        VarintPayload.Write(destination, Magic, FormatVersion, w =>
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
        });
    }

    /// <summary>Reads a snapshot <see cref="Write"/> wrote, from <paramref name="source"/>'s position.</summary>
    /// <param name="source">The stream.</param>
    /// <param name="name">Name for error messages (a file path).</param>
    /// <exception cref="InvalidDataException">Not a snapshot, truncated, checksum mismatch, or a value out of range (with its offset).</exception>
    /// <exception cref="NotSupportedException">A snapshot of another format version.</exception>
    public static NtfsWalkSnapshot Read(Stream source, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        return VarintPayload.Read(source, Magic, FormatVersion, name ?? "NTFS walk snapshot", Decode);
    }

    private static NtfsWalkSnapshot Decode(VarintReader r)
    {
        string what = r.What;
        long At() => r.Offset;
        long Long() => r.Long();
        int Int(int max = int.MaxValue) => r.Int(max);
        int Count() => r.Count();
        ImmutableArray<ByteRange> Ranges() => ImmutableCollectionsMarshal.AsImmutableArray(r.Ranges());

        var geometry = new Geometry(Long(), Long(), Int(65536), Int(), Int(65536), r.UInt64());
        byte[] boot = r.Bytes(Int(65536));
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
            failures[Long()] = r.String();
        }

        int recordCount = Count();
        var records = new Dictionary<long, Record>(recordCount);
        for (int i = 0; i < recordCount; i++)
        {
            long at = At();
            long number = Long();
            ushort sequence = (ushort)Int(ushort.MaxValue);
            byte flags = r.Byte();
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
                streams.Add(new NtfsSnapshotStream(r.String(), Long(), r.Boolean(), Ranges()));
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
                    entries.Add(new IndexEntry(r.String(), Long(), (ushort)Int(ushort.MaxValue), Long()));
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

        return new NtfsWalkSnapshot(geometry, runs.MoveToImmutable(), mftRecords, boot, records, directories, failures);
    }

    private static void WriteRanges(BinaryWriter w, ImmutableArray<ByteRange> ranges) => VarintPayload.WriteRanges(w, ranges);
}
