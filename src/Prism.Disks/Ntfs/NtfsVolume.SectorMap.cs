using System.Collections.Immutable;
using Prism.Disks.IO;

namespace Prism.Disks.Ntfs;

/// <summary>Sector maps: where a file's MFT records and stream contents lie on the underlying disk.</summary>
public sealed partial class NtfsVolume
{
    [ThreadStatic]
    private static SectorMapBuffer? t_extents;

    /// <summary>
    /// The sector map of a file, in bytes of the underlying disk (volume offset + <see cref="DiskOffset"/>):
    /// its MFT records (base and extensions) and, per stream, the clusters holding content (sparse runs and clusters
    /// past the data size excluded) or the resident value inside its record. Needs no I/O.
    /// </summary>
    public NtfsFileExtents GetExtents(NtfsFileEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        SectorMapBuffer map = t_extents ??= new SectorMapBuffer();
        Map(entry, map);
        var streams = new NtfsStreamExtents[entry.StreamCount];
        for (int i = 0; i < streams.Length; i++)
        {
            NtfsAttribute s = entry.StreamData(i);
            streams[i] = new NtfsStreamExtents(s.Name, s.IsResident, map.Segment(i + 1).ToArray());
        }

        return new NtfsFileExtents(map.Segment(0).ToArray(), streams);
    }

    // The map of an entry: segment 0 its records, then one segment per stream in Streams order.
    internal void Map(NtfsFileEntry entry, SectorMapBuffer map)
    {
        map.Clear();
        long at = AppendRecord(entry.RecordNumber, map);
        foreach (long extension in entry.ExtensionRecordNumbers)
        {
            AppendRecord(extension, map);
        }

        map.EndSegment();
        for (int i = 0; i < entry.StreamCount; i++)
        {
            NtfsAttribute s = entry.StreamData(i);
            AppendStream(s.IsResident, s.RecordNumber, s.RecordNumber == entry.RecordNumber ? at : -1, s.ValueOffset, s.DataSize, s.IsCompressed,
                s.CompressionUnitLog2, s.Runs, map);
            map.EndSegment();
        }
    }

    // The map of a plain file, laid out as Map lays out an entry's.
    internal void Map(in PlainFile file, SectorMapBuffer map)
    {
        map.Clear();
        long at = AppendRecord(file.RecordNumber, map);
        map.EndSegment();
        if (file.HasStream)
        {
            ref readonly AttributeLayout s = ref file.Stream;
            AppendStream(s.IsResident, file.RecordNumber, at, s.ValueOffset, s.DataSize, s.IsCompressed, s.CompressionUnitLog2, s.Runs, map);
            map.EndSegment();
        }
    }

    // The ranges of one record: one when it lies whole in one $MFT run (nearly always; returns its volume offset then),
    // its pieces otherwise (returns -1).
    private long AppendRecord(long recordNumber, SectorMapBuffer map)
    {
        if (_mft.TryGetContiguousOffset(recordNumber, out long at))
        {
            map.Add(new ByteRange(at + DiskOffset, MftRecordSize), mergeFrom: map.Count);
            return at;
        }

        int first = map.Count;
        foreach (ByteRange r in _mft.RecordRanges(recordNumber))
        {
            map.Add(new ByteRange(r.Offset + DiskOffset, r.Length), mergeFrom: first);
        }

        return -1;
    }

    // The ranges of one stream's content: its resident value inside its record (at recordAt when known to lie whole in
    // one $MFT run, else -1), or the clusters of its runs up to its data size (whole compression units for a compressed
    // stream), adjacent runs merged.
    private void AppendStream(bool isResident, long recordNumber, long recordAt, int valueOffset, long dataSize, bool isCompressed,
        int compressionUnitLog2, ImmutableArray<DataRun> runs, SectorMapBuffer map)
    {
        int first = map.Count;
        if (isResident)
        {
            if (dataSize == 0)
            {
                return;
            }

            if (recordAt >= 0 || _mft.TryGetContiguousOffset(recordNumber, out recordAt))
            {
                map.Add(new ByteRange(recordAt + valueOffset + DiskOffset, dataSize), mergeFrom: first);
                return;
            }

            // Map the value's [offset, offset + length) onto the record's pieces.
            var slice = new ByteRange(valueOffset, dataSize);
            long recordPos = 0;
            foreach (ByteRange r in _mft.RecordRanges(recordNumber))
            {
                ByteRange common = new ByteRange(recordPos, r.Length).Intersect(slice);
                if (common.Length > 0)
                {
                    map.Add(new ByteRange(r.Offset + (common.Offset - recordPos) + DiskOffset, common.Length), mergeFrom: int.MaxValue);
                }

                recordPos += r.Length;
            }

            return;
        }

        long contentClusters;
        if (isCompressed)
        {
            long unitBytes = (1L << compressionUnitLog2) * ClusterSize;
            contentClusters = (dataSize + unitBytes - 1) / unitBytes * (1L << compressionUnitLog2);
        }
        else
        {
            contentClusters = (dataSize + ClusterSize - 1) / ClusterSize;
        }

        foreach (DataRun run in runs)
        {
            if (run.Vcn >= contentClusters)
            {
                break;
            }

            if (!run.IsSparse)
            {
                long clusters = Math.Min(run.ClusterCount, contentClusters - run.Vcn);
                map.Add(new ByteRange((run.Lcn * ClusterSize) + DiskOffset, clusters * ClusterSize), mergeFrom: first);
            }
        }
    }
}
