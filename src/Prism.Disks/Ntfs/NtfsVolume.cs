using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Runtime.ExceptionServices;
using Prism.Disks.Errors;
using Prism.Disks.IO;
using Prism.Disks.Partitions;

namespace Prism.Disks.Ntfs;

/// <summary>
/// A read-only NTFS volume over any <see cref="IDiskSource"/> (a partition or a raw volume image).
/// Thread-safe for concurrent reads: it keeps no position and no mutable state after opening.
/// </summary>
public sealed class NtfsVolume
{
    /// <summary>MFT record number of the root directory.</summary>
    public const long RootRecordNumber = 5;

    private const long UpCaseRecordNumber = 10;
    private const long VolumeRecordNumber = 3;
    private const long FirstUserRecordNumber = 24;
    private const int MaxDirectoryDepth = 1024;
    private const int MinChunkRecords = 32;

    // A batch's records are read and turned into entries on a second core when there is one; more threads rarely pay,
    // as the directory walk and the caller stay serial.
    private static readonly int s_workers = Math.Min(Environment.ProcessorCount, 2);
    private static readonly long s_maxFileTime = DateTime.MaxValue.ToFileTimeUtc();

    private readonly IDiskSource _source;
    private readonly BootSector _boot;
    private readonly MasterFileTable _mft;
    private readonly UpCaseTable _upCase;

    private NtfsVolume(IDiskSource source, string? name, long diskOffset, BootSector boot, bool usedBackup)
    {
        _source = source;
        _boot = boot;
        Name = name;
        DiskOffset = diskOffset;
        UsedBackupBootSector = usedBackup;
        _mft = MasterFileTable.Open(source, boot, name);
        _upCase = LoadUpCase(out bool upCaseFromVolume);
        UpCaseFromVolume = upCaseFromVolume;
        VolumeLabel = LoadLabel();
    }

    /// <summary>Name used in error messages (image path, partition), when given.</summary>
    public string? Name { get; }

    /// <summary>Offset of the volume on the underlying disk; added to every range of <see cref="GetExtents"/>.</summary>
    public long DiskOffset { get; }

    /// <summary>True when the primary boot sector was damaged and the backup (last sector of the volume) was used.</summary>
    public bool UsedBackupBootSector { get; }

    /// <summary>True when case-insensitive lookups use the volume's own $UpCase table (false: invariant fallback).</summary>
    public bool UpCaseFromVolume { get; }

    /// <summary>Bytes per sector from the boot sector.</summary>
    public int BytesPerSector => _boot.BytesPerSector;

    /// <summary>Bytes per cluster.</summary>
    public int ClusterSize => _boot.ClusterSize;

    /// <summary>Bytes per MFT file record.</summary>
    public int MftRecordSize => _boot.MftRecordSize;

    /// <summary>Bytes per directory index block.</summary>
    public int IndexBlockSize => _boot.IndexBlockSize;

    /// <summary>Volume size in bytes according to the boot sector.</summary>
    public long Size => _boot.TotalSectors * _boot.BytesPerSector;

    /// <summary>Volume serial number.</summary>
    public ulong SerialNumber => _boot.SerialNumber;

    /// <summary>Number of records $MFT has room for.</summary>
    public long MftRecordCount => _mft.RecordCount;

    /// <summary>The volume label ($VOLUME_NAME of $Volume), empty when none.</summary>
    public string VolumeLabel { get; }

    /// <summary>Opens the volume in <paramref name="volume"/>.</summary>
    /// <param name="volume">The volume's bytes (a partition or a raw volume image).</param>
    /// <param name="name">Name for error messages.</param>
    /// <param name="diskOffset">Where the volume starts on the underlying disk (for sector maps); 0 for a bare volume.</param>
    /// <exception cref="NtfsFormatException">Neither boot sector is NTFS, or $MFT cannot be read.</exception>
    public static NtfsVolume Open(IDiskSource volume, string? name = null, long diskOffset = 0)
    {
        ArgumentNullException.ThrowIfNull(volume);
        ArgumentOutOfRangeException.ThrowIfNegative(diskOffset);
        byte[] sector = new byte[BootSector.Size];
        string problem = "volume shorter than one sector";
        if (volume.Length >= BootSector.Size)
        {
            volume.ReadExactly(sector, 0);
            if (BootSector.TryRead(sector, out BootSector boot, out problem) && FitsIn(boot, volume))
            {
                return new NtfsVolume(volume, name, diskOffset, boot, usedBackup: false);
            }
        }

        // The backup boot sector is the volume's last sector; its size is unknown when the primary is damaged.
        foreach (int sectorSize in (ReadOnlySpan<int>)[512, 1024, 2048, 4096])
        {
            long at = volume.Length - sectorSize;
            if (at <= 0 || volume.Length % sectorSize != 0)
            {
                continue;
            }

            volume.ReadExactly(sector, at);
            if (BootSector.TryRead(sector, out BootSector backup, out _) && backup.BytesPerSector == sectorSize && FitsIn(backup, volume))
            {
                return new NtfsVolume(volume, name, diskOffset, backup, usedBackup: true);
            }
        }

        throw new NtfsFormatException(name, "NTFS boot sector", 0, $"not an NTFS volume ({problem}; no usable backup boot sector)");
    }

    /// <summary>Opens the NTFS volume of a partition; sector maps are then relative to the disk.</summary>
    /// <exception cref="NtfsFormatException">The partition holds no readable NTFS volume.</exception>
    public static NtfsVolume Open(Partition partition, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(partition);
        return Open(partition.Source, name ?? $"partition {partition.Number}", partition.Start);
    }

    /// <summary>True when <paramref name="volume"/> starts with an NTFS boot sector (no further checks).</summary>
    public static bool IsNtfs(IDiskSource volume)
    {
        ArgumentNullException.ThrowIfNull(volume);
        Span<byte> sector = stackalloc byte[BootSector.Size];
        return volume.Length >= BootSector.Size && volume.Read(sector, 0) == BootSector.Size && BootSector.TryRead(sector, out _, out _);
    }

    private static bool FitsIn(BootSector boot, IDiskSource volume) =>
        (boot.MftLcn + 1) * boot.ClusterSize <= volume.Length;

    /// <summary>
    /// Enumerates <paramref name="directory"/>'s entries through the $I30 indexes, depth-first and lazily.
    /// A corrupt record or index is reported to <paramref name="onError"/> and skipped; the walk goes on.
    /// </summary>
    /// <param name="directory">Start directory ("/" for the root).</param>
    /// <param name="recursive">Descend into subdirectories (reparse points are reported, not followed).</param>
    /// <param name="includeSystemFiles">Include the metadata files ($MFT, $Extend, ...) of the root directory.</param>
    /// <param name="onError">Receives each skipped entry; null ignores them.</param>
    /// <param name="cancellationToken">Checked once per entry.</param>
    /// <exception cref="FileNotFoundException"><paramref name="directory"/> does not exist or is not a directory.</exception>
    public IEnumerable<NtfsFileEntry> Enumerate(string directory = "/", bool recursive = true, bool includeSystemFiles = false,
        Action<NtfsEnumerationError>? onError = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        NtfsFile start;
        string startPath;
        if (IsRoot(directory))
        {
            start = _mft.LoadFile(RootRecordNumber);
            startPath = string.Empty;
        }
        else
        {
            NtfsFileEntry dir = Find(directory) ?? throw new FileNotFoundException($"no such directory: {directory}", directory);
            if (!dir.IsDirectory)
            {
                throw new FileNotFoundException($"not a directory: {directory}", directory);
            }

            start = dir.File;
            startPath = dir.Path;
        }

        return EnumerateCore(start, startPath, recursive, includeSystemFiles, onError, cancellationToken);
    }

    private IEnumerable<NtfsFileEntry> EnumerateCore(NtfsFile start, string startPath, bool recursive, bool includeSystemFiles,
        Action<NtfsEnumerationError>? onError, CancellationToken cancellationToken)
    {
        var pending = new Stack<(NtfsFile Dir, string Path, int Depth)>();
        var visitedDirs = new HashSet<long> { start.RecordNumber };
        pending.Push((start, startPath, 0));
        var entries = new List<IndexEntry>();
        var subdirs = new List<(NtfsFile, string, int)>();
        var batch = new RecordBatch(_mft);
        long[] numbers = new long[RecordBatch.MaxRecords];
        var created = new Created[RecordBatch.MaxRecords];
        byte[]? indexBuffer = null;
        while (pending.Count > 0)
        {
            (NtfsFile dir, string dirPath, int depth) = pending.Pop();
            entries.Clear();
            try
            {
                new DirectoryIndex(_source, dir, ClusterSize, Name, _mft.RecordOffset(dir.RecordNumber)).ReadAll(entries, ref indexBuffer);
            }
            catch (Exception ex) when (ex is DiskFormatException or EndOfStreamException)
            {
                onError?.Invoke(new NtfsEnumerationError(dirPath.Length == 0 ? "/" : dirPath, dir.RecordNumber, ex));
            }

            // Keep the entries that name files, then load their records a batch at a time, in record order.
            int kept = 0;
            for (int i = 0; i < entries.Count; i++)
            {
                IndexEntry e = entries[i];
                if (e.Key.Namespace == FileNameAttribute.NamespaceDos || e.RecordNumber == dir.RecordNumber)
                {
                    continue;
                }

                bool isSystem = dir.RecordNumber == RootRecordNumber && e.RecordNumber < FirstUserRecordNumber;
                if (!isSystem || includeSystemFiles)
                {
                    entries[kept++] = e;
                }
            }

            entries.RemoveRange(kept, entries.Count - kept);
            subdirs.Clear();
            for (int first = 0; first < entries.Count; first += batch.Capacity)
            {
                int end = Math.Min(entries.Count, first + batch.Capacity);
                for (int i = first; i < end; i++)
                {
                    numbers[i - first] = entries[i].RecordNumber;
                }

                batch.Load(numbers.AsSpan(0, end - first));
                Array.Clear(created, 0, end - first);
                CreateEntries(batch, entries, first, dirPath, created);
                for (int i = first; i < end; i++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    IndexEntry e = entries[i];
                    Created c = created[i - first];
                    string path = c.Path ?? string.Concat(dirPath, "/", e.Key.Name);
                    if (c.Error is not null)
                    {
                        if (c.Error is not (DiskFormatException or EndOfStreamException))
                        {
                            ExceptionDispatchInfo.Throw(c.Error);
                        }

                        onError?.Invoke(new NtfsEnumerationError(path, e.RecordNumber, c.Error));
                        continue;
                    }

                    NtfsFileEntry? entry = c.Entry ?? TryCreateEntry(e, path, onError);
                    if (entry is null)
                    {
                        continue;
                    }

                    yield return entry;
                    if (recursive && entry.IsDirectory && !entry.IsReparsePoint && depth + 1 < MaxDirectoryDepth
                        && visitedDirs.Add(entry.RecordNumber))
                    {
                        subdirs.Add((entry.File, path, depth + 1));
                    }
                }
            }

            // Push in reverse so subdirectories are visited in index order.
            for (int i = subdirs.Count - 1; i >= 0; i--)
            {
                pending.Push(subdirs[i]);
            }
        }
    }

    // Reads the batch's records and creates their entries in chunks of slots, spread over up to two threads; an entry
    // without a slot, or whose chunk could not be read, stays empty for the enumerator to load on its own.
    private void CreateEntries(RecordBatch batch, List<IndexEntry> entries, int first, string dirPath, Created[] created)
    {
        // One chunk per worker: a helper that wakes late still finds a whole chunk to take.
        int chunks = Math.Clamp(batch.Count / MinChunkRecords, 1, s_workers);
        int chunkRecords = (batch.Count + chunks - 1) / chunks;
        if (chunks > 1)
        {
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = s_workers },
                chunk => CreateChunk(batch, chunk * chunkRecords, Math.Min(batch.Count, (chunk + 1) * chunkRecords), entries, first, dirPath, created));
            return;
        }

        CreateChunk(batch, 0, batch.Count, entries, first, dirPath, created);
    }

    private void CreateChunk(RecordBatch batch, int from, int to, List<IndexEntry> entries, int first, string dirPath, Created[] created)
    {
        if (from >= to || !batch.TryRead(from, to))
        {
            return;
        }

        for (int slot = from; slot < to; slot++)
        {
            int owner = batch.OwnerOf(slot);
            IndexEntry e = entries[first + owner];
            ref Created c = ref created[owner];
            c.Path = string.Concat(dirPath, "/", e.Key.Name);
            try
            {
                NtfsFile file = _mft.LoadFile(batch.Parse(slot), e.SequenceNumber);
                c.Entry = CreateEntry(file, c.Path, e.Key.Name, e.Key.ParentRecordNumber, e.Key);
            }
            catch (Exception ex)
            {
                // Whatever it is, the enumerator reports or throws it when it reaches this entry, as if loaded there.
                c.Error = ex;
            }
        }
    }

    private NtfsFileEntry? TryCreateEntry(IndexEntry e, string path, Action<NtfsEnumerationError>? onError)
    {
        try
        {
            NtfsFile file = _mft.LoadFile(e.RecordNumber, e.SequenceNumber);
            return CreateEntry(file, path, e.Key.Name, e.Key.ParentRecordNumber, e.Key);
        }
        catch (Exception ex) when (ex is DiskFormatException or EndOfStreamException)
        {
            onError?.Invoke(new NtfsEnumerationError(path, e.RecordNumber, ex));
            return null;
        }
    }

    private NtfsFileEntry CreateEntry(NtfsFile file, string path, string name, long parent, FileNameAttribute? key)
    {
        NtfsStreamInfo[] streams = DataStreams(file);
        NtfsFileAttributes attributes = NtfsFileAttributes.None;
        long created = key?.Created ?? 0, modified = key?.Modified ?? 0, changed = key?.MftChanged ?? 0, accessed = key?.Accessed ?? 0;
        NtfsAttribute? si = file.First(NtfsAttributeType.StandardInformation);
        if (si is { IsResident: true } && si.Value.Length >= 0x24)
        {
            ReadOnlySpan<byte> v = si.Value.Span;
            created = BinaryPrimitives.ReadInt64LittleEndian(v);
            modified = BinaryPrimitives.ReadInt64LittleEndian(v[0x08..]);
            changed = BinaryPrimitives.ReadInt64LittleEndian(v[0x10..]);
            accessed = BinaryPrimitives.ReadInt64LittleEndian(v[0x18..]);
            attributes = (NtfsFileAttributes)BinaryPrimitives.ReadUInt32LittleEndian(v[0x20..]);
        }

        uint? reparseTag = null;
        NtfsAttribute? reparse = file.First(NtfsAttributeType.ReparsePoint);
        if (reparse is not null)
        {
            reparseTag = 0;
            if (reparse.IsResident && reparse.Value.Length >= 4)
            {
                reparseTag = BinaryPrimitives.ReadUInt32LittleEndian(reparse.Value.Span);
            }
        }

        return new NtfsFileEntry(file, path, name, parent, streams, attributes, ToTime(created), ToTime(modified), ToTime(changed),
            ToTime(accessed), reparseTag);
    }

    // The $DATA streams, unnamed first then by ordinal name; sizes are checked against runs so a corrupt record is
    // skipped here, not when read.
    private NtfsStreamInfo[] DataStreams(NtfsFile file)
    {
        NtfsAttribute? only = null;
        int count = 0;
        foreach (NtfsAttribute a in file.Attributes)
        {
            if (a.Type == NtfsAttributeType.Data)
            {
                only = a;
                count++;
            }
        }

        if (only is null)
        {
            return [];
        }

        if (count == 1)
        {
            return [DataStream(file, only.Name)];
        }

        List<string> names = file.StreamNames(NtfsAttributeType.Data);
        var streams = new NtfsStreamInfo[names.Count];
        for (int i = 0; i < streams.Length; i++)
        {
            streams[i] = DataStream(file, names[i]);
        }

        return streams;
    }

    private NtfsStreamInfo DataStream(NtfsFile file, string streamName)
    {
        NtfsStreamData data = file.GetStream(NtfsAttributeType.Data, streamName, Name)!;
        if (!data.IsResident)
        {
            NtfsStreamSource.Validate(data, ClusterSize, Name, file.RecordNumber);
        }

        return new NtfsStreamInfo(data);
    }

    // One kept index entry of a batch: its entry, or what creating it threw (both null: not loaded yet).
    private struct Created
    {
        public string? Path;
        public NtfsFileEntry? Entry;
        public Exception? Error;
    }

    private static DateTime ToTime(long fileTime) =>
        fileTime > 0 && fileTime <= s_maxFileTime ? DateTime.FromFileTimeUtc(fileTime) : DateTime.MinValue;

    private static bool IsRoot(string path) => path.Trim('/').Length == 0;

    /// <summary>Looks a path up case-insensitively (via $UpCase); null when a component is missing.</summary>
    /// <exception cref="NtfsFormatException">A directory on the way is corrupt.</exception>
    public NtfsFileEntry? Find(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        NtfsFile current = _mft.LoadFile(RootRecordNumber);
        if (IsRoot(path))
        {
            return CreateEntry(current, "/", string.Empty, RootRecordNumber, null);
        }

        string resolved = string.Empty;
        string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        IndexEntry? found = null;
        for (int i = 0; i < parts.Length; i++)
        {
            if (!current.Base.IsDirectory)
            {
                return null;
            }

            found = new DirectoryIndex(_source, current, ClusterSize, Name, _mft.RecordOffset(current.RecordNumber)).Find(parts[i], _upCase);
            if (found is not IndexEntry e)
            {
                return null;
            }

            current = _mft.LoadFile(e.RecordNumber, e.SequenceNumber);
            resolved += "/" + e.Key.Name;
        }

        IndexEntry last = found!.Value;
        return CreateEntry(current, resolved, last.Key.Name, last.Key.ParentRecordNumber, last.Key);
    }

    /// <summary>
    /// The content of one $DATA stream (decompressed, zeros for sparse and uninitialized parts) as a positional source.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file has no stream of that name.</exception>
    /// <exception cref="NtfsFormatException">The stream's mapping is corrupt (or is found to be while reading).</exception>
    public IDiskSource OpenStream(NtfsFileEntry entry, string streamName = "")
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(streamName);
        NtfsStreamInfo stream = entry.Streams.FirstOrDefault(s => string.Equals(s.Name, streamName, StringComparison.Ordinal))
            ?? throw new FileNotFoundException($"{entry.Path} has no stream \"{streamName}\"", entry.Path);
        return new NtfsStreamSource(_source, stream.Data, ClusterSize, Name, entry.RecordNumber);
    }

    /// <summary>A read-only seekable stream over one $DATA stream.</summary>
    /// <exception cref="FileNotFoundException">The file has no stream of that name.</exception>
    public Stream OpenRead(NtfsFileEntry entry, string streamName = "") => new DiskStream(OpenStream(entry, streamName));

    /// <summary>
    /// The sector map of a file, in bytes of the underlying disk (volume offset + <see cref="DiskOffset"/>):
    /// its MFT records (base and extensions) and, per stream, the clusters holding content (sparse runs and clusters
    /// past the data size excluded) or the resident value inside its record. Needs no I/O.
    /// </summary>
    public NtfsFileExtents GetExtents(NtfsFileEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ByteRange[] records;
        if (entry.File.Extensions.IsEmpty && _mft.TryGetContiguousOffset(entry.RecordNumber, out long at))
        {
            records = [new ByteRange(at + DiskOffset, MftRecordSize)];
        }
        else
        {
            var list = new List<ByteRange>();
            AddRecordRanges(list, entry.RecordNumber);
            foreach (FileRecord ext in entry.File.Extensions)
            {
                AddRecordRanges(list, ext.RecordNumber);
            }

            records = [.. list];
        }

        var streams = new NtfsStreamExtents[entry.Streams.Count];
        for (int i = 0; i < streams.Length; i++)
        {
            NtfsStreamInfo s = entry.Streams[i];
            streams[i] = new NtfsStreamExtents(s.Name, s.IsResident, StreamRanges(s.Data));
        }

        return new NtfsFileExtents(records, streams);
    }

    private void AddRecordRanges(List<ByteRange> into, long recordNumber)
    {
        foreach (ByteRange r in _mft.RecordRanges(recordNumber))
        {
            into.Add(new ByteRange(r.Offset + DiskOffset, r.Length));
        }
    }

    private ByteRange[] StreamRanges(NtfsStreamData data)
    {
        if (data.IsResident)
        {
            if (data.DataSize == 0)
            {
                return [];
            }

            // The value lies inside its record; map its [offset, offset + length) onto the record's (possibly split) ranges.
            if (_mft.TryGetContiguousOffset(data.ResidentRecordNumber, out long at))
            {
                return [new ByteRange(at + data.ResidentValueOffset + DiskOffset, data.DataSize)];
            }

            return [.. MapRecordSlice(_mft.RecordRanges(data.ResidentRecordNumber), new ByteRange(data.ResidentValueOffset, data.DataSize))];
        }

        long contentClusters;
        if (data.IsCompressed)
        {
            long unitBytes = (1L << data.CompressionUnitLog2) * ClusterSize;
            contentClusters = (data.DataSize + unitBytes - 1) / unitBytes * (1L << data.CompressionUnitLog2);
        }
        else
        {
            contentClusters = (data.DataSize + ClusterSize - 1) / ClusterSize;
        }

        // Adjacent runs merge into one range, so there are at most as many ranges as runs.
        ImmutableArray<DataRun> runs = data.Runs;
        ByteRange[] ranges = runs.Length == 0 ? [] : new ByteRange[runs.Length];
        int count = 0;
        foreach (DataRun run in runs)
        {
            if (run.Vcn >= contentClusters)
            {
                break;
            }

            if (run.IsSparse)
            {
                continue;
            }

            long clusters = Math.Min(run.ClusterCount, contentClusters - run.Vcn);
            var r = new ByteRange((run.Lcn * ClusterSize) + DiskOffset, clusters * ClusterSize);
            if (count > 0 && ranges[count - 1].End == r.Offset)
            {
                ranges[count - 1] = new ByteRange(ranges[count - 1].Offset, ranges[count - 1].Length + r.Length);
            }
            else
            {
                ranges[count++] = r;
            }
        }

        if (count != ranges.Length)
        {
            Array.Resize(ref ranges, count);
        }

        return ranges;
    }

    private IEnumerable<ByteRange> MapRecordSlice(ImmutableArray<ByteRange> recordRanges, ByteRange slice)
    {
        long recordPos = 0;
        foreach (ByteRange r in recordRanges)
        {
            ByteRange inRecord = new(recordPos, r.Length);
            ByteRange common = inRecord.Intersect(slice);
            if (common.Length > 0)
            {
                yield return new ByteRange(r.Offset + (common.Offset - recordPos) + DiskOffset, common.Length);
            }

            recordPos += r.Length;
        }
    }

    private UpCaseTable LoadUpCase(out bool fromVolume)
    {
        fromVolume = false;
        try
        {
            NtfsFile file = _mft.LoadFile(UpCaseRecordNumber);
            NtfsStreamData? data = file.GetStream(NtfsAttributeType.Data, string.Empty, Name);
            if (data is null || data.DataSize != UpCaseTable.ByteLength)
            {
                return UpCaseTable.Invariant;
            }

            byte[] bytes = new byte[UpCaseTable.ByteLength];
            new NtfsStreamSource(_source, data, ClusterSize, Name, UpCaseRecordNumber).ReadExactly(bytes, 0);
            fromVolume = true;
            return UpCaseTable.FromBytes(bytes);
        }
        catch (Exception ex) when (ex is DiskFormatException or EndOfStreamException)
        {
            // A damaged $UpCase only weakens case-insensitive lookup; enumeration and reads do not need it.
            return UpCaseTable.Invariant;
        }
    }

    private string LoadLabel()
    {
        try
        {
            NtfsFile file = _mft.LoadFile(VolumeRecordNumber);
            NtfsAttribute? label = file.First(NtfsAttributeType.VolumeName);
            return label is { IsResident: true } ? System.Text.Encoding.Unicode.GetString(label.Value.Span) : string.Empty;
        }
        catch (Exception ex) when (ex is DiskFormatException or EndOfStreamException)
        {
            return string.Empty;
        }
    }
}
