using System.Buffers;
using System.Collections.Immutable;
using Prism.Disks.Errors;
using Prism.Disks.IO;

namespace Prism.Disks.Ntfs;

/// <summary>Walk snapshots: a whole walk kept (<see cref="CaptureSnapshot"/>), and a clone's walk patched from its parent's (<see cref="WalkIncremental"/>).</summary>
public sealed partial class NtfsVolume
{
    // Records read and decoded together (1 MiB of 1 KiB records).
    private const int SnapshotBatchRecords = 1024;

    /// <summary>
    /// Walks the whole volume (every directory index, every listed file's records) into a snapshot: the same files,
    /// paths, record numbers, sizes and sector maps as <see cref="Visit"/> from the root gives, with what a clone's
    /// <see cref="WalkIncremental"/> needs to start from it. Corrupt records and indexes are skipped and listed in
    /// <see cref="NtfsWalkSnapshot.Problems"/>, as a full walk reports and skips them.
    /// </summary>
    /// <param name="cancellationToken">Checked once per directory level and batch of records.</param>
    public NtfsWalkSnapshot CaptureSnapshot(CancellationToken cancellationToken = default)
    {
        var walk = new SnapshotWalk(this, parent: null, changed: null);
        walk.CaptureAll(cancellationToken);
        return walk.ToSnapshot();
    }

    /// <summary>
    /// The snapshot of this volume (a clone) made from its parent's <paramref name="parent"/> and the clone's divergence:
    /// only the MFT records, index blocks and $ATTRIBUTE_LIST data lying in <paramref name="divergentRanges"/> are read and
    /// decoded, and the parent's file list is patched from them (new, deleted, renamed and moved files, grown and shrunk
    /// streams, hard links, named streams, deleted directories, split or merged index nodes; $MFT grown in place). The
    /// result equals <see cref="CaptureSnapshot"/> of this volume. What cannot be patched safely makes it walk the whole
    /// volume and say why (<see cref="NtfsWalkResult.Fallback"/>): another volume's snapshot, a changed boot sector, a
    /// $MFT run list that moves records the parent had, a parent with problems, a corrupt or inconsistent changed record
    /// or index.
    /// </summary>
    /// <param name="parent">The snapshot of the parent (the golden or an ancestor the clone's divergence is relative to).</param>
    /// <param name="divergentRanges">
    /// Every byte range of the underlying disk (the coordinates of <see cref="DiskOffset"/>) where the clone may differ
    /// from the parent, e.g. the allocated ranges of the clone's differencing layers. Bytes outside them must read the same
    /// in both: that is the caller's contract.
    /// </param>
    /// <param name="cancellationToken">Checked once per directory level and batch of records.</param>
    public NtfsWalkResult WalkIncremental(NtfsWalkSnapshot parent, IEnumerable<ByteRange> divergentRanges, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(divergentRanges);
        var changed = new RangeSet(divergentRanges
            .Select(r => new ByteRange(r.Offset - DiskOffset, r.Length).Intersect(new ByteRange(0, Size)))
            .Where(r => r.Length > 0));
        (NtfsWalkFallback reason, string? detail) = CheckPatchable(parent, changed);
        if (reason == NtfsWalkFallback.None)
        {
            var walk = new SnapshotWalk(this, parent, changed);
            try
            {
                walk.Patch(cancellationToken);
                NtfsWalkSnapshot patched = walk.ToSnapshot();
                if (!patched.HasErrors)
                {
                    return new NtfsWalkResult(patched, NtfsWalkFallback.None, null, walk.RecordsDecoded, walk.BlocksRead, walk.DirectoriesWalked);
                }

                (reason, detail) = (NtfsWalkFallback.DamagedMetadata, patched.Problems[0]);
            }
            catch (Exception ex) when (ex is DiskFormatException or EndOfStreamException)
            {
                (reason, detail) = (NtfsWalkFallback.DamagedMetadata, ex.Message);
            }
        }

        var full = new SnapshotWalk(this, parent: null, changed: null);
        full.CaptureAll(cancellationToken);
        return new NtfsWalkResult(full.ToSnapshot(), reason, detail, full.RecordsDecoded, full.BlocksRead, full.DirectoriesWalked);
    }

    /// <summary>
    /// The content of one $DATA stream of a file of this volume's snapshot (decompressed, zeros for sparse and
    /// uninitialized parts), read as <see cref="OpenStream(NtfsFileEntry, string)"/> reads it.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file has no stream of that name.</exception>
    /// <exception cref="NtfsFormatException">The record no longer holds that file (another sequence number, not in use), or the stream's mapping is corrupt.</exception>
    public IDiskSource OpenStream(NtfsSnapshotFile file, string streamName = "")
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(streamName);
        NtfsFile loaded = _mft.LoadFile(file.RecordNumber, file.SequenceNumber);
        NtfsAttribute data = loaded.GetStream(NtfsAttributeType.Data, streamName, Name)
            ?? throw new FileNotFoundException($"{file.Path} has no stream \"{streamName}\"", file.Path);
        return _mft.OpenStream(data, file.RecordNumber);
    }

    // Whether the parent's snapshot can be patched for this volume, and why not.
    private (NtfsWalkFallback Reason, string? Detail) CheckPatchable(NtfsWalkSnapshot parent, RangeSet changed)
    {
        NtfsWalkSnapshot.Geometry mine = SnapshotGeometry();
        if (parent.Volume != mine)
        {
            return (NtfsWalkFallback.ParentMismatch, $"the snapshot is of another volume ({parent.Volume}, this one is {mine})");
        }

        if (UsedBackupBootSector)
        {
            return (NtfsWalkFallback.BootSectorChanged, "the primary boot sector is unusable, the backup boot sector was used");
        }

        if (changed.Overlaps(new ByteRange(0, BootSector.Size)))
        {
            byte[] sector = new byte[BootSector.Size];
            _source.ReadExactly(sector, 0);
            if (!sector.AsSpan().SequenceEqual(parent.BootSector))
            {
                int at = sector.AsSpan().CommonPrefixLength(parent.BootSector);
                return (NtfsWalkFallback.BootSectorChanged, $"the boot sector differs from the parent's at byte 0x{at:X}");
            }
        }

        if (!KeepsRecordLocations(parent.MftRuns, parent.MftRecordCount, _mft.Runs, _mft.RecordCount))
        {
            ImmutableArray<DataRun> now = _mft.Runs;
            int i = 0;
            while (i < parent.MftRuns.Length && i < now.Length && parent.MftRuns[i] == now[i])
            {
                i++;
            }

            string was = i < parent.MftRuns.Length ? Describe(parent.MftRuns[i]) : "absent";
            string then = i < now.Length ? Describe(now[i]) : "absent";
            return (NtfsWalkFallback.MftLayoutChanged, $"$MFT's run {i} was {was}, is {then} ({parent.MftRecordCount} records before, {_mft.RecordCount} now)");
        }

        if (parent.HasErrors)
        {
            return (NtfsWalkFallback.ParentHadErrors, $"the parent's walk skipped {parent.Problems.Length} entries, first: {parent.Problems[0]}");
        }

        return (NtfsWalkFallback.None, null);
    }

    private static string Describe(DataRun run) => $"{run.ClusterCount} clusters at VCN {run.Vcn}, LCN {run.Lcn}";

    // True when every record of the parent's $MFT lies where it lay: the same runs, the last one possibly longer and more
    // after it ($MFT grew in place, as when files are added to a full $MFT). Records past the parent's count are read
    // where the divergence or a new index entry names them.
    private static bool KeepsRecordLocations(ImmutableArray<DataRun> before, long countBefore, ImmutableArray<DataRun> after, long countAfter)
    {
        if (countAfter < countBefore || after.Length < before.Length || before.IsEmpty)
        {
            return false;
        }

        for (int i = 0; i < before.Length - 1; i++)
        {
            if (before[i] != after[i])
            {
                return false;
            }
        }

        DataRun last = before[^1], now = after[before.Length - 1];
        return now.Vcn == last.Vcn && now.Lcn == last.Lcn && now.ClusterCount >= last.ClusterCount;
    }

    private NtfsWalkSnapshot.Geometry SnapshotGeometry() => new(DiskOffset, Size, BytesPerSector, ClusterSize, MftRecordSize, SerialNumber);

    /// <summary>
    /// One snapshot walk: directory level by directory level, the indexes of a level's directories, then the records their
    /// entries name (in record order, in batches). Capturing reads everything; patching starts from the parent's records
    /// and directories, reads only the records and blocks in the divergence (and records named for the first time), and
    /// re-walks only the directories whose records, blocks or $BITMAP changed.
    /// </summary>
    private sealed class SnapshotWalk
    {
        private readonly NtfsVolume _volume;
        private readonly NtfsWalkSnapshot? _parent;
        private readonly RangeSet? _changed;
        // The parent's records and directories (none for a whole walk) with what this walk loaded laid over them.
        private readonly OverlayMap<NtfsWalkSnapshot.Record> _records;
        private readonly OverlayMap<NtfsWalkSnapshot.Directory> _directories;
        // Directories loaded in this walk (their attributes locate the index).
        private readonly Dictionary<long, NtfsFile> _directoryFiles = [];
        // Records that were tried in this walk and are no loadable base record (deleted, extension, corrupt).
        private readonly HashSet<long> _unloadable = [];
        // Why a base record in use could not be loaded, or a directory's index read (the snapshot reports those it lists).
        private readonly Dictionary<long, string> _failures = [];
        private readonly DirectoryIndex.WalkScratch _scratch = new();
        private long _blocksRead;

        public SnapshotWalk(NtfsVolume volume, NtfsWalkSnapshot? parent, RangeSet? changed)
        {
            _volume = volume;
            _parent = parent;
            _changed = changed;
            _records = new OverlayMap<NtfsWalkSnapshot.Record>(parent?.Records ?? new Dictionary<long, NtfsWalkSnapshot.Record>());
            _directories = new OverlayMap<NtfsWalkSnapshot.Directory>(parent?.Directories ?? new Dictionary<long, NtfsWalkSnapshot.Directory>());
        }

        public long RecordsDecoded { get; private set; }

        public long BlocksRead => _blocksRead;

        public int DirectoriesWalked { get; private set; }

        /// <summary>
        /// The snapshot: a whole walk's; a patch's from its parent's file list when the directory tree kept its shape
        /// (<see cref="PatchFiles"/>), else assembled again from the records and directories.
        /// </summary>
        public NtfsWalkSnapshot ToSnapshot()
        {
            NtfsWalkSnapshot.Geometry geometry = _volume.SnapshotGeometry();
            if (_parent is null)
            {
                return new(geometry, _volume._mft.Runs, _volume._mft.RecordCount, ReadBootSector(), _records.ToDictionary(),
                    _directories.ToDictionary(), _failures);
            }

            return PatchFiles() is (OverlayMap<NtfsWalkSnapshot.Record> records, HashSet<int> removed, List<NtfsSnapshotFile> added)
                ? new(_parent, geometry, _volume._mft.Runs, _volume._mft.RecordCount, records, _directories, removed, added)
                : new(geometry, _volume._mft.Runs, _volume._mft.RecordCount, _parent.BootSector, _records, _directories, _failures);
        }

        // A patch's file list from the parent's, when the directory tree kept its shape (no directory added, removed,
        // moved, or turned into a file or reparse point) and nothing is a problem: the names the rewalked directories lost
        // and gained, and the other names of the reloaded records made again. The records the list reaches are the
        // parent's, those reloaded and named laid over them, those no longer named removed. Null when the list must be
        // assembled whole (then the snapshot's constructor finds the problems, if any).
        private (OverlayMap<NtfsWalkSnapshot.Record> Records, HashSet<int> Removed, List<NtfsSnapshotFile> Added)? PatchFiles()
        {
            NtfsWalkSnapshot parent = _parent!;
            if (_failures.Count > 0)
            {
                return null;
            }

            NtfsWalkSnapshot.PatchIndex index = parent.Index;
            foreach ((long number, NtfsWalkSnapshot.Record? now) in _records.Changes)
            {
                parent.Records.TryGetValue(number, out NtfsWalkSnapshot.Record? old);
                if ((old?.IsDirectory ?? false) || (now?.IsDirectory ?? false))
                {
                    if (old is null || now is null || old.IsReparsePoint != now.IsReparsePoint || old.IsDirectory != now.IsDirectory)
                    {
                        return null;
                    }
                }
            }

            var removed = new HashSet<int>();
            var added = new List<NtfsSnapshotFile>();
            foreach ((long number, NtfsWalkSnapshot.Directory? now) in _directories.Changes)
            {
                if (now is null || !parent.Directories.TryGetValue(number, out NtfsWalkSnapshot.Directory? old) || index.PathOf(number) is not string path)
                {
                    return null;
                }

                // The entries of the nodes that were read again, against those of the nodes they replace.
                // (Nodes outside the divergence are the parent's objects: only the others are compared.)
                var fresh = new HashSet<NtfsWalkSnapshot.IndexNode>(now.Nodes, ReferenceEqualityComparer.Instance);
                var lost = new Dictionary<NtfsWalkSnapshot.IndexEntry, int>();
                foreach (NtfsWalkSnapshot.IndexNode node in old.Nodes)
                {
                    if (!fresh.Remove(node))
                    {
                        foreach (NtfsWalkSnapshot.IndexEntry e in node.Entries)
                        {
                            lost[e] = lost.GetValueOrDefault(e) + 1;
                        }
                    }
                }

                var gained = new List<NtfsWalkSnapshot.IndexEntry>();
                foreach (NtfsWalkSnapshot.IndexNode node in now.Nodes)
                {
                    if (!fresh.Contains(node))
                    {
                        continue;
                    }

                    foreach (NtfsWalkSnapshot.IndexEntry e in node.Entries)
                    {
                        if (lost.TryGetValue(e, out int count) && count > 0)
                        {
                            lost[e] = count - 1;
                        }
                        else
                        {
                            gained.Add(e);
                        }
                    }
                }

                foreach ((NtfsWalkSnapshot.IndexEntry e, int count) in lost)
                {
                    if (count == 0)
                    {
                        continue;
                    }

                    int at = count == 1 && parent.Records.TryGetValue(e.RecordNumber, out NtfsWalkSnapshot.Record? was) && !was.IsDirectory
                        ? index.Find(string.Concat(path, "/", e.Name), e.RecordNumber) : -1;
                    if (at < 0 || !removed.Add(at))
                    {
                        return null;
                    }
                }

                foreach (NtfsWalkSnapshot.IndexEntry e in gained)
                {
                    if (!_records.TryGetValue(e.RecordNumber, out NtfsWalkSnapshot.Record? record) || record.IsDirectory
                        || (e.Sequence != 0 && e.Sequence != record.Sequence))
                    {
                        return null;
                    }

                    added.Add(new NtfsSnapshotFile(string.Concat(path, "/", e.Name), record, e.ParentRecordNumber));
                }
            }

            // The names the rewalked directories kept of a reloaded record, made again with the record as it is now.
            foreach ((long number, NtfsWalkSnapshot.Record? now) in _records.Changes)
            {
                if (!parent.Records.TryGetValue(number, out NtfsWalkSnapshot.Record? old))
                {
                    continue;
                }

                foreach (int at in index.NamesOf(number))
                {
                    if (removed.Contains(at))
                    {
                        continue;
                    }

                    if (now is null || now.Sequence != old.Sequence)
                    {
                        return null;
                    }

                    NtfsSnapshotFile f = parent.Files[at];
                    removed.Add(at);
                    added.Add(new NtfsSnapshotFile(f.Path, now, f.ParentRecordNumber));
                }
            }

            var names = new Dictionary<long, int>();
            foreach (int at in removed)
            {
                long number = parent.Files[at].RecordNumber;
                names[number] = names.GetValueOrDefault(number) - 1;
            }

            foreach (NtfsSnapshotFile f in added)
            {
                names[f.RecordNumber] = names.GetValueOrDefault(f.RecordNumber) + 1;
            }

            var records = new OverlayMap<NtfsWalkSnapshot.Record>(parent.Records);
            foreach ((long number, NtfsWalkSnapshot.Record? now) in _records.Changes)
            {
                bool named = number == RootRecordNumber || index.NameCount(number) + names.GetValueOrDefault(number) > 0;
                if (named && now is null)
                {
                    return null;
                }

                if (named)
                {
                    records.Set(number, now!);
                }
                else
                {
                    records.Remove(number);
                }
            }

            foreach ((long number, int delta) in names)
            {
                if (delta != 0 && !_records.Changes.ContainsKey(number) && index.NameCount(number) + delta == 0)
                {
                    records.Remove(number);
                }
            }

            return (records, removed, added);
        }

        private byte[] ReadBootSector()
        {
            byte[] sector = new byte[BootSector.Size];
            _volume._source.ReadExactly(sector, 0);
            return sector;
        }

        /// <summary>Walks the whole volume from the root.</summary>
        public void CaptureAll(CancellationToken cancellationToken)
        {
            Load([RootRecordNumber], cancellationToken);
            if (!_records.TryGetValue(RootRecordNumber, out NtfsWalkSnapshot.Record? root) || !root.IsDirectory)
            {
                throw new NtfsFormatException(_volume.Name, "NTFS root directory", _volume._mft.RecordOffset(RootRecordNumber),
                    _failures.TryGetValue(RootRecordNumber, out string? why) ? why : "record 5 is not a directory");
            }

            WalkLevels([RootRecordNumber], cancellationToken);
        }

        /// <summary>Patches the parent's snapshot from the records and blocks in the divergence.</summary>
        public void Patch(CancellationToken cancellationToken)
        {
            NtfsWalkSnapshot parent = _parent!;
            RangeSet changed = _changed!;
            // The records and directories start as the parent's (_records and _directories lie over them). Records lying
            // in the divergence, and which base record each belongs to in the parent.
            NtfsWalkSnapshot.PatchIndex index = parent.Index;
            Dictionary<long, long> owners = index.Owners;
            SortedSet<long> touched = TouchedRecords(changed);
            var bases = new SortedSet<long>();
            foreach (NtfsWalkSnapshot.Record r in index.WithAttributeLists)
            {
                if (changed.Overlaps(r.AttributeListRanges))
                {
                    bases.Add(r.Number);
                }
            }

            // Read what the divergence holds: a base record is reloaded, an extension record makes its base (old and new) reloaded.
            ForEachRaw([.. touched], (number, record) =>
            {
                if (owners.TryGetValue(number, out long owner))
                {
                    bases.Add(owner);
                }

                if (record is null)
                {
                    // Unparsable (never used, or garbage): a base that was listed is gone or damaged; reloading says which.
                    if (parent.Records.ContainsKey(number))
                    {
                        bases.Add(number);
                    }

                    return;
                }

                if (record.InUse && record.BaseRecordNumber != 0)
                {
                    bases.Add(record.BaseRecordNumber);
                }
                else if (record.InUse || parent.Records.ContainsKey(number))
                {
                    bases.Add(number);
                }
            }, cancellationToken);

            foreach (long number in bases)
            {
                _records.Remove(number);
            }

            Load([.. bases], cancellationToken);

            // Directories to walk again: their records changed, or a block or $BITMAP of theirs lies in the divergence.
            var rewalk = new SortedSet<long>();
            var hit = new HashSet<int>();
            index.DirectoryRanges.Overlapping(changed.Ranges, hit);
            foreach (int tag in hit)
            {
                rewalk.Add(index.DirectoryAt(tag));
            }

            foreach (long number in bases)
            {
                if (parent.Directories.ContainsKey(number))
                {
                    rewalk.Add(number);
                }
            }

            foreach (long number in bases)
            {
                if (_records.TryGetValue(number, out NtfsWalkSnapshot.Record? r) && r.IsDirectory)
                {
                    rewalk.Add(number);
                }
            }

            foreach (long number in rewalk)
            {
                _directories.Remove(number);
            }

            // A directory that is no longer one (or no longer loadable) keeps no index.
            var start = rewalk.Where(n => _records.TryGetValue(n, out NtfsWalkSnapshot.Record? r) && r.IsDirectory && !r.IsReparsePoint).ToList();
            foreach (long number in start)
            {
                if (!_directoryFiles.ContainsKey(number))
                {
                    _directoryFiles[number] = _volume._mft.LoadFile(number);
                    RecordsDecoded++;
                }
            }

            WalkLevels(start, cancellationToken, previous: parent.Directories);
        }

        // Walks the indexes of directories, level by level, loading the records their entries name when not known yet;
        // subdirectories not known yet are walked in turn. previous: the parent's directories to take unchanged blocks from.
        private void WalkLevels(List<long> level, CancellationToken cancellationToken,
            IReadOnlyDictionary<long, NtfsWalkSnapshot.Directory>? previous = null)
        {
            while (level.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var named = new SortedSet<long>();
                foreach (long number in level)
                {
                    NtfsWalkSnapshot.Directory? before = null;
                    previous?.TryGetValue(number, out before);
                    if (!WalkDirectory(number, before))
                    {
                        continue;
                    }

                    foreach (NtfsWalkSnapshot.IndexNode node in _directories[number].Nodes)
                    {
                        foreach (NtfsWalkSnapshot.IndexEntry e in node.Entries)
                        {
                            if (!_records.ContainsKey(e.RecordNumber) && !_unloadable.Contains(e.RecordNumber))
                            {
                                named.Add(e.RecordNumber);
                            }
                        }
                    }
                }

                Load([.. named], cancellationToken);
                var next = new List<long>();
                var queued = new HashSet<long>();
                foreach (long number in level)
                {
                    if (!_directories.TryGetValue(number, out NtfsWalkSnapshot.Directory? directory))
                    {
                        continue;
                    }

                    foreach (NtfsWalkSnapshot.IndexNode node in directory.Nodes)
                    {
                        foreach (NtfsWalkSnapshot.IndexEntry e in node.Entries)
                        {
                            if (_records.TryGetValue(e.RecordNumber, out NtfsWalkSnapshot.Record? r) && r.IsDirectory && !r.IsReparsePoint
                                && !_directories.ContainsKey(r.Number) && _directoryFiles.ContainsKey(r.Number) && queued.Add(r.Number))
                            {
                                next.Add(r.Number);
                            }
                        }
                    }
                }

                level = next;
            }
        }

        // Reads one directory's index into _directories (false, with a problem noted, when it is corrupt).
        private bool WalkDirectory(long number, NtfsWalkSnapshot.Directory? before)
        {
            NtfsFile file = _directoryFiles[number];
            try
            {
                var index = new DirectoryIndex(_volume._source, file, _volume.ClusterSize, _volume.Name, _volume._mft.RecordOffset(number));
                long minRecord = number == RootRecordNumber ? FirstUserRecordNumber : 0;
                Dictionary<long, NtfsWalkSnapshot.IndexNode>? known = before?.Nodes.ToDictionary(n => n.Vcn);
                ImmutableArray<NtfsWalkSnapshot.IndexNode> nodes = index.ReadNodes(known, _changed, minRecord, ref _blocksRead);
                _directories.Set(number, new NtfsWalkSnapshot.Directory(number, index.BitmapRanges(), nodes));
                DirectoriesWalked++;
                return true;
            }
            catch (Exception ex) when (ex is DiskFormatException or EndOfStreamException)
            {
                _failures[number] = ex.Message;
                return false;
            }
        }

        // Loads base records (ascending, distinct) into _records (directories also into _directoryFiles); the others
        // into _unloadable, with a problem noted when they fail to decode.
        private void Load(long[] numbers, CancellationToken cancellationToken) =>
            ForEachRaw(numbers, (number, record) =>
            {
                if (record is null)
                {
                    _unloadable.Add(number);
                    return;
                }

                try
                {
                    NtfsFile file = _volume._mft.LoadFile(record);
                    _records.Set(number, _volume.Describe(file));
                    if (file.Base.IsDirectory)
                    {
                        _directoryFiles[number] = file;
                    }
                }
                catch (Exception ex) when (ex is DiskFormatException or EndOfStreamException)
                {
                    _unloadable.Add(number);
                    if (record.InUse && record.BaseRecordNumber == 0)
                    {
                        _failures[number] = ex.Message;
                    }
                }
            }, cancellationToken);

        // Reads records (ascending, distinct, inside $MFT) in batches and hands each one decoded, or null when it does
        // not decode (a never-used record, garbage, a bad fix-up).
        private void ForEachRaw(long[] numbers, Action<long, FileRecord?> action, CancellationToken cancellationToken)
        {
            MasterFileTable mft = _volume._mft;
            numbers = [.. numbers.Where(n => n >= 0 && n < mft.RecordCount)];
            if (numbers.Length == 0)
            {
                return;
            }

            int size = mft.RecordSize;
            byte[] raw = ArrayPool<byte>.Shared.Rent(Math.Min(numbers.Length, SnapshotBatchRecords) * size);
            try
            {
                for (int first = 0; first < numbers.Length; first += SnapshotBatchRecords)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    ReadOnlySpan<long> batch = numbers.AsSpan(first, Math.Min(SnapshotBatchRecords, numbers.Length - first));
                    mft.ReadRaw(batch, raw);
                    for (int i = 0; i < batch.Length; i++)
                    {
                        FileRecord? record;
                        try
                        {
                            record = mft.ParseRecord(raw.AsSpan(i * size, size), batch[i]);
                        }
                        catch (NtfsFormatException)
                        {
                            record = null;
                        }

                        RecordsDecoded++;
                        action(batch[i], record);
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(raw);
            }
        }

        // The records of $MFT that share a byte with the divergence.
        private SortedSet<long> TouchedRecords(RangeSet changed)
        {
            var touched = new SortedSet<long>();
            int clusterSize = _volume.ClusterSize;
            int recordSize = _volume.MftRecordSize;
            long count = _volume._mft.RecordCount;
            foreach (DataRun run in _volume._mft.Runs)
            {
                if (run.IsSparse)
                {
                    continue;
                }

                var onVolume = new ByteRange(run.Lcn * clusterSize, run.ClusterCount * clusterSize);
                foreach (ByteRange d in changed.Ranges)
                {
                    ByteRange common = d.Intersect(onVolume);
                    if (common.Length <= 0)
                    {
                        continue;
                    }

                    long streamStart = (run.Vcn * clusterSize) + (common.Offset - onVolume.Offset);
                    long last = Math.Min(count - 1, (streamStart + common.Length - 1) / recordSize);
                    for (long n = streamStart / recordSize; n <= last; n++)
                    {
                        touched.Add(n);
                    }
                }
            }

            return touched;
        }
    }

    // What a snapshot keeps of a loaded file: its entry's sector map, streams and flags, its extension records and where a
    // non-resident $ATTRIBUTE_LIST lies. Throws what making its entry throws (a stream whose runs contradict its size).
    private NtfsWalkSnapshot.Record Describe(NtfsFile file)
    {
        NtfsFileEntry entry = CreateEntry(file, string.Empty, 0, default);
        var map = new SectorMapBuffer();
        Map(entry, map);
        var streams = ImmutableArray.CreateBuilder<NtfsSnapshotStream>(entry.StreamCount);
        for (int i = 0; i < entry.StreamCount; i++)
        {
            NtfsAttribute s = entry.StreamData(i);
            streams.Add(new NtfsSnapshotStream(s.Name, s.DataSize, s.IsResident, [.. map.Segment(i + 1)]));
        }

        ImmutableArray<ByteRange> listRanges = [];
        if (file.First(NtfsAttributeType.AttributeList) is { IsResident: false } list)
        {
            listRanges = [.. list.Runs.Where(r => !r.IsSparse).Select(r => new ByteRange(r.Lcn * ClusterSize, r.ClusterCount * ClusterSize))];
        }

        return new NtfsWalkSnapshot.Record(file.RecordNumber, file.Base.SequenceNumber, entry.IsDirectory, entry.IsReparsePoint,
            entry.ExtensionRecordNumbers, listRanges, [.. map.Segment(0)], streams.MoveToImmutable());
    }
}
