using System.Collections.Immutable;
using Prism.Disks.Guest;
using Prism.Disks.IO;

namespace Prism.Disks.Ntfs;

/// <summary>
/// What a whole walk of an NTFS volume found, kept as the starting point of its clones' walks
/// (<see cref="NtfsVolume.WalkIncremental"/>): every file and named stream with its path(s), record number and
/// sequence, size and sector map; where each file's MFT records and attribute-list data lie; and the directory structure
/// (per directory, the nodes of its $I30 tree: where each index block lies and the names it holds). Immutable; written
/// and read with <see cref="Write"/> / <see cref="Read"/> so that it can be kept with a golden's baseline.
/// </summary>
public sealed partial class NtfsWalkSnapshot
{
    private const int MaxDirectoryDepth = 1024;

    internal NtfsWalkSnapshot(Geometry volume, ImmutableArray<DataRun> mftRuns, long mftRecordCount, byte[] bootSector,
        IReadOnlyDictionary<long, Record> records, IReadOnlyDictionary<long, Directory> directories, IReadOnlyDictionary<long, string> failures)
    {
        Volume = volume;
        MftRuns = mftRuns;
        MftRecordCount = mftRecordCount;
        BootSector = bootSector;
        var problems = new List<string>();
        var failed = new HashSet<long>();
        Files = Assemble(records, directories, failures, problems, failed);

        // Only what the file list reaches is kept: records and directories a change left behind are dropped.
        var keptRecords = new Dictionary<long, Record>(records.Count);
        if (records.TryGetValue(NtfsVolume.RootRecordNumber, out Record? root))
        {
            keptRecords[root.Number] = root;
        }

        foreach (NtfsSnapshotFile f in Files)
        {
            keptRecords.TryAdd(f.RecordNumber, records[f.RecordNumber]);
        }

        Records = keptRecords.Count == records.Count ? records : keptRecords;
        Directories = directories.Keys.All(keptRecords.ContainsKey)
            ? directories : directories.Where(d => keptRecords.ContainsKey(d.Key)).ToDictionary(d => d.Key, d => d.Value);
        Failures = failures.Where(f => failed.Contains(f.Key)).ToDictionary(f => f.Key, f => f.Value);
        Problems = [.. problems];
    }

    // A clone's snapshot whose directory tree is its parent's (no directory added, removed, moved or turned into a file):
    // the parent's file list with the names the changed directories lost and gained, and the names of the changed records
    // anew. Nothing is assembled again; the records and directories are the parent's with the changes laid over them.
    internal NtfsWalkSnapshot(NtfsWalkSnapshot parent, Geometry volume, ImmutableArray<DataRun> mftRuns, long mftRecordCount,
        IReadOnlyDictionary<long, Record> records, IReadOnlyDictionary<long, Directory> directories, IEnumerable<int> removed,
        List<NtfsSnapshotFile> added)
    {
        Volume = volume;
        MftRuns = mftRuns;
        MftRecordCount = mftRecordCount;
        BootSector = parent.BootSector;
        Records = records;
        Directories = directories;
        Failures = new Dictionary<long, string>();
        Problems = [];
        Base = parent;
        RemovedFromBase = [.. removed.Order()];
        added.Sort(static (a, b) => string.CompareOrdinal(a.Path, b.Path));
        AddedToBase = [.. added];
        ImmutableArray<NtfsSnapshotFile> before = parent.Files;
        int[] positions = new int[added.Count];
        for (int i = 0; i < positions.Length; i++)
        {
            positions[i] = parent.LowerBound(added[i].Path);
        }

        AddedPositions = [.. positions];
        var files = new NtfsSnapshotFile[before.Length - RemovedFromBase.Length + added.Count];
        int n = 0, a = 0, r = 0;
        for (int i = 0; i <= before.Length; i++)
        {
            while (a < positions.Length && positions[a] == i)
            {
                files[n++] = added[a++];
            }

            if (i == before.Length)
            {
                break;
            }

            if (r < RemovedFromBase.Length && RemovedFromBase[r] == i)
            {
                r++;
                continue;
            }

            files[n++] = before[i];
        }

        Files = System.Runtime.InteropServices.ImmutableCollectionsMarshal.AsImmutableArray(files);
    }

    /// <summary>Every file and directory under every name, sorted by path (ordinal); the root itself is not listed.</summary>
    public ImmutableArray<NtfsSnapshotFile> Files { get; }

    // For a clone's snapshot patched from its parent's without assembling its file list again: the parent, the indexes in
    // its Files of the names that are gone or changed (ascending), the names that are new or changed (by path) and where
    // each goes (the index in the parent's Files it comes before). Null and empty otherwise.
    internal NtfsWalkSnapshot? Base { get; }

    internal ImmutableArray<int> RemovedFromBase { get; } = [];

    internal ImmutableArray<NtfsSnapshotFile> AddedToBase { get; } = [];

    internal ImmutableArray<int> AddedPositions { get; } = [];

    /// <summary>
    /// What the walk skipped, one sentence each (a corrupt record, a stale reference, an unreadable index), as a full walk
    /// reports them; empty for a healthy volume. A snapshot with problems is never patched: its clones are walked whole.
    /// </summary>
    public ImmutableArray<string> Problems { get; }

    /// <summary>True when <see cref="Problems"/> is not empty.</summary>
    public bool HasErrors => !Problems.IsEmpty;

    /// <summary>Offset of the volume on the disk its sector maps refer to.</summary>
    public long DiskOffset => Volume.DiskOffset;

    /// <summary>The volume's serial number.</summary>
    public ulong SerialNumber => Volume.SerialNumber;

    internal Geometry Volume { get; }

    internal ImmutableArray<DataRun> MftRuns { get; }

    internal long MftRecordCount { get; }

    // The boot sector's first BootSector.Size bytes.
    internal byte[] BootSector { get; }

    // Why records or directory indexes the file list names could not be loaded (record number -> reason).
    internal IReadOnlyDictionary<long, string> Failures { get; }

    // Base records by number: every file and directory the walk reached (the root included).
    internal IReadOnlyDictionary<long, Record> Records { get; }

    // Directories by record number.
    internal IReadOnlyDictionary<long, Directory> Directories { get; }

    /// <summary>
    /// The metadata this snapshot was made from, as ranges of the underlying disk, ascending and coalesced: the boot
    /// sector, every listed file's MFT records and non-resident $ATTRIBUTE_LIST, every index block and non-resident
    /// $I30 $BITMAP. When a clone's divergence touches none of them, its file list and sector maps are this snapshot's.
    /// </summary>
    public IReadOnlyList<ByteRange> GetMetadataRanges()
    {
        var ranges = new List<ByteRange> { new(DiskOffset, BootSector.Length) };
        foreach (Record r in Records.Values)
        {
            ranges.AddRange(r.MftRecords);
            ranges.AddRange(r.AttributeListRanges.Select(x => new ByteRange(x.Offset + DiskOffset, x.Length)));
        }

        foreach (Directory d in Directories.Values)
        {
            ranges.AddRange(d.BitmapRanges.Select(x => new ByteRange(x.Offset + DiskOffset, x.Length)));
            foreach (IndexNode n in d.Nodes)
            {
                ranges.AddRange(n.Ranges.Select(x => new ByteRange(x.Offset + DiskOffset, x.Length)));
            }
        }

        return ByteRanges.Coalesce(ranges);
    }

    // The file list: depth first from the root through the directories' index entries, as a full walk lists it (system
    // files of the root left out by the index reader already; a directory reached twice descended once; reparse points
    // not followed). An entry whose record is missing or has another sequence number is a problem, not a file.
    private static ImmutableArray<NtfsSnapshotFile> Assemble(IReadOnlyDictionary<long, Record> records,
        IReadOnlyDictionary<long, Directory> directories, IReadOnlyDictionary<long, string> failures, List<string> problems, HashSet<long> failed)
    {
        var files = new List<NtfsSnapshotFile>(records.Count);
        var visited = new HashSet<long> { NtfsVolume.RootRecordNumber };
        var pending = new Stack<(long Number, string Path, int Depth)>();
        pending.Push((NtfsVolume.RootRecordNumber, string.Empty, 0));
        while (pending.TryPop(out (long Number, string Path, int Depth) dir))
        {
            if (!directories.TryGetValue(dir.Number, out Directory? directory))
            {
                failed.Add(dir.Number);
                problems.Add($"{(dir.Path.Length == 0 ? "/" : dir.Path)}: the index of directory record {dir.Number} could not be read"
                    + (failures.TryGetValue(dir.Number, out string? why) ? ": " + why : string.Empty));
                continue;
            }

            foreach (IndexNode node in directory.Nodes)
            {
                foreach (IndexEntry e in node.Entries)
                {
                    string path = string.Concat(dir.Path, "/", e.Name);
                    if (!records.TryGetValue(e.RecordNumber, out Record? record))
                    {
                        failed.Add(e.RecordNumber);
                        problems.Add($"{path}: record {e.RecordNumber} could not be loaded"
                            + (failures.TryGetValue(e.RecordNumber, out string? why) ? ": " + why : string.Empty));
                        continue;
                    }

                    if (e.Sequence != 0 && e.Sequence != record.Sequence)
                    {
                        problems.Add($"{path}: record {e.RecordNumber} has sequence number {record.Sequence}, the index entry expects {e.Sequence}");
                        continue;
                    }

                    files.Add(new NtfsSnapshotFile(path, record, e.ParentRecordNumber));
                    if (record.IsDirectory && !record.IsReparsePoint && dir.Depth + 1 < MaxDirectoryDepth && visited.Add(record.Number))
                    {
                        pending.Push((record.Number, path, dir.Depth + 1));
                    }
                }
            }
        }

        files.Sort(static (a, b) => string.CompareOrdinal(a.Path, b.Path));
        return [.. files];
    }

    // The index of the first file whose path is not below `path` (ordinal).
    private int LowerBound(string path)
    {
        int lo = 0, hi = Files.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (string.CompareOrdinal(Files[mid].Path, path) < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private PatchIndex? _patchIndex;

    /// <summary>What patching a clone from this snapshot looks up (built on first use, shared by every clone).</summary>
    internal PatchIndex Index => LazyInitializer.EnsureInitialized(ref _patchIndex, () => new PatchIndex(this));

    /// <summary>
    /// A snapshot's lookups for patching its clones: every name of a record, the base record of every extension record,
    /// the records with a non-resident $ATTRIBUTE_LIST, and which directory each index block or $BITMAP range belongs to.
    /// </summary>
    internal sealed class PatchIndex
    {
        private readonly NtfsWalkSnapshot _snapshot;

        // Record -> the index in Files of its name; records with several names have them all in _moreNames instead.
        private readonly Dictionary<long, int> _name = [];
        private readonly Dictionary<long, List<int>> _moreNames = [];
        private readonly long[] _directoryNumbers;

        public PatchIndex(NtfsWalkSnapshot snapshot)
        {
            _snapshot = snapshot;
            for (int i = 0; i < snapshot.Files.Length; i++)
            {
                long number = snapshot.Files[i].RecordNumber;
                if (_moreNames.TryGetValue(number, out List<int>? more))
                {
                    more.Add(i);
                }
                else if (_name.Remove(number, out int first))
                {
                    _moreNames[number] = [first, i];
                }
                else
                {
                    _name[number] = i;
                }
            }

            foreach (Record r in snapshot.Records.Values)
            {
                foreach (long extension in r.Extensions)
                {
                    Owners[extension] = r.Number;
                }

                if (!r.AttributeListRanges.IsEmpty)
                {
                    WithAttributeLists.Add(r);
                }
            }

            _directoryNumbers = [.. snapshot.Directories.Keys];
            var ranges = new List<(ByteRange, int)>();
            for (int i = 0; i < _directoryNumbers.Length; i++)
            {
                Directory d = snapshot.Directories[_directoryNumbers[i]];
                ranges.AddRange(d.BitmapRanges.Select(r => (r, i)));
                foreach (IndexNode n in d.Nodes)
                {
                    ranges.AddRange(n.Ranges.Select(r => (r, i)));
                }
            }

            DirectoryRanges = new ByteRangeIndex(ranges);
        }

        /// <summary>Extension record -> its base record.</summary>
        public Dictionary<long, long> Owners { get; } = [];

        /// <summary>The records with a non-resident $ATTRIBUTE_LIST.</summary>
        public List<Record> WithAttributeLists { get; } = [];

        /// <summary>Index blocks and $BITMAP ranges (volume offsets), tagged with <see cref="DirectoryAt"/>'s index.</summary>
        public ByteRangeIndex DirectoryRanges { get; }

        public long DirectoryAt(int tag) => _directoryNumbers[tag];

        /// <summary>The indexes in Files of the names of record <paramref name="number"/>.</summary>
        public IEnumerable<int> NamesOf(long number) =>
            _name.TryGetValue(number, out int at) ? [at] : _moreNames.TryGetValue(number, out List<int>? more) ? more : [];

        public int NameCount(long number) => _name.ContainsKey(number) ? 1 : _moreNames.TryGetValue(number, out List<int>? more) ? more.Count : 0;

        /// <summary>The path of directory <paramref name="number"/> ("" for the root), or null when it has not exactly one name.</summary>
        public string? PathOf(long number) =>
            number == NtfsVolume.RootRecordNumber ? string.Empty : _name.TryGetValue(number, out int at) ? _snapshot.Files[at].Path : null;

        /// <summary>The index in Files of <paramref name="path"/> naming <paramref name="record"/>, or -1.</summary>
        public int Find(string path, long record)
        {
            int at = _snapshot.LowerBound(path);
            return at < _snapshot.Files.Length && string.Equals(_snapshot.Files[at].Path, path, StringComparison.Ordinal)
                && _snapshot.Files[at].RecordNumber == record ? at : -1;
        }
    }

    /// <summary>Volume geometry a clone must share with its parent's snapshot.</summary>
    internal readonly record struct Geometry(long DiskOffset, long VolumeSize, int BytesPerSector, int ClusterSize, int MftRecordSize,
        ulong SerialNumber);

    /// <summary>A base record as the walk decoded it (with its extension records and attribute list).</summary>
    /// <param name="Number">Record number.</param>
    /// <param name="Sequence">Sequence number.</param>
    /// <param name="IsDirectory">The record is a directory.</param>
    /// <param name="IsReparsePoint">The file has a $REPARSE_POINT.</param>
    /// <param name="Extensions">Its extension records.</param>
    /// <param name="AttributeListRanges">Volume ranges of a non-resident $ATTRIBUTE_LIST.</param>
    /// <param name="MftRecords">Disk ranges of its records (sector map segment 0).</param>
    /// <param name="Streams">Its $DATA streams with their sector maps.</param>
    internal sealed record Record(long Number, ushort Sequence, bool IsDirectory, bool IsReparsePoint, ImmutableArray<long> Extensions,
        ImmutableArray<ByteRange> AttributeListRanges, ImmutableArray<ByteRange> MftRecords, ImmutableArray<NtfsSnapshotStream> Streams);

    /// <summary>A directory's $I30 tree: the volume ranges of a non-resident $BITMAP, and the nodes reachable from the root.</summary>
    internal sealed record Directory(long Number, ImmutableArray<ByteRange> BitmapRanges, ImmutableArray<IndexNode> Nodes);

    /// <summary>
    /// One node of a $I30 tree: the root (<see cref="RootVcn"/>, inside the directory's record) or an index block (its
    /// volume ranges); the entries naming files (end markers, DOS names, the directory itself and, in the root directory,
    /// system files left out) and the VCNs of its subnodes.
    /// </summary>
    internal sealed record IndexNode(long Vcn, ImmutableArray<ByteRange> Ranges, ImmutableArray<IndexEntry> Entries, ImmutableArray<long> Subnodes)
    {
        public const long RootVcn = -1;
    }

    /// <summary>An index entry: a name, the file reference it points to, the parent in its $FILE_NAME key.</summary>
    internal readonly record struct IndexEntry(string Name, long RecordNumber, ushort Sequence, long ParentRecordNumber);
}
