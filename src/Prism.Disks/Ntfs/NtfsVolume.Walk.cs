using System.Buffers;
using System.Runtime.ExceptionServices;
using Prism.Disks.Errors;

namespace Prism.Disks.Ntfs;

/// <summary>The directory walk behind <see cref="NtfsVolume.Enumerate"/> and <see cref="NtfsVolume.Visit"/>, on the caller's thread and one helper.</summary>
public sealed partial class NtfsVolume
{
    // Records loaded by one unit of work: enough to amortize its bookkeeping, few enough to keep both threads busy.
    private const int RecordsPerUnit = 256;

    // How many units may be running or finished ahead of the one the caller consumes (each holds up to RecordsPerUnit
    // slots and a record buffer).
    private const int MaxUnitsAhead = 8;

    // How many times (1 ms each) the helper waits for work before it leaves.
    private const int HelperIdleWaits = 4;

    /// <summary>Whether walks use a helper thread (machines with more than one core); tests and benchmarks may turn it off.</summary>
    internal static bool s_useHelper = Environment.ProcessorCount > 1;

    private IEnumerable<NtfsFileEntry> EnumerateCore(NtfsFile start, string startPath, bool recursive, bool includeSystemFiles,
        Action<NtfsEnumerationError>? onError, CancellationToken cancellationToken)
    {
        var walk = new DirectoryWalk(this, start, startPath, recursive, includeSystemFiles);
        try
        {
            while (walk.Next() is Unit unit)
            {
                if (ReportDirectory(unit, onError))
                {
                    continue;
                }

                Slot[] slots = unit.Slots!;
                IndexEntryList names = unit.Directory.Entries!;
                for (int i = 0; i < unit.Count; i++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    ref Slot slot = ref slots[i];
                    if (slot.Entry is NtfsFileEntry entry)
                    {
                        yield return entry;
                    }
                    else if (slot.IsPlain)
                    {
                        yield return CreateEntry(slot.Plain, PathOf(unit.Directory.Path, names, names[unit.First + i]));
                    }
                    else
                    {
                        Report(unit, i, onError);
                    }
                }

                walk.Consumed(unit);
            }
        }
        finally
        {
            walk.Stop();
        }
    }

    private void VisitCore(NtfsFileVisitor visitor, NtfsFile start, string startPath, bool recursive, bool includeSystemFiles,
        Action<NtfsEnumerationError>? onError, CancellationToken cancellationToken)
    {
        var walk = new DirectoryWalk(this, start, startPath, recursive, includeSystemFiles);
        var map = new SectorMapBuffer();
        char[] path = ArrayPool<char>.Shared.Rent(256);
        try
        {
            while (walk.Next() is Unit unit)
            {
                if (ReportDirectory(unit, onError))
                {
                    continue;
                }

                Slot[] slots = unit.Slots!;
                IndexEntryList names = unit.Directory.Entries!;
                string dirPath = unit.Directory.Path;
                for (int i = 0; i < unit.Count; i++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    ref Slot slot = ref slots[i];
                    if (slot.Entry is NtfsFileEntry entry)
                    {
                        visitor(new NtfsFileView(this, map, entry));
                    }
                    else if (slot.IsPlain)
                    {
                        // The path is built in a reused buffer: dirPath + "/" + name.
                        ReadOnlySpan<char> name = names.Name(names[unit.First + i]);
                        int length = dirPath.Length + 1 + name.Length;
                        if (path.Length < length)
                        {
                            ArrayPool<char>.Shared.Return(path);
                            path = ArrayPool<char>.Shared.Rent(length);
                        }

                        dirPath.CopyTo(path);
                        path[dirPath.Length] = '/';
                        name.CopyTo(path.AsSpan(dirPath.Length + 1));
                        visitor(new NtfsFileView(this, map, path.AsSpan(0, length), ref slot.Plain));
                    }
                    else
                    {
                        Report(unit, i, onError);
                    }
                }

                walk.Consumed(unit);
            }
        }
        finally
        {
            walk.Stop();
            ArrayPool<char>.Shared.Return(path);
        }
    }

    // A Directory unit: reports its index error, if any (true); a Records unit: false. A unit that failed outright
    // (not a format error of one entry) throws what it threw, where a one-thread walk would have.
    private static bool ReportDirectory(Unit unit, Action<NtfsEnumerationError>? onError)
    {
        if (unit.Failure is not null)
        {
            ExceptionDispatchInfo.Throw(unit.Failure);
        }

        if (unit.Kind != UnitKind.Directory)
        {
            return false;
        }

        if (unit.Directory.IndexError is Exception error)
        {
            string path = unit.Directory.Path.Length == 0 ? "/" : unit.Directory.Path;
            onError?.Invoke(new NtfsEnumerationError(path, unit.Directory.File.RecordNumber, error));
        }

        return true;
    }

    // Slot i of a Records unit failed: a format error is reported and skipped, anything else thrown.
    private static void Report(Unit unit, int i, Action<NtfsEnumerationError>? onError)
    {
        ref Slot slot = ref unit.Slots![i];
        if (slot.Error is not (DiskFormatException or EndOfStreamException))
        {
            ExceptionDispatchInfo.Throw(slot.Error!);
        }

        IndexEntryList names = unit.Directory.Entries!;
        onError?.Invoke(new NtfsEnumerationError(PathOf(unit.Directory.Path, names, names[unit.First + i]), slot.RecordNumber, slot.Error));
    }

    // Fills a Records unit's slots from the records its batch read (few large reads, in record order): a plain file as
    // fields, anything else as an entry; notes the subdirectories to descend into. An entry whose record could not be
    // read with the others is loaded on its own, so it fails (or not) exactly as it would alone.
    private void FillSlots(Unit unit, RecordLayout layout, bool recursive)
    {
        DirectoryJob dir = unit.Directory;
        IndexEntryList entries = dir.Entries!;
        Slot[] slots = unit.Slots!;
        RecordBatch batch = unit.Batch!;
        // Slots come from a pool uncleared: reset what says what a slot holds (a plain file's fields are only read when
        // IsPlain says they were written).
        for (int i = 0; i < unit.Count; i++)
        {
            ref Slot slot = ref slots[i];
            slot.Loaded = false;
            slot.IsPlain = false;
            slot.Entry = null;
            slot.Error = null;
        }

        if (unit.BatchRead)
        {
            for (int n = 0; n < batch.Count; n++)
            {
                int owner = batch.OwnerOf(n);
                ref readonly IndexEntry e = ref entries[unit.First + owner];
                ref Slot slot = ref slots[owner];
                slot.Loaded = true;
                slot.RecordNumber = e.RecordNumber;
                try
                {
                    Span<byte> record = batch.Read(n, layout);
                    if (TryReadPlain(layout, e.SequenceNumber, e.ParentRecordNumber, e.Times, out slot.Plain))
                    {
                        slot.IsPlain = true;
                    }
                    else
                    {
                        NtfsFile file = _mft.LoadFile(FileRecord.FromLayout(layout, record), e.SequenceNumber);
                        slot.Entry = CreateEntry(file, PathOf(dir.Path, entries, e), e.ParentRecordNumber, e.Times);
                    }
                }
                catch (Exception ex)
                {
                    slot.Error = ex;
                }
            }
        }

        for (int i = 0; i < unit.Count; i++)
        {
            ref Slot slot = ref slots[i];
            if (!slot.Loaded)
            {
                ref readonly IndexEntry e = ref entries[unit.First + i];
                slot.RecordNumber = e.RecordNumber;
                try
                {
                    NtfsFile file = _mft.LoadFile(e.RecordNumber, e.SequenceNumber);
                    slot.Entry = CreateEntry(file, PathOf(dir.Path, entries, e), e.ParentRecordNumber, e.Times);
                }
                catch (Exception ex)
                {
                    slot.Error = ex;
                }
            }

            // Plain files are never directories.
            if (recursive && slot.Entry is { Directory: NtfsFile sub, IsReparsePoint: false } subdirectory)
            {
                (unit.Subdirectories ??= []).Add((sub, subdirectory.Path));
            }
        }
    }

    private static string PathOf(string dirPath, IndexEntryList entries, in IndexEntry e) => string.Concat(dirPath, "/", entries.Name(e));

    private enum UnitKind
    {
        // Read a directory's index.
        Directory,

        // Read and decode the records of a range of a directory's entries.
        Records,

        // Stands for a directory's subdirectories until all its Records units are filled.
        Subdirectories,
    }

    private enum UnitState
    {
        Pending,
        Running,
        Done,
    }

    // One index entry of a Records unit, once filled: a plain file, an entry, or what loading it threw.
    private struct Slot
    {
        public bool Loaded;
        public long RecordNumber;
        public bool IsPlain;
        public PlainFile Plain;
        public NtfsFileEntry? Entry;
        public Exception? Error;
    }

    private sealed class DirectoryJob(NtfsFile file, string path, int depth)
    {
        public NtfsFile File { get; } = file;

        public string Path { get; } = path;

        public int Depth { get; } = depth;

        // The directory's index entries (their names make the paths), until its last Records unit is consumed.
        public IndexEntryList? Entries { get; set; }

        // Reading the index failed with a format error: reported, and the entries read before it are listed.
        public Exception? IndexError { get; set; }

        public List<Unit> RecordUnits { get; } = [];

        // Records units not filled yet (the subdirectories are known when none is left).
        public int UnitsToFill { get; set; }

        // Records units not consumed yet (the names are needed until none is left).
        public int UnitsToConsume { get; set; }
    }

    private sealed class Unit(UnitKind kind, DirectoryJob directory)
    {
        public UnitKind Kind { get; } = kind;

        public DirectoryJob Directory { get; } = directory;

        public UnitState State { get; set; }

        public int First { get; init; }

        public int Count { get; init; }

        // Records: the batch the raw records are read into, and whether reading them together worked.
        public RecordBatch? Batch { get; set; }

        public bool BatchRead { get; set; }

        public Slot[]? Slots { get; set; }

        public List<(NtfsFile Dir, string Path)>? Subdirectories { get; set; }

        // Thrown while running, not a format error of one entry: rethrown when the caller reaches the unit.
        public Exception? Failure { get; set; }

        public LinkedListNode<Unit>? Node { get; set; }
    }

    // What a thread needs to run units: what its index reads reuse and the layout its records are read into.
    private sealed class Worker
    {
        public DirectoryIndex.WalkScratch IndexScratch { get; } = new();

        public RecordLayout Layout { get; } = new();
    }

    /// <summary>
    /// The plan of a walk: units in the order the caller consumes them (depth first, index order). The caller takes the
    /// head when it is done, runs it when nobody has started it, and otherwise helps with later units. A helper on the
    /// thread pool runs the first pending units up to <see cref="MaxUnitsAhead"/> ahead and leaves when there are none.
    /// A Records unit is read and decoded by one thread, while the records are in its cache, into slots that hold no
    /// object for a plain file: decoding allocates next to nothing, so garbage collections, which stop both threads,
    /// stay rare. Subdirectories are added in plan order only, so which of two paths to one directory is walked is
    /// decided as a one-thread walk decides it.
    /// </summary>
    private sealed class DirectoryWalk
    {
        private readonly NtfsVolume _volume;
        private readonly bool _recursive;
        private readonly bool _includeSystemFiles;
        private readonly object _gate = new();
        private readonly LinkedList<Unit> _plan = new();
        private readonly HashSet<long> _visited;
        private readonly Stack<IndexEntryList> _freeLists = new();
        private readonly Stack<RecordBatch> _freeBatches = new();
        private readonly List<RecordBatch> _batches = [];
        private readonly long[] _numbers = new long[RecordBatch.MaxRecords];
        private readonly Worker _callerWorker = new();
        private readonly Worker _helperWorker = new();
        private readonly int _recordsPerUnit;
        private bool _helperRunning;
        private bool _stopped;
        private int _ahead;

        public DirectoryWalk(NtfsVolume volume, NtfsFile start, string startPath, bool recursive, bool includeSystemFiles)
        {
            _volume = volume;
            _recursive = recursive;
            _includeSystemFiles = includeSystemFiles;
            _visited = [start.RecordNumber];
            _recordsPerUnit = Math.Min(RecordsPerUnit, NewBatch().Capacity);
            Append(null, new Unit(UnitKind.Directory, new DirectoryJob(start, startPath, 0)));
        }

        /// <summary>The next unit in plan order, done (running what it must meanwhile); null at the end.</summary>
        public Unit? Next()
        {
            Monitor.Enter(_gate);
            try
            {
                while (true)
                {
                    LinkedListNode<Unit>? head = _plan.First;
                    if (head is null)
                    {
                        return null;
                    }

                    Unit unit = head.Value;
                    if (unit.Kind == UnitKind.Subdirectories)
                    {
                        // Everything before it is consumed, so its directory's Records units are all filled.
                        ExpandSubdirectories(unit);
                        continue;
                    }

                    if (unit.State == UnitState.Done)
                    {
                        _plan.RemoveFirst();
                        _ahead--;
                        // Room in the window: a waiting helper may take more.
                        Monitor.PulseAll(_gate);
                        EnsureHelper();
                        return unit;
                    }

                    Unit? work = unit.State == UnitState.Pending ? Start(unit) : TakeWork();
                    if (work is null)
                    {
                        // The helper runs the head and there is nothing else to do: wait for it.
                        Monitor.Wait(_gate);
                        continue;
                    }

                    Monitor.Exit(_gate);
                    try
                    {
                        Run(work, _callerWorker);
                    }
                    finally
                    {
                        Monitor.Enter(_gate);
                    }

                    Finish(work);
                }
            }
            finally
            {
                Monitor.Exit(_gate);
            }
        }

        /// <summary>Gives back what a consumed Records unit borrowed, and its directory's names after its last one.</summary>
        public void Consumed(Unit unit)
        {
            if (unit.Slots is Slot[] slots)
            {
                // Not cleared: the next unit resets the slots it uses (entries and exceptions are dropped there).
                unit.Slots = null;
                ArrayPool<Slot>.Shared.Return(slots);
            }

            lock (_gate)
            {
                if (--unit.Directory.UnitsToConsume == 0)
                {
                    ReleaseEntries(unit.Directory);
                }
            }
        }

        /// <summary>Ends the walk: waits for the helper to leave, so nothing reads the volume after this returns.</summary>
        public void Stop()
        {
            lock (_gate)
            {
                _stopped = true;
                while (_helperRunning)
                {
                    Monitor.Wait(_gate);
                }

                foreach (RecordBatch batch in _batches)
                {
                    batch.Dispose();
                }

                _batches.Clear();
                _freeBatches.Clear();
            }
        }

        private RecordBatch NewBatch()
        {
            var batch = new RecordBatch(_volume._mft);
            _batches.Add(batch);
            _freeBatches.Push(batch);
            return batch;
        }

        // Under the lock: a unit starts running; it takes the buffers it reads into.
        private Unit Start(Unit unit)
        {
            unit.State = UnitState.Running;
            _ahead++;
            if (unit.Kind == UnitKind.Directory)
            {
                // Taken only now: pending directories (all the siblings still to walk) hold no buffers.
                unit.Directory.Entries = _freeLists.Count > 0 ? _freeLists.Pop() : new IndexEntryList();
            }
            else
            {
                if (_freeBatches.Count == 0)
                {
                    NewBatch();
                }

                unit.Batch = _freeBatches.Pop();
                unit.Slots = ArrayPool<Slot>.Shared.Rent(unit.Count);
                IndexEntryList entries = unit.Directory.Entries!;
                for (int i = 0; i < unit.Count; i++)
                {
                    _numbers[i] = entries[unit.First + i].RecordNumber;
                }

                unit.Batch.Load(_numbers.AsSpan(0, unit.Count));
            }

            return unit;
        }

        // Under the lock: the first pending unit within the window, expanding on the way the Subdirectories units that
        // can be (in plan order: one that cannot be expanded yet holds back those after it).
        private Unit? TakeWork()
        {
            if (_stopped)
            {
                return null;
            }

            bool expanding = true;
            LinkedListNode<Unit>? node = _plan.First;
            while (node is not null && _ahead < MaxUnitsAhead)
            {
                Unit unit = node.Value;
                LinkedListNode<Unit>? next = node.Next;
                if (unit.Kind == UnitKind.Subdirectories)
                {
                    if (expanding && unit.Directory.UnitsToFill == 0)
                    {
                        LinkedListNode<Unit>? before = node.Previous;
                        ExpandSubdirectories(unit);
                        next = before is null ? _plan.First : before.Next;
                    }
                    else
                    {
                        expanding = false;
                    }
                }
                else if (unit.State == UnitState.Pending)
                {
                    return Start(unit);
                }

                node = next;
            }

            return null;
        }

        private void EnsureHelper()
        {
            if (!s_useHelper || _helperRunning || _stopped || _ahead >= MaxUnitsAhead)
            {
                return;
            }

            _helperRunning = true;
            ThreadPool.UnsafeQueueUserWorkItem(static walk => walk.HelperLoop(), this, preferLocal: false);
        }

        private void HelperLoop()
        {
            Monitor.Enter(_gate);
            try
            {
                // Out of work, the helper waits a little before leaving: the caller soon makes room or adds directories,
                // and a helper queued again costs more than one that waited.
                int idle = 0;
                while (!_stopped)
                {
                    if (TakeWork() is not Unit work)
                    {
                        if (++idle > HelperIdleWaits)
                        {
                            break;
                        }

                        Monitor.Wait(_gate, 1);
                        continue;
                    }

                    idle = 0;
                    Monitor.Exit(_gate);
                    try
                    {
                        Run(work, _helperWorker);
                    }
                    finally
                    {
                        Monitor.Enter(_gate);
                    }

                    Finish(work);
                }
            }
            finally
            {
                _helperRunning = false;
                Monitor.PulseAll(_gate);
                Monitor.Exit(_gate);
            }
        }

        // Outside the lock: the unit's work.
        private void Run(Unit unit, Worker worker)
        {
            try
            {
                if (unit.Kind == UnitKind.Directory)
                {
                    ReadIndex(unit.Directory, worker);
                }
                else
                {
                    unit.BatchRead = unit.Batch!.TryRead();
                    _volume.FillSlots(unit, worker.Layout, _recursive);
                }
            }
            catch (Exception ex)
            {
                unit.Failure = ex;
            }
        }

        private void ReadIndex(DirectoryJob dir, Worker worker)
        {
            try
            {
                // The metadata files ($MFT, ..., record numbers below 24) are listed in the root directory only.
                long minRecord = dir.File.RecordNumber == RootRecordNumber && !_includeSystemFiles ? FirstUserRecordNumber : 0;
                new DirectoryIndex(_volume._source, dir.File, _volume.ClusterSize, _volume.Name, _volume._mft.RecordOffset(dir.File.RecordNumber))
                    .ReadAll(dir.Entries!, worker.IndexScratch, minRecord);
            }
            catch (Exception ex) when (ex is DiskFormatException or EndOfStreamException)
            {
                dir.IndexError = ex;
            }
        }

        // Under the lock: a unit has run. A directory's index gives way to its Records units and its Subdirectories
        // unit; a Records unit gives its batch back.
        private void Finish(Unit unit)
        {
            unit.State = UnitState.Done;
            DirectoryJob dir = unit.Directory;
            if (unit.Kind == UnitKind.Directory)
            {
                int count = unit.Failure is null ? dir.Entries!.Count : 0;
                LinkedListNode<Unit> after = unit.Node!;
                for (int first = 0; first < count; first += _recordsPerUnit)
                {
                    after = Append(after, new Unit(UnitKind.Records, dir) { First = first, Count = Math.Min(_recordsPerUnit, count - first) });
                    dir.RecordUnits.Add(after.Value);
                }

                dir.UnitsToFill = dir.UnitsToConsume = dir.RecordUnits.Count;
                if (count == 0)
                {
                    ReleaseEntries(dir);
                }
                else
                {
                    Append(after, new Unit(UnitKind.Subdirectories, dir));
                }
            }
            else
            {
                if (unit.Batch is RecordBatch batch)
                {
                    unit.Batch = null;
                    _freeBatches.Push(batch);
                }

                dir.UnitsToFill--;
            }

            Monitor.PulseAll(_gate);
            EnsureHelper();
        }

        private void ReleaseEntries(DirectoryJob dir)
        {
            if (dir.Entries is IndexEntryList list)
            {
                dir.Entries = null;
                list.Clear();
                _freeLists.Push(list);
            }
        }

        // Under the lock: replaces a Subdirectories unit by a Directory unit per subdirectory to walk, in index order.
        private void ExpandSubdirectories(Unit placeholder)
        {
            DirectoryJob dir = placeholder.Directory;
            LinkedListNode<Unit> after = placeholder.Node!;
            foreach (Unit records in dir.RecordUnits)
            {
                foreach ((NtfsFile sub, string path) in records.Subdirectories ?? [])
                {
                    if (dir.Depth + 1 < MaxDirectoryDepth && _visited.Add(sub.RecordNumber))
                    {
                        after = Append(after, new Unit(UnitKind.Directory, new DirectoryJob(sub, path, dir.Depth + 1)));
                    }
                }
            }

            dir.RecordUnits.Clear();
            _plan.Remove(placeholder.Node!);
        }

        private LinkedListNode<Unit> Append(LinkedListNode<Unit>? after, Unit unit)
        {
            unit.Node = after is null ? _plan.AddLast(unit) : _plan.AddAfter(after, unit);
            return unit.Node;
        }
    }
}
