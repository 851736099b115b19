using Prism.Disks.Errors;
using Prism.Disks.Vhdx;
using Prism.Provisioner.Catalog;

namespace Prism.Provisioner.Cloning;

/// <summary><c>prism catalog verify [--repair]</c>: the catalog against the files, and the journal of interrupted operations.</summary>
public sealed partial class CloneManager
{
    /// <summary>This host's registered storage roots.</summary>
    private IReadOnlyList<string> MyRoots() => _catalog.Hosts().FirstOrDefault(h => h.Name == CatalogHost.Current)?.Roots ?? [];

    /// <summary>True when every file <paramref name="plan"/> names lies under one of <paramref name="roots"/> (storage this host registered).</summary>
    private static bool OnSharedStorage(OperationPlan plan, IReadOnlyList<string> roots) =>
        plan.Files().All(f => roots.Any(r => f.StartsWith(Path.EndsInDirectorySeparator(r) ? r : r + Path.DirectorySeparatorChar, StringComparison.Ordinal)));

    /// <summary>
    /// Compares the catalog with the files: interrupted operations, missing files, modified or unsealed goldens,
    /// unregistered children of registered disks, leftover temporary files. With <paramref name="repair"/>, fixes what can
    /// be fixed safely: an interrupted operation is finished or rolled back from its journal; a missing clone keeps its
    /// record (it is found again when its file returns); nothing that an operation still running holds is touched, and no
    /// file that may hold the only copy of data is deleted.
    /// </summary>
    public IReadOnlyList<CatalogProblem> Verify(bool repair)
    {
        var problems = new List<CatalogProblem>();
        IReadOnlyList<string>? myRoots = null;
        foreach (JournalEntry e in _journal.Entries())
        {
            if (_journal.IsLive(e.Id))
            {
                continue;
            }

            if (e.Host != CatalogHost.Current && !OnSharedStorage(e.Plan, myRoots ??= MyRoots()))
            {
                // Another host's operation on storage this host does not share (the same path may well exist here, on
                // this host's own disk): recovering it here would find none of its files and drop its row, leaving its
                // files on that host unowned. Its host repairs it.
                problems.Add(new CatalogProblem("interrupted-operation", e.Plan.Path ?? e.Plan.ParentPath ?? "",
                    $"{e.Plan.Describe()} was interrupted ({e.Owner}); its files are not under a storage root this host shares with {e.Host}: "
                    + $"run 'prism catalog verify --repair' on {e.Host}", false));
                continue;
            }

            if (!repair)
            {
                problems.Add(new CatalogProblem("interrupted-operation", e.Plan.Path ?? e.Plan.ParentPath ?? "",
                    $"{e.Plan.Describe()} was interrupted ({e.Owner}){(e.Committed ? " after its commit" : "")}; --repair {(e.Committed ? "finishes" : "rolls back")} it", false));
                continue;
            }

            using OperationLease? lease = _journal.TakeOver(e.Id);
            if (lease is null)
            {
                continue;
            }

            List<string> done = Recover(lease.Plan, lease.Committed);
            _journal.Complete(lease);
            problems.Add(new CatalogProblem("interrupted-operation", e.Plan.Path ?? e.Plan.ParentPath ?? "",
                $"{e.Plan.Describe()} was interrupted ({e.Owner}); {(lease.Committed ? "finished" : "rolled back")}"
                + (done.Count > 0 ? ": " + string.Join("; ", done) : ""), true));
        }

        if (repair)
        {
            _journal.RemoveStaleLocks();
        }

        // What operations still running hold: their names and files are theirs until they end.
        InFlight busy = InFlight.Of(_journal.Entries());
        IReadOnlyList<GoldenImage> goldens = _catalog.Goldens();
        IReadOnlyList<CloneRecord> clones = _catalog.Clones();
        foreach (GoldenImage g in goldens.Where(g => !busy.Holds(g.Name)))
        {
            if (!File.Exists(g.Path))
            {
                problems.Add(new CatalogProblem("missing-file", g.Path, $"golden {g.Name}: file missing", false));
                continue;
            }

            if (!VhdxDisk.IsSealed(g.Path))
            {
                if (repair)
                {
                    FileSealing.Seal(g.Path);
                }

                problems.Add(new CatalogProblem("golden-unsealed", g.Path, $"golden {g.Name} is writable", repair));
            }

            try
            {
                CheckGoldenUnchanged(g);
            }
            catch (Exception e) when (e is ProvisionerException or IOException)
            {
                problems.Add(new CatalogProblem("golden-modified", g.Path, e.Message, false));
            }
        }

        foreach (CloneRecord c in clones.Where(c => !busy.Holds(c.Name)))
        {
            if (!File.Exists(c.Path))
            {
                if (c.Host is not null && c.Host != CatalogHost.Current)
                {
                    // Another host's clone on storage this host does not see (its local disk): not this host's to judge.
                    continue;
                }

                string dir = Path.GetDirectoryName(c.Path)!;
                string where = Directory.Exists(dir) ? "file missing" : $"directory {dir} missing (an unmounted volume?)";
                problems.Add(new CatalogProblem("missing-file", c.Path,
                    $"clone {c.Name}{(c.Owner is null ? "" : $" (owner {c.Owner})")}: {where}; the record is kept and the clone is found again when "
                    + $"the file returns ('prism clone remove --forget {c.Name}' drops it)", false));
                continue;
            }

            try
            {
                using VhdxDisk d = VhdxDisk.Open(c.Path);
            }
            catch (Exception e) when (e is IOException or DiskFormatException)
            {
                problems.Add(new CatalogProblem("broken-chain", c.Path, $"clone {c.Name}: {e.Message}", false));
            }
        }

        var known = new HashSet<string>(goldens.Select(g => g.Path).Concat(clones.Select(c => c.Path)), StringComparer.Ordinal);
        var registeredParents = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (GoldenImage g in goldens)
        {
            registeredParents[g.Path] = g.Name;
        }

        foreach (CloneRecord c in clones)
        {
            registeredParents[c.Path] = c.Golden;
        }

        foreach (string dir in known.Select(p => Path.GetDirectoryName(p)!).Distinct(StringComparer.Ordinal).Where(Directory.Exists))
        {
            // The journal is read again once the directory is listed: an operation commits its plan before it makes a file,
            // so every file listed here that belongs to an operation started meanwhile is named in this reading.
            List<string> listed = [.. Directory.EnumerateFiles(dir)];
            InFlight owners = InFlight.Of(_journal.Entries());
            foreach (string file in listed)
            {
                if (known.Contains(file) || owners.Owns(file))
                {
                    continue;
                }

                if (file.EndsWith(TempMarker, StringComparison.Ordinal))
                {
                    if (!File.Exists(file))
                    {
                        continue;
                    }

                    problems.Add(LeftoverTemp(file, repair));
                    continue;
                }

                if (!file.EndsWith(".vhdx", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                string? parentPath = null;
                try
                {
                    using VhdxDisk d = VhdxDisk.Open(file);
                    parentPath = d.Parent?.Path;
                }
                catch (Exception e) when (e is IOException or DiskFormatException)
                {
                    continue;
                }

                if (parentPath is null || !registeredParents.TryGetValue(parentPath, out string? goldenName))
                {
                    continue;
                }

                bool adopted = repair && Adopt(file, goldenName, parentPath, clones);
                if (repair && !adopted)
                {
                    // Made by an operation that started after the journal was read, or registered meanwhile: not stray.
                    continue;
                }

                problems.Add(new CatalogProblem("unregistered-child", file, $"a child of {parentPath} that the catalog does not know", adopted));
            }
        }

        return problems;
    }

    /// <summary>
    /// A temporary file no operation in the journal owns (a tool older than the journal, a killed <c>prism disk</c>
    /// command). Deleted only when it provably holds no data (an empty child); anything else is kept and reported.
    /// </summary>
    private static CatalogProblem LeftoverTemp(string file, bool repair)
    {
        if (IsEmptyChild(file))
        {
            if (repair)
            {
                File.Delete(file);
            }

            return new CatalogProblem("leftover-temp", file, "temporary file of an interrupted operation (an empty child: no data)", repair);
        }

        return new CatalogProblem("leftover-temp", file,
            "temporary file no operation in the journal owns; it may hold the only copy of data, so it is kept: inspect it, then move or delete it by hand", false);
    }

    /// <summary>Registers a stray child, in a transaction that first checks that no operation owns it and nobody registered it.</summary>
    private bool Adopt(string file, string goldenName, string parentPath, IReadOnlyList<CloneRecord> clones)
    {
        string name = Path.GetFileNameWithoutExtension(file);
        if (clones.Any(c => c.Name == name))
        {
            name += "-" + Guid.NewGuid().ToString("N")[..6];
        }

        return _catalog.Store.Write(w =>
        {
            if (new InFlight(w.Operations().Select(o => o.Plan)).Owns(file) || w.FindClones([name], [file]).Count > 0)
            {
                return false;
            }

            w.AddClones([new CloneRecord(name, file, goldenName, parentPath, null, CatalogHost.Truncate(File.GetCreationTimeUtc(file))) { Host = CatalogHost.Current }]);
            w.RegisterHost(CatalogHost.Current, [Path.GetDirectoryName(file)!]);
            return true;
        });
    }

    /// <summary>The names and files that journaled operations hold (live ones, or dead ones not yet recovered).</summary>
    private sealed class InFlight
    {
        private readonly HashSet<string> _names = new(StringComparer.Ordinal);
        private readonly HashSet<string> _files = new(StringComparer.Ordinal);

        public InFlight(IEnumerable<OperationPlan> plans)
        {
            foreach (OperationPlan p in plans)
            {
                _names.UnionWith(p.Exclusive);
                _files.UnionWith(p.Files());
            }
        }

        public static InFlight Of(IEnumerable<JournalEntry> entries) => new(entries.Select(e => e.Plan));

        public bool Holds(string name) => _names.Contains(name);

        /// <summary>A file the plans name, or a partial file of one (<c>.NAME.GUID.prism-tmp</c>).</summary>
        public bool Owns(string file)
        {
            if (_files.Contains(file))
            {
                return true;
            }

            string name = Path.GetFileName(file);
            if (!name.StartsWith('.') || !name.EndsWith(TempMarker, StringComparison.Ordinal))
            {
                return false;
            }

            string dir = Path.GetDirectoryName(file)!;
            int dot = name.LastIndexOf('.', name.Length - TempMarker.Length - 1);
            return dot > 1 && _files.Contains(Path.Combine(dir, name[1..dot])) && IsCreationTemp(file, Path.Combine(dir, name[1..dot]));
        }
    }
}
