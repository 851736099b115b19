using System.Buffers;
using System.Collections.Immutable;
using Prism.Disks.Errors;
using Prism.Disks.IO;

namespace Prism.Disks.Ntfs;

/// <summary>
/// The $MFT: file record N lives at byte N × record size of $MFT's own (possibly fragmented) unnamed $DATA stream.
/// </summary>
internal sealed class MasterFileTable
{
    public const int MaxAttributeListLength = 8 * 1024 * 1024;
    public const int MaxExtensionRecords = 65536;

    private readonly IDiskSource _volume;
    private readonly string? _name;
    private readonly int _recordSize;
    private readonly int _clusterSize;
    private readonly long _clusterCount;
    private NtfsAttribute _data;
    private NtfsStreamSource _source;
    private const int MaxStackRecord = 4096;
    private const int MaxGapRecords = 8;
    private const int MaxCoalescedRead = 1024 * 1024;
    private const int ChunkSize = 4 * 1024;
    private const int ChunkSlots = 256;
    private readonly Lock _chunkLock = new();
    // Slots get their buffer when first used: a directory walk reads records in batches and rarely comes here.
    private readonly byte[]?[] _chunks = new byte[ChunkSlots][];
    private readonly long[] _chunkOffsets = [.. Enumerable.Repeat(-1L, ChunkSlots)];
    private readonly int[] _chunkLengths = new int[ChunkSlots];
    private int _nextSlot;
    private int _lastRun;

    private MasterFileTable(IDiskSource volume, BootSector boot, string? name, NtfsAttribute data)
    {
        _volume = volume;
        _name = name;
        _recordSize = boot.MftRecordSize;
        _clusterSize = boot.ClusterSize;
        _clusterCount = boot.ClusterCount;
        _data = data;
        RecordCount = data.DataSize / _recordSize;
        _source = OpenStream(data, 0);
    }

    public long RecordCount { get; private set; }

    public int RecordSize => _recordSize;

    /// <summary>The runs of $MFT's $DATA (where each record lies on the volume).</summary>
    public ImmutableArray<DataRun> Runs => _data.Runs;

    /// <summary>
    /// Reads record 0 at the boot sector's $MFT LCN and assembles $MFT's $DATA runs, following its $ATTRIBUTE_LIST
    /// when the runs spill into extension records.
    /// </summary>
    public static MasterFileTable Open(IDiskSource volume, BootSector boot, string? name)
    {
        long offset = boot.MftLcn * boot.ClusterSize;
        byte[] buffer = new byte[boot.MftRecordSize];
        volume.ReadExactly(buffer, offset);
        FileRecord record0 = FileRecord.Parse(buffer, 0, offset, boot.ClusterCount, name);
        if (!record0.InUse)
        {
            throw FileRecord.Error(name, 0, offset, "$MFT record is not in use");
        }

        var baseFile = new NtfsFile(record0, [], record0.Attributes);
        NtfsAttribute data = baseFile.GetStream(NtfsAttributeType.Data, string.Empty, name)
            ?? throw FileRecord.Error(name, 0, offset, "$MFT has no $DATA attribute");
        if (data.IsResident || data.Runs.IsDefaultOrEmpty)
        {
            throw FileRecord.Error(name, 0, offset, "$MFT $DATA is resident or empty");
        }

        var mft = new MasterFileTable(volume, boot, name, Mapped(data, data, boot.ClusterSize));
        NtfsAttribute? listAttr = record0.Attributes.FirstOrDefault(a => a.Type == NtfsAttributeType.AttributeList);
        if (listAttr is null)
        {
            mft.Complete(data);
            return mft;
        }

        ImmutableArray<AttributeListEntry> list = mft.ReadAttributeList(baseFile, offset);
        var pieces = new List<NtfsAttribute>(record0.Attributes.Where(a => a.Type == NtfsAttributeType.Data && a.Name.Length == 0));
        var seen = new HashSet<long> { 0 };
        foreach (AttributeListEntry e in list.Where(e => e.Type == NtfsAttributeType.Data && e.RecordNumber != 0).OrderBy(e => e.StartVcn))
        {
            if (!seen.Add(e.RecordNumber))
            {
                continue;
            }

            if (seen.Count > MaxExtensionRecords)
            {
                throw FileRecord.Error(name, 0, offset, $"$MFT attribute list names more than {MaxExtensionRecords} records");
            }

            FileRecord ext = mft.ReadRecord(e.RecordNumber);
            if (!ext.InUse || ext.BaseRecordNumber != 0)
            {
                throw FileRecord.Error(name, e.RecordNumber, mft.RecordOffset(e.RecordNumber), "$MFT extension record not in use or not owned by $MFT");
            }

            pieces.AddRange(ext.Attributes.Where(a => a.Type == NtfsAttributeType.Data && a.Name.Length == 0));
            var merged = new NtfsFile(record0, [], [.. pieces]);
            mft.Complete(Mapped(data, merged.GetStream(NtfsAttributeType.Data, string.Empty, name)!, boot.ClusterSize));
        }

        var all = new NtfsFile(record0, [], [.. pieces]);
        mft.Complete(all.GetStream(NtfsAttributeType.Data, string.Empty, name)!);
        return mft;
    }

    // $MFT's $DATA as far as the runs known so far map it, read plainly: until the whole mapping is known, the readable
    // size is what those runs cover.
    private static NtfsAttribute Mapped(NtfsAttribute data, NtfsAttribute known, int clusterSize) =>
        new()
        {
            Type = NtfsAttributeType.Data,
            Name = string.Empty,
            Flags = 0,
            RecordNumber = data.RecordNumber,
            RecordSequence = data.RecordSequence,
            RecordOffset = data.RecordOffset,
            IsResident = false,
            LastVcn = known.MappedClusters - 1,
            Runs = known.Runs,
            DataSize = Math.Min(data.DataSize, known.MappedClusters * clusterSize),
            AllocatedSize = data.AllocatedSize,
            InitializedSize = Math.Min(data.InitializedSize, known.MappedClusters * clusterSize),
        };

    private void Complete(NtfsAttribute data)
    {
        lock (_chunkLock)
        {
            Array.Fill(_chunkOffsets, -1L);
        }

        _data = data;
        RecordCount = data.DataSize / _recordSize;
        _source = OpenStream(data, 0);
    }

    /// <summary>Volume offset of the first byte of record <paramref name="number"/> (for error messages).</summary>
    public long RecordOffset(long number)
    {
        if (TryGetContiguousOffset(number, out long offset))
        {
            return offset;
        }

        ImmutableArray<ByteRange> ranges = RecordRanges(number);
        return ranges.IsEmpty ? -1 : ranges[0].Offset;
    }

    /// <summary>
    /// The volume offset of record <paramref name="number"/> when it lies whole inside one allocated run of $MFT
    /// (nearly always); false when it is outside $MFT, straddles runs or falls in a sparse run.
    /// </summary>
    public bool TryGetContiguousOffset(long number, out long offset)
    {
        offset = -1;
        if (number < 0 || number >= RecordCount)
        {
            return false;
        }

        long pos = number * _recordSize;
        ImmutableArray<DataRun> runs = _data.Runs;
        // Records are mostly asked for in ascending order, within one run: try the run of the last answer first. The hint
        // is only a guess (threads may overwrite it), checked like any other run.
        int hint = _lastRun;
        if ((uint)hint < (uint)runs.Length && pos >= runs[hint].Vcn * _clusterSize && pos < runs[hint].NextVcn * _clusterSize)
        {
            return InRun(runs[hint], pos, out offset);
        }

        int lo = 0, hi = runs.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            DataRun run = runs[mid];
            if (pos < run.Vcn * _clusterSize)
            {
                hi = mid - 1;
            }
            else if (pos >= run.NextVcn * _clusterSize)
            {
                lo = mid + 1;
            }
            else
            {
                _lastRun = mid;
                return InRun(run, pos, out offset);
            }
        }

        return false;
    }

    // The record at stream offset pos lies in run: its volume offset, unless the run is sparse or ends inside the record.
    private bool InRun(DataRun run, long pos, out long offset)
    {
        offset = -1;
        if (run.IsSparse || pos + _recordSize > run.NextVcn * _clusterSize)
        {
            return false;
        }

        offset = (run.Lcn * _clusterSize) + (pos - (run.Vcn * _clusterSize));
        return true;
    }

    /// <summary>The volume byte ranges that hold record <paramref name="number"/> (two or more when a record straddles runs).</summary>
    public ImmutableArray<ByteRange> RecordRanges(long number)
    {
        var ranges = ImmutableArray.CreateBuilder<ByteRange>();
        if (number < 0 || number >= RecordCount)
        {
            return ranges.ToImmutable();
        }

        long pos = number * _recordSize;
        long end = pos + _recordSize;
        foreach (DataRun run in _data.Runs)
        {
            long runStart = run.Vcn * _clusterSize;
            long runEnd = run.NextVcn * _clusterSize;
            if (runEnd <= pos || run.IsSparse)
            {
                continue;
            }

            if (runStart >= end)
            {
                break;
            }

            long from = Math.Max(pos, runStart);
            long to = Math.Min(end, runEnd);
            ByteRange r = new((run.Lcn * _clusterSize) + (from - runStart), to - from);
            if (ranges.Count > 0 && ranges[^1].End == r.Offset)
            {
                ranges[^1] = new ByteRange(ranges[^1].Offset, ranges[^1].Length + r.Length);
            }
            else
            {
                ranges.Add(r);
            }
        }

        return ranges.ToImmutable();
    }

    /// <summary>Reads and decodes one record; throws <see cref="NtfsFormatException"/> when it is outside $MFT or corrupt.</summary>
    public FileRecord ReadRecord(long number)
    {
        if (number < 0 || number >= RecordCount)
        {
            throw FileRecord.Error(_name, number, -1, $"record number outside $MFT's {RecordCount} records");
        }

        // Parse keeps a copy of the used part, so the raw record can live on the stack.
        Span<byte> buffer = _recordSize <= MaxStackRecord ? stackalloc byte[MaxStackRecord] : new byte[_recordSize];
        buffer = buffer[.._recordSize];
        ReadThroughChunk(buffer, number * _recordSize);
        return ParseRecord(buffer, number);
    }

    /// <summary>Decodes record <paramref name="number"/> from its raw bytes (fixed up in place); throws like <see cref="ReadRecord"/>.</summary>
    public FileRecord ParseRecord(Span<byte> raw, long number) =>
        FileRecord.Parse(raw, number, RecordOffset(number), _clusterCount, _name);

    /// <summary>Checks and lays out record <paramref name="number"/> from its raw bytes (fixed up in place); throws like <see cref="ReadRecord"/>.</summary>
    public void ReadLayout(Span<byte> raw, long number, RecordLayout layout) =>
        FileRecord.Read(raw, number, RecordOffset(number), _clusterCount, _name, layout);

    /// <summary>
    /// Reads the raw (not fixed-up) bytes of records <paramref name="numbers"/> (ascending, distinct, inside $MFT) into
    /// consecutive <see cref="RecordSize"/> slots of <paramref name="raw"/>. Records close together on $MFT share one read;
    /// the gaps read along are bounded. Throws what the underlying reads throw.
    /// </summary>
    public void ReadRaw(ReadOnlySpan<long> numbers, Span<byte> raw)
    {
        byte[]? scratch = null;
        try
        {
            int i = 0;
            while (i < numbers.Length)
            {
                int j = i + 1;
                while (j < numbers.Length && numbers[j] - numbers[j - 1] <= MaxGapRecords
                    && (numbers[j] - numbers[i] + 1) * _recordSize <= MaxCoalescedRead)
                {
                    j++;
                }

                long first = numbers[i];
                int spanRecords = (int)(numbers[j - 1] - first + 1);
                if (spanRecords == j - i)
                {
                    _source.ReadExactly(raw.Slice(i * _recordSize, spanRecords * _recordSize), first * _recordSize);
                }
                else
                {
                    scratch ??= ArrayPool<byte>.Shared.Rent(MaxCoalescedRead);
                    _source.ReadExactly(scratch.AsSpan(0, spanRecords * _recordSize), first * _recordSize);
                    for (int k = i; k < j; k++)
                    {
                        scratch.AsSpan((int)(numbers[k] - first) * _recordSize, _recordSize).CopyTo(raw.Slice(k * _recordSize, _recordSize));
                    }
                }

                i = j;
            }
        }
        finally
        {
            if (scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }
        }
    }

    // Directory walks touch records in runs of neighbours; reading $MFT in 4 KiB chunks saves read calls.
    private void ReadThroughChunk(Span<byte> buffer, long offset)
    {
        long chunkStart = offset / ChunkSize * ChunkSize;
        if (offset + buffer.Length > chunkStart + ChunkSize)
        {
            _source.ReadExactly(buffer, offset);
            return;
        }

        lock (_chunkLock)
        {
            // Many page-sized chunks, not one large window: a directory walk visits records in name order, which is not
            // record order, and a single 64 KiB window re-read itself for nearly every record (tens of MB per volume).
            int slot = Array.IndexOf(_chunkOffsets, chunkStart);
            if (slot < 0)
            {
                slot = _nextSlot;
                _nextSlot = (_nextSlot + 1) % ChunkSlots;
                _chunkOffsets[slot] = -1;
                int length = (int)Math.Min(ChunkSize, _source.Length - chunkStart);
                _source.ReadExactly((_chunks[slot] ??= new byte[ChunkSize]).AsSpan(0, length), chunkStart);
                _chunkLengths[slot] = length;
                _chunkOffsets[slot] = chunkStart;
            }

            if (offset - chunkStart + buffer.Length > _chunkLengths[slot])
            {
                _source.ReadExactly(buffer, offset);
                return;
            }

            _chunks[slot]!.AsSpan((int)(offset - chunkStart), buffer.Length).CopyTo(buffer);
        }
    }

    /// <summary>
    /// Loads a base record and its extension records. Throws <see cref="NtfsFormatException"/> when the record is not
    /// an in-use base record (or its sequence differs from <paramref name="expectedSequence"/>), or its attribute list is bad.
    /// </summary>
    public NtfsFile LoadFile(long number, ushort? expectedSequence = null) => LoadFile(ReadRecord(number), expectedSequence);

    /// <summary>
    /// <see cref="LoadFile(long, ushort?)"/> for a base record already read and parsed (extension records are read here).
    /// </summary>
    public NtfsFile LoadFile(FileRecord baseRecord, ushort? expectedSequence = null)
    {
        long number = baseRecord.RecordNumber;
        if (!baseRecord.InUse)
        {
            throw FileRecord.Error(_name, number, RecordOffset(number), "record is not in use (deleted file)");
        }

        if (baseRecord.BaseRecordNumber != 0)
        {
            throw FileRecord.Error(_name, number, RecordOffset(number), $"is an extension record of record {baseRecord.BaseRecordNumber}");
        }

        if (expectedSequence is ushort seq && seq != 0 && seq != baseRecord.SequenceNumber)
        {
            throw FileRecord.Error(_name, number, RecordOffset(number),
                $"sequence number {baseRecord.SequenceNumber}, the reference expects {seq} (stale reference)");
        }

        var file = new NtfsFile(baseRecord, [], baseRecord.Attributes);
        if (file.First(NtfsAttributeType.AttributeList) is null)
        {
            return file;
        }

        ImmutableArray<AttributeListEntry> list = ReadAttributeList(file, RecordOffset(number));
        var extensions = ImmutableArray.CreateBuilder<FileRecord>();
        var attributes = ImmutableArray.CreateBuilder<NtfsAttribute>();
        attributes.AddRange(baseRecord.Attributes);
        var seen = new HashSet<long> { number };
        foreach (AttributeListEntry e in list)
        {
            if (!seen.Add(e.RecordNumber))
            {
                continue;
            }

            if (seen.Count > MaxExtensionRecords)
            {
                throw FileRecord.Error(_name, number, RecordOffset(number), $"attribute list names more than {MaxExtensionRecords} records");
            }

            FileRecord ext = ReadRecord(e.RecordNumber);
            if (!ext.InUse || ext.BaseRecordNumber != number || (e.SequenceNumber != 0 && e.SequenceNumber != ext.SequenceNumber))
            {
                throw FileRecord.Error(_name, e.RecordNumber, RecordOffset(e.RecordNumber),
                    $"extension record listed by record {number} is not in use, belongs to record {ext.BaseRecordNumber} or has a different sequence number");
            }

            extensions.Add(ext);
            attributes.AddRange(ext.Attributes);
        }

        return new NtfsFile(baseRecord, extensions.ToImmutable(), attributes.ToImmutable());
    }

    /// <summary>
    /// The content of <paramref name="data"/> (an attribute of record <paramref name="recordNumber"/>'s file) as a source.
    /// A deferred resident value (<see cref="NtfsAttribute.IsValueDeferred"/>) is read from its record now; throws
    /// <see cref="NtfsFormatException"/> when that record no longer holds it (reused, or changed since it was parsed).
    /// </summary>
    public NtfsStreamSource OpenStream(NtfsAttribute data, long recordNumber) =>
        new(_volume, data, _clusterSize, _name, recordNumber, data.IsValueDeferred ? ReadResidentValue(data) : data.Value);

    private byte[] ReadResidentValue(NtfsAttribute data)
    {
        if (data.DataSize == 0)
        {
            return [];
        }

        long number = data.RecordNumber;
        byte[] raw = ArrayPool<byte>.Shared.Rent(_recordSize);
        try
        {
            Span<byte> record = raw.AsSpan(0, _recordSize);
            ReadThroughChunk(record, number * _recordSize);
            FileRecord fresh = ParseRecord(record, number);
            foreach (NtfsAttribute a in fresh.Attributes)
            {
                if (fresh.InUse && fresh.SequenceNumber == data.RecordSequence && a.IsResident && a.Type == data.Type
                    && a.ValueOffset == data.ValueOffset && a.DataSize == data.DataSize && string.Equals(a.Name, data.Name, StringComparison.Ordinal))
                {
                    return record.Slice(a.ValueOffset, (int)a.DataSize).ToArray();
                }
            }

            long at = RecordOffset(number);
            throw FileRecord.Error(_name, number, at < 0 ? -1 : at + data.ValueOffset,
                $"resident stream \"{data.Name}\" ({data.DataSize} bytes, sequence {data.RecordSequence}) is no longer there: the record changed after it was read");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    private ImmutableArray<AttributeListEntry> ReadAttributeList(NtfsFile file, long recordOffset)
    {
        NtfsAttribute list = file.GetStream(NtfsAttributeType.AttributeList, string.Empty, _name)
            ?? throw FileRecord.Error(_name, file.RecordNumber, recordOffset, "unnamed $ATTRIBUTE_LIST missing");
        if (list.DataSize > MaxAttributeListLength)
        {
            throw FileRecord.Error(_name, file.RecordNumber, recordOffset, $"$ATTRIBUTE_LIST of {list.DataSize} bytes exceeds {MaxAttributeListLength}");
        }

        byte[] bytes = new byte[list.DataSize];
        OpenStream(list, file.RecordNumber).ReadExactly(bytes, 0);
        return AttributeListEntry.ReadAll(bytes, file.RecordNumber, _name);
    }
}
