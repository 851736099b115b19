using System.Data.Common;
using System.Diagnostics;
using Prism.Disks.Errors;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;
using Prism.Provisioner.Catalog;

namespace Prism.Provisioner.Cloning;

/// <summary>A clone as <c>clone list</c> shows it: the catalog record and how far it has diverged.</summary>
/// <param name="Record">The catalog record.</param>
/// <param name="Exists">False when the file is gone (drift).</param>
/// <param name="AllocatedBytes">Bytes the clone holds itself (from its allocation map).</param>
/// <param name="VirtualSize">Virtual size.</param>
/// <param name="Error">Why the file could not be read, when it could not.</param>
public sealed record CloneStatus(CloneRecord Record, bool Exists, long AllocatedBytes, long VirtualSize, string? Error)
{
    /// <summary>Divergence as a percentage of the virtual size.</summary>
    public double DivergencePercent => VirtualSize == 0 ? 0 : 100.0 * AllocatedBytes / VirtualSize;
}

/// <summary>One finding of <see cref="CloneManager.Verify"/>.</summary>
/// <param name="Kind">missing-file, unregistered-child, golden-modified, golden-unsealed, leftover-temp, broken-chain, interrupted-operation.</param>
/// <param name="Path">The file concerned.</param>
/// <param name="Message">What is wrong.</param>
/// <param name="Repaired">True when repair mode fixed it.</param>
public sealed record CatalogProblem(string Kind, string Path, string Message, bool Repaired);

/// <summary>
/// Golden images and clone lifecycle over a <see cref="PrismCatalog"/>. Every multi-step operation is journaled
/// (<see cref="OperationJournal"/>): its plan — every file it will create, move aside or replace — is committed to the
/// catalog before it touches a file, it holds a lease while it runs, and its catalog change is its commit point. A
/// failure, or the death of the process at any point, is undone (or, after the commit point, finished) by the same
/// recovery code, run by the operation itself or later by <see cref="Verify"/> with repair; both leave every clone fully
/// as before or fully as after, and neither deletes a file that holds the only copy of a clone's data.
/// </summary>
public sealed partial class CloneManager
{
    private const string TempMarker = ".prism-tmp";
    private readonly PrismCatalog _catalog;
    private readonly OperationJournal _journal;
    private static readonly string? s_killAt = Environment.GetEnvironmentVariable("PRISM_TEST_KILL_AT");
    private static readonly string? s_pauseAt = Environment.GetEnvironmentVariable("PRISM_TEST_PAUSE_AT");

    /// <summary>Manages the golden images and clones recorded in <paramref name="catalog"/>.</summary>
    public CloneManager(PrismCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _catalog = catalog;
        _journal = new OperationJournal(catalog);
    }

    /// <summary>Test hook: called at each step of an operation (e.g. "clone-new:file:3"); throwing there simulates a failure.</summary>
    internal Action<string>? FaultPoint { get; set; }

    /// <summary>
    /// A step boundary of an operation. Tests inject a failure here (<see cref="FaultPoint"/>), or kill the process here
    /// with SIGKILL by naming the step in <c>PRISM_TEST_KILL_AT</c> (a test hook: the kill tests run the real CLI and pwsh).
    /// </summary>
    private void Step(string name)
    {
        FaultPoint?.Invoke(name);
        if (s_killAt is not null && string.Equals(s_killAt, name, StringComparison.Ordinal))
        {
            using Process self = Process.GetCurrentProcess();
            self.Kill();
            Thread.Sleep(Timeout.Infinite);
        }

        if (s_pauseAt is not null && string.Equals(s_pauseAt, name, StringComparison.Ordinal)
            && Environment.GetEnvironmentVariable("PRISM_TEST_PAUSE_FILE") is { Length: > 0 } marker)
        {
            // Test hook: says it reached the step by creating the marker file, and waits (at most 5 minutes) until the
            // test deletes it (the test stops the database server meanwhile).
            File.WriteAllText(marker, name);
            for (int i = 0; i < 15_000 && File.Exists(marker); i++)
            {
                Thread.Sleep(20);
            }
        }
    }

    /// <summary>
    /// Runs a journaled operation: records <paramref name="plan"/> (with <paramref name="check"/> in the same transaction),
    /// runs <paramref name="body"/> under the lease, and on any failure runs the recovery repair would run.
    /// </summary>
    private T Run<T>(OperationPlan plan, Func<OperationLease, T> body, Action<ICatalogWriter>? check = null)
    {
        using OperationLease lease = _journal.Begin(plan, check);
        try
        {
            Step(plan.Kind + ":journaled");
            T result = body(lease);
            _journal.Complete(lease);
            return result;
        }
        catch
        {
            // Not an exception filter: the failed step's own using blocks (open disks, the catalog transaction) must be
            // closed before recovery touches the same files and the catalog.
            TryRecover(lease);
            throw;
        }
    }

    /// <summary>Undoes (or finishes) a failed operation in place; what it cannot do is left in the journal for repair.</summary>
    private void TryRecover(OperationLease lease)
    {
        try
        {
            Recover(lease.Plan, lease.Committed);
            _journal.Complete(lease);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DbException or DiskFormatException)
        {
            // Left in the journal: the lease is released when this operation ends, and repair finishes the job.
        }
    }

    /// <summary>Checks a disk, records its identity and seals it (read-only).</summary>
    /// <exception cref="ProvisionerException">The disk is inconsistent, differencing, or already registered.</exception>
    public GoldenImage AddGolden(string path, string? name = null)
    {
        string full = Path.GetFullPath(path);
        name ??= Path.GetFileNameWithoutExtension(full);
        ValidateName(name);
        GoldenImage golden = InspectGolden(full, name);
        var plan = new OperationPlan { Kind = "golden-add", Exclusive = [name], Name = name, Path = full, WasSealed = VhdxDisk.IsSealed(full) };
        return Run(plan, lease =>
        {
            FileSealing.Seal(full);
            Step("golden-add:sealed");
            _journal.Commit(lease, w => InsertGolden(w, golden), complete: false);
            lease.Committed = true;
            return golden;
        }, w => RefuseExistingGolden(w, name, full));
    }

    private static GoldenImage InspectGolden(string full, string name)
    {
        using VhdxDisk disk = VhdxDisk.Open(full);
        if (disk.Type == VhdxDiskType.Differencing)
        {
            throw new ProvisionerException("PrismGoldenIsDifferencing",
                $"{full} is a differencing disk; a golden image must stand alone (promote the clone first)");
        }

        var errors = disk.CheckChain().Where(i => i.Issue.Severity == VhdxCheckSeverity.Error).ToList();
        if (errors.Count > 0)
        {
            throw new ProvisionerException("PrismGoldenInvalid", $"{full} failed its check: {errors[0].Issue.Message}");
        }

        return new GoldenImage(name, full, disk.DiskId, disk.DataWriteGuid, disk.VirtualSize, CatalogHost.Truncate(DateTime.UtcNow));
    }

    private static void RefuseExistingGolden(ICatalogWriter w, string name, string full)
    {
        if (w.FindGolden(name, full) is not null)
        {
            throw new ProvisionerException("PrismGoldenExists", $"a golden named {name} or at {full} is already registered");
        }
    }

    private static int InsertGolden(ICatalogWriter w, GoldenImage golden)
    {
        w.AddGolden(golden);
        w.RegisterHost(CatalogHost.Current, [Path.GetDirectoryName(golden.Path)!]);
        return 1;
    }

    /// <summary>The golden called <paramref name="nameOrPath"/> (catalog name or file path).</summary>
    public GoldenImage GetGolden(string nameOrPath)
    {
        ArgumentNullException.ThrowIfNull(nameOrPath);
        string full = Path.GetFullPath(nameOrPath);
        return _catalog.Goldens().FirstOrDefault(g => g.Name == nameOrPath || g.Path == full)
            ?? throw new ProvisionerException("PrismGoldenNotFound", $"no golden image named or at '{nameOrPath}' in the catalog {_catalog.Path}");
    }

    /// <summary>Unregisters a golden. Refused while clones exist unless <paramref name="force"/> (then their records go too; files stay).</summary>
    public void RemoveGolden(string nameOrPath, bool force)
    {
        GoldenImage golden = GetGolden(nameOrPath);
        List<string> clones = _catalog.Clones().Where(c => c.Golden == golden.Name).Select(c => c.Name).ToList();
        if (clones.Count > 0 && !force)
        {
            throw new ProvisionerException("PrismGoldenHasClones",
                $"golden {golden.Name} has {clones.Count} clone(s); remove them first or use --force (the golden stays sealed)");
        }

        var plan = new OperationPlan
        {
            Kind = "golden-remove",
            Exclusive = [golden.Name, .. clones],
            Name = golden.Name,
            Path = golden.Path,
            Unseal = clones.Count == 0,
        };
        Run(plan, lease =>
        {
            _journal.Commit(lease, w =>
            {
                if (w.CountClonesOf(golden.Name) != clones.Count)
                {
                    throw new ProvisionerException("PrismCatalogBusy", $"golden {golden.Name} gained clones while it was being removed; try again");
                }

                w.RemoveGoldenAndClones(golden.Name);
                return 0;
            }, complete: false);
            lease.Committed = true;
            Step("golden-remove:committed");
            if (plan.Unseal && File.Exists(golden.Path))
            {
                FileSealing.Unseal(golden.Path);
            }

            return 0;
        });
    }

    /// <summary>Names <paramref name="prefix"/>-0001, -0002, ... continuing after the highest one already in the catalog.</summary>
    public IReadOnlyList<string> NextNames(string prefix, int count)
    {
        ValidateName(prefix);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        int max = 0;
        // Names an operation in flight holds count as taken too: a concurrent 'clone new --count' picks the next ones.
        IEnumerable<string> held = _journal.Entries().SelectMany(e => e.Plan.Exclusive);
        foreach (string name in held.Concat(_catalog.Clones().Select(c => c.Name)))
        {
            if (name.StartsWith(prefix + "-", StringComparison.Ordinal)
                && int.TryParse(name.AsSpan(prefix.Length + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n))
            {
                max = Math.Max(max, n);
            }
        }

        int width = Math.Max(4, (max + count).ToString(System.Globalization.CultureInfo.InvariantCulture).Length);
        return Enumerable.Range(max + 1, count).Select(i => $"{prefix}-{i.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(width, '0')}").ToList();
    }

    /// <summary>
    /// Creates <paramref name="count"/> clones named <paramref name="prefix"/>-NNNN after the highest number taken, as
    /// <see cref="NewClones"/>. Another process numbering clones of the same prefix at the same moment (on this host or
    /// another one sharing the catalog) makes this one take the next free numbers and try again, never share a name.
    /// </summary>
    public IReadOnlyList<CloneRecord> NewNumberedClones(string parent, string prefix, int count, string? directory = null, string? owner = null,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        // Before numbering: a clone new of this host that died uncommitted (killed, or cut off from the database) gives its
        // numbers and files back.
        RollBackDeadCloneNews();
        for (int attempt = 1; ; attempt++)
        {
            IReadOnlyList<string> names = NextNames(prefix, count);
            try
            {
                return NewClones(parent, names, directory, owner, progress, cancellationToken);
            }
            catch (CatalogConflictException e) when (attempt < MaxNumberingAttempts && e.Name is not null && names.Contains(e.Name, StringComparer.Ordinal))
            {
                // Nothing of this attempt was journaled: another operation took one of the numbers first.
                Thread.Sleep(Random.Shared.Next(5, 50 * attempt));
            }
        }
    }

    private const int MaxNumberingAttempts = 30;

    /// <summary>
    /// Recovers this host's <c>clone new</c> operations whose process is gone (their lease is free: killed, or cut off from
    /// the database, which ended their session): uncommitted, their files — empty new children no catalog row names —
    /// are deleted; committed, only the journal row is left to drop. The same recovery <c>catalog verify --repair</c>
    /// runs, limited to what this host made (the files are on its storage) and to operations that hold nothing but new
    /// files, so the next <c>clone new</c> after a failure leaves no file without its row. Returns the operations
    /// recovered.
    /// </summary>
    internal int RollBackDeadCloneNews()
    {
        int recovered = 0;
        string host = CatalogHost.Current;
        foreach (JournalEntry e in _journal.Entries().Where(e => e.Plan.Kind == "clone-new" && e.Host == host))
        {
            using OperationLease? lease = _journal.TakeOver(e.Id);
            if (lease is null)
            {
                continue; // alive (its process holds the lease), or already recovered by someone else
            }

            Recover(lease.Plan, lease.Committed);
            _journal.Complete(lease);
            recovered++;
        }

        return recovered;
    }

    /// <summary>
    /// Creates clones of a golden (or of another clone, given its catalog name) in one catalog transaction. Files go next to
    /// the parent unless <paramref name="directory"/> is given. A failure removes every file this call created.
    /// </summary>
    public IReadOnlyList<CloneRecord> NewClones(string parent, IReadOnlyList<string> names, string? directory = null, string? owner = null,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Count == 0)
        {
            throw new ArgumentException("no clone names given", nameof(names));
        }

        foreach (string n in names)
        {
            ValidateName(n);
        }

        if (owner is not null)
        {
            CatalogNames.ValidateOwner(owner);
        }

        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
        {
            throw new ArgumentException("clone names must be unique", nameof(names));
        }

        (string parentPath, string parentName, string goldenName) = ResolveParent(parent);
        RollBackDeadCloneNews();
        string dir = Path.GetFullPath(directory ?? Path.GetDirectoryName(parentPath)!);
        List<string> paths = names.Select(n => Path.Combine(dir, n + ".vhdx")).ToList();
        string host = CatalogHost.Current;
        var plan = new OperationPlan
        {
            Kind = "clone-new",
            Shared = [parentName],
            Exclusive = [.. names],
            Name = parentName,
            ParentPath = parentPath,
            NewFiles = paths,
        };
        return Run(plan, lease =>
        {
            var records = new List<CloneRecord>(names.Count);
            using (VhdxDisk parentDisk = VhdxDisk.Open(parentPath))
            {
                var options = new VhdxDifferencingOptions { Durable = false };
                for (int i = 0; i < names.Count; i++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    VhdxDisk.CreateDifferencing(paths[i], parentDisk, options);
                    records.Add(new CloneRecord(names[i], paths[i], goldenName, parentPath, owner, CatalogHost.Truncate(DateTime.UtcNow)) { Host = host });
                    Step($"clone-new:file:{i}");
                    progress?.Report(i + 1);
                }
            }

            FileSealing.MakeDurable(paths);
            Step("clone-new:durable");
            _journal.Commit(lease, w =>
            {
                w.AddClones(records);
                w.RegisterHost(host, [dir]);

                Step("clone-new:before-commit");
                return 0;
            }, complete: false);
            lease.Committed = true;
            return (IReadOnlyList<CloneRecord>)records;
        }, w =>
        {
            var taken = new HashSet<string>(StringComparer.Ordinal);
            foreach (CloneRecord r in w.FindClones(names, paths))
            {
                taken.Add(r.Name);
                taken.Add(r.Path);
            }

            string? clash = names.Concat(paths).FirstOrDefault(taken.Contains);
            if (clash is not null)
            {
                throw new CatalogConflictException("PrismCloneExists", $"a clone named or at {clash} is already registered") { Name = clash };
            }

            string? existing = paths.FirstOrDefault(p => File.Exists(p) || Directory.Exists(p));
            if (existing is not null)
            {
                throw new ProvisionerException("PrismCloneExists", $"{existing}: already exists; Prism does not overwrite a file it did not make");
            }
        });
    }

    /// <summary>Catalog name of a golden or clone, or a path: the parent file, its catalog name and the golden at the root of its chain.</summary>
    private (string ParentPath, string ParentName, string Golden) ResolveParent(string parent)
    {
        string full = Path.GetFullPath(parent);
        GoldenImage? golden = _catalog.Goldens().FirstOrDefault(g => g.Name == parent || g.Path == full);
        if (golden is not null)
        {
            CheckGoldenUnchanged(golden);
            return (golden.Path, golden.Name, golden.Name);
        }

        CloneRecord? clone = _catalog.Clones().FirstOrDefault(c => c.Name == parent || c.Path == full);
        if (clone is not null)
        {
            return (clone.Path, clone.Name, clone.Golden);
        }

        throw new ProvisionerException("PrismGoldenNotFound", $"'{parent}' is neither a golden image nor a clone in the catalog {_catalog.Path}");
    }

    private static void CheckGoldenUnchanged(GoldenImage golden)
    {
        using VhdxDisk disk = VhdxDisk.Open(golden.Path);
        if (disk.DataWriteGuid != golden.DataWriteGuid)
        {
            throw new ProvisionerException("PrismGoldenModified",
                $"golden {golden.Name} ({golden.Path}) was modified: DataWriteGuid {disk.DataWriteGuid:B}, sealed as {golden.DataWriteGuid:B}; its clones no longer match it");
        }
    }

    /// <summary>Every registered clone with its divergence.</summary>
    public IReadOnlyList<CloneStatus> ListClones(CancellationToken cancellationToken = default)
    {
        var list = new List<CloneStatus>();
        foreach (CloneRecord c in _catalog.Clones())
        {
            if (!File.Exists(c.Path))
            {
                list.Add(new CloneStatus(c, false, 0, 0, Directory.Exists(Path.GetDirectoryName(c.Path)) ? "file missing" : "directory missing"));
                continue;
            }

            try
            {
                using VhdxDisk d = VhdxDisk.Open(c.Path, new VhdxOpenOptions { SkipParent = true });
                list.Add(new CloneStatus(c, true, d.GetAllocatedBytes(cancellationToken), d.VirtualSize, null));
            }
            catch (Exception e) when (e is IOException or DiskFormatException)
            {
                list.Add(new CloneStatus(c, true, 0, 0, e.Message));
            }
        }

        return list;
    }

    private CloneRecord GetClone(string nameOrPath)
    {
        string full = Path.GetFullPath(nameOrPath);
        CloneRecord? clone = _catalog.Clones().FirstOrDefault(c => c.Name == nameOrPath || c.Path == full);
        if (clone is not null)
        {
            return clone;
        }

        GoldenImage? golden = _catalog.Goldens().FirstOrDefault(g => g.Name == nameOrPath || g.Path == full);
        if (golden is not null)
        {
            throw new ProvisionerException("PrismGoldenSealed",
                $"'{nameOrPath}' is the golden image {golden.Name} ({golden.Path}), not a clone: a golden is sealed (read-only) because every clone "
                + "reads its sectors, so it is never reset, merged or removed as a clone (use 'prism golden remove' to unregister it)");
        }

        throw new ProvisionerException("PrismCloneNotFound", $"no clone named or at '{nameOrPath}' in the catalog {_catalog.Path}");
    }

    /// <summary>The check, run inside an operation's journal transaction, that <paramref name="clone"/> has no children.</summary>
    private static Action<ICatalogWriter> RefuseChildren(CloneRecord clone, string why) => w =>
    {
        IReadOnlyList<CloneRecord> children = w.ChildrenOf(clone.Path);
        if (children.Count > 0)
        {
            throw new ProvisionerException("PrismCloneHasChildren", $"clone {clone.Name} is the parent of other clones ({string.Join(", ", children.Select(k => k.Name))}); {why}");
        }
    };

    private string ParentName(CloneRecord clone) =>
        _catalog.Goldens().FirstOrDefault(g => g.Path == clone.ParentPath)?.Name
        ?? _catalog.Clones().FirstOrDefault(c => c.Path == clone.ParentPath)?.Name
        ?? clone.Golden;

    /// <summary>A clone an NBD server holds (its <see cref="Prism.Disks.IO.DiskLease"/>) is not reset, merged or removed under it.</summary>
    private static void ThrowIfServed(CloneRecord clone, string operation)
    {
        if (Prism.Disks.IO.DiskLease.IsHeld(clone.Path))
        {
            throw new ProvisionerException("PrismCloneInUse",
                $"clone {clone.Name}: {clone.Path} is being served by a running Prism server; {operation} is refused until it stops");
        }
    }

    /// <summary>Discards a clone's changes: a fresh child of the same parent replaces it under the same path and disk id.</summary>
    public void ResetClone(string nameOrPath)
    {
        CloneRecord clone = GetClone(nameOrPath);
        ThrowIfServed(clone, "reset");
        GoldenImage? goldenParent = _catalog.Goldens().FirstOrDefault(g => g.Path == clone.ParentPath);
        if (goldenParent is not null)
        {
            CheckGoldenUnchanged(goldenParent);
        }

        string temp = TempPath(clone.Path);
        var plan = new OperationPlan
        {
            Kind = "reset",
            Exclusive = [clone.Name],
            Shared = [ParentName(clone)],
            Name = clone.Name,
            Path = clone.Path,
            ParentPath = clone.ParentPath,
            Temp = temp,
        };
        Run(plan, lease =>
        {
            VhdxDisk.CreateDifferencing(temp, clone.ParentPath);
            Step("reset:created");
            // The commit point: one rename replaces the clone with the fresh child.
            File.Move(temp, clone.Path, overwrite: true);
            lease.Committed = true;
            Step("reset:swapped");
            return 0;
        }, RefuseChildren(clone, "resetting it would break them"));
    }

    /// <summary>
    /// Deletes a clone's file and its record (refused while other clones are its children). A clone whose file is missing
    /// keeps its record until <paramref name="forget"/> says to drop it; with <paramref name="forget"/> only the record
    /// goes and the file, wherever it is, is left alone.
    /// </summary>
    public void RemoveClone(string nameOrPath, bool forget = false)
    {
        CloneRecord clone = GetClone(nameOrPath);
        ThrowIfServed(clone, "remove");
        bool exists = File.Exists(clone.Path);
        if (!exists && !forget)
        {
            throw new ProvisionerException("PrismCloneMissing",
                $"clone {clone.Name}: {clone.Path} is missing (an unmounted volume?); its record is kept so it is found again when the file returns. "
                + $"'prism clone remove --forget {clone.Name}' drops the record");
        }

        string? trash = exists && !forget ? TempPath(clone.Path) : null;
        var plan = new OperationPlan { Kind = "remove", Exclusive = [clone.Name], Name = clone.Name, Path = clone.Path, Trash = trash };
        Run(plan, lease =>
        {
            if (trash is not null)
            {
                File.Move(clone.Path, trash);
            }

            Step("remove:moved");
            _journal.Commit(lease, w => w.RemoveClone(clone.Name), complete: false);
            lease.Committed = true;
            Step("remove:committed");
            if (trash is not null)
            {
                File.Delete(trash);
            }

            return 0;
        }, RefuseChildren(clone, "remove them first"));
    }

    /// <summary>
    /// Merges a clone into its parent (as Merge-VHD would), only when that parent is itself a clone with no other
    /// children; a sealed golden is never merged into. The parent is rewritten as a copy and swapped in; until the
    /// catalog commits, the original parent and the clone are kept under temporary names named in the journal.
    /// <paramref name="progress"/> hears the bytes copied so far and the clone's allocated bytes, on the calling thread.
    /// </summary>
    public void MergeClone(string nameOrPath, IProgress<(long Done, long Total)>? progress = null, CancellationToken cancellationToken = default)
    {
        CloneRecord clone = GetClone(nameOrPath);
        ThrowIfServed(clone, "merge");
        Action<ICatalogWriter> refuseChildren = RefuseChildren(clone, "merging it would break them");
        // Checked first (and again under the journal's transaction): a clone with children is never merged.
        _catalog.Store.Write(w =>
        {
            refuseChildren(w);
            return 0;
        });

        CloneRecord? parent = _catalog.Clones().FirstOrDefault(c => c.Path == clone.ParentPath);
        if (parent is null)
        {
            throw new ProvisionerException("PrismGoldenSealed",
                $"the parent of {clone.Name} is the sealed golden {clone.ParentPath}; merging would modify it and break every other clone (promote the clone instead)");
        }

        var plan = new OperationPlan
        {
            Kind = "merge",
            Exclusive = [clone.Name, parent.Name],
            Name = clone.Name,
            Path = clone.Path,
            ParentPath = parent.Path,
            Temp = TempPath(parent.Path),
            Backup = TempPath(parent.Path),
            Trash = TempPath(clone.Path),
        };
        Run(plan, lease =>
        {
            string merged = plan.Temp!;
            File.Copy(parent.Path, merged);
            FileSealing.Unseal(merged);
            Step("merge:copied");
            using (VhdxDisk child = VhdxDisk.Open(clone.Path))
            using (VhdxDisk target = VhdxDisk.Open(merged, new VhdxOpenOptions { Writable = true }))
            {
                byte[] buf = new byte[4 * 1024 * 1024];
                List<ByteRange> ranges = child.GetAllocatedRanges(cancellationToken).ToList();
                long total = ranges.Sum(r => r.Length), done = 0;
                progress?.Report((0, total));
                foreach (ByteRange r in ranges)
                {
                    for (long o = r.Offset; o < r.End; o += buf.Length)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        int n = (int)Math.Min(buf.Length, r.End - o);
                        child.ReadExactly(buf.AsSpan(0, n), o);
                        target.Write(buf.AsSpan(0, n), o);
                        progress?.Report((done += n, total));
                    }
                }

                target.Flush();
            }

            Step("merge:written");
            File.Move(clone.Path, plan.Trash!);
            Step("merge:renamed");
            File.Move(parent.Path, plan.Backup!);
            Step("merge:backed-up");
            File.Move(merged, parent.Path);
            Step("merge:swapped");
            _journal.Commit(lease, w => w.RemoveClone(clone.Name), complete: false);
            lease.Committed = true;
            Step("merge:committed");
            File.Delete(plan.Trash!);
            File.Delete(plan.Backup!);
            return 0;
        }, w =>
        {
            refuseChildren(w);
            List<CloneRecord> siblings = w.ChildrenOf(parent.Path).Where(s => s.Name != clone.Name).ToList();
            if (siblings.Count > 0)
            {
                throw new ProvisionerException("PrismParentShared",
                    $"the parent {parent.Name} has other children ({string.Join(", ", siblings.Select(s => s.Name))}); merging would break them");
            }
        });
    }

    /// <summary>Flattens a clone into a new standalone golden image (sealed and registered); the old golden and its clones are untouched.</summary>
    public GoldenImage PromoteClone(string nameOrPath, string newName, string? path = null, CancellationToken cancellationToken = default)
    {
        ValidateName(newName);
        CloneRecord clone = GetClone(nameOrPath);
        string target = Path.GetFullPath(path ?? Path.Combine(Path.GetDirectoryName(clone.Path)!, newName + ".vhdx"));
        if (File.Exists(target))
        {
            throw new ProvisionerException("PrismGoldenExists", $"{target} already exists");
        }

        var plan = new OperationPlan
        {
            Kind = "promote",
            Exclusive = [newName],
            Shared = [clone.Name],
            Name = newName,
            Path = clone.Path,
            Temp = TempPath(target),
            Target = target,
            TargetDiskId = Guid.NewGuid(),
        };
        return Run(plan, lease =>
        {
            string temp = plan.Temp!;
            using (VhdxDisk source = VhdxDisk.Open(clone.Path))
            {
                VhdxDisk.Create(temp, new VhdxCreateOptions
                {
                    VirtualSize = source.VirtualSize,
                    LogicalSectorSize = source.LogicalSectorSize,
                    PhysicalSectorSize = source.PhysicalSectorSize,
                    DiskId = plan.TargetDiskId,
                });
                Step("promote:created");
                using VhdxDisk flat = VhdxDisk.Open(temp, new VhdxOpenOptions { Writable = true });
                byte[] buf = new byte[4 * 1024 * 1024];
                foreach (ChainRange r in source.GetChainMap(cancellationToken))
                {
                    for (long o = r.Offset; o < r.End; o += buf.Length)
                    {
                        int n = (int)Math.Min(buf.Length, r.End - o);
                        Span<byte> data = buf.AsSpan(0, n);
                        source.ReadExactly(data, o);
                        if (data.ContainsAnyExcept((byte)0))
                        {
                            flat.Write(data, o);
                        }
                    }
                }
            }

            Step("promote:written");
            File.Move(temp, target, overwrite: false);
            Step("promote:moved");
            GoldenImage golden = InspectGolden(target, newName);
            FileSealing.Seal(target);
            Step("golden-add:sealed");
            _journal.Commit(lease, w => InsertGolden(w, golden), complete: false);
            lease.Committed = true;
            return golden;
        }, w => RefuseExistingGolden(w, newName, target));
    }

    private static string TempPath(string path) =>
        Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}{TempMarker}");

    private static void ValidateName(string name) => CatalogNames.Validate(name, "name");
}
