using Microsoft.Data.Sqlite;
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
/// <param name="Kind">missing-file, unregistered-child, golden-modified, golden-unsealed, leftover-temp, broken-chain.</param>
/// <param name="Path">The file concerned.</param>
/// <param name="Message">What is wrong.</param>
/// <param name="Repaired">True when repair mode fixed it.</param>
public sealed record CatalogProblem(string Kind, string Path, string Message, bool Repaired);

/// <summary>
/// Golden images and clone lifecycle over a <see cref="PrismCatalog"/>. Every operation is all-or-nothing: files are
/// made under temporary names and renamed into place, the catalog transaction comes last, and a failure removes what
/// the operation created.
/// </summary>
public sealed class CloneManager
{
    private const string TempMarker = ".prism-tmp";
    private readonly PrismCatalog _catalog;

    /// <summary>Manages the golden images and clones recorded in <paramref name="catalog"/>.</summary>
    public CloneManager(PrismCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _catalog = catalog;
    }

    /// <summary>Test hook: called at each step of an operation (e.g. "clone-new:file:3"); throwing there simulates a failure.</summary>
    internal Action<string>? FaultPoint { get; set; }

    private void Step(string name) => FaultPoint?.Invoke(name);

    /// <summary>Checks a disk, records its identity and seals it (read-only).</summary>
    /// <exception cref="ProvisionerException">The disk is inconsistent, differencing, or already registered.</exception>
    public GoldenImage AddGolden(string path, string? name = null)
    {
        string full = Path.GetFullPath(path);
        name ??= Path.GetFileNameWithoutExtension(full);
        ValidateName(name);
        GoldenImage golden;
        using (VhdxDisk disk = VhdxDisk.Open(full))
        {
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

            golden = new GoldenImage(name, full, disk.DiskId, disk.DataWriteGuid, disk.VirtualSize, DateTime.UtcNow);
        }

        bool wasSealed = VhdxDisk.IsSealed(full);
        FileSealing.Seal(full);
        try
        {
            Step("golden-add:sealed");
            _catalog.InTransaction((c, tx) =>
            {
                using SqliteCommand cmd = PrismCatalog.Command(c, tx,
                    "INSERT INTO goldens (name, path, disk_id, data_write_guid, virtual_size, sealed_at) VALUES ($n, $p, $d, $w, $s, $t);",
                    ("$n", name), ("$p", full), ("$d", golden.DiskId.ToString("D")), ("$w", golden.DataWriteGuid.ToString("D")),
                    ("$s", golden.VirtualSize), ("$t", PrismCatalog.Time(golden.SealedAt)));
                return cmd.ExecuteNonQuery();
            });
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19)
        {
            Unseal(full, wasSealed);
            throw new ProvisionerException("PrismGoldenExists", $"a golden named {name} or at {full} is already registered", e);
        }
        catch
        {
            Unseal(full, wasSealed);
            throw;
        }

        return golden;
    }

    private static void Unseal(string path, bool wasSealed)
    {
        if (!wasSealed)
        {
            FileSealing.Unseal(path);
        }
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
        int clones = _catalog.Clones().Count(c => c.Golden == golden.Name);
        if (clones > 0 && !force)
        {
            throw new ProvisionerException("PrismGoldenHasClones",
                $"golden {golden.Name} has {clones} clone(s); remove them first or use --force (the golden stays sealed)");
        }

        _catalog.InTransaction((c, tx) =>
        {
            using SqliteCommand del1 = PrismCatalog.Command(c, tx, "DELETE FROM clones WHERE golden = $g;", ("$g", golden.Name));
            del1.ExecuteNonQuery();
            using SqliteCommand del2 = PrismCatalog.Command(c, tx, "DELETE FROM goldens WHERE name = $g;", ("$g", golden.Name));
            return del2.ExecuteNonQuery();
        });
        if (clones == 0 && File.Exists(golden.Path))
        {
            FileSealing.Unseal(golden.Path);
        }
    }

    /// <summary>Names <paramref name="prefix"/>-0001, -0002, ... continuing after the highest one already in the catalog.</summary>
    public IReadOnlyList<string> NextNames(string prefix, int count)
    {
        ValidateName(prefix);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        int max = 0;
        foreach (CloneRecord c in _catalog.Clones())
        {
            if (c.Name.StartsWith(prefix + "-", StringComparison.Ordinal)
                && int.TryParse(c.Name.AsSpan(prefix.Length + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n))
            {
                max = Math.Max(max, n);
            }
        }

        int width = Math.Max(4, (max + count).ToString(System.Globalization.CultureInfo.InvariantCulture).Length);
        return Enumerable.Range(max + 1, count).Select(i => $"{prefix}-{i.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(width, '0')}").ToList();
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

        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
        {
            throw new ArgumentException("clone names must be unique", nameof(names));
        }

        (string parentPath, string goldenName) = ResolveParent(parent);
        string dir = Path.GetFullPath(directory ?? Path.GetDirectoryName(parentPath)!);
        var created = new List<string>();
        var records = new List<CloneRecord>();
        try
        {
            using VhdxDisk parentDisk = VhdxDisk.Open(parentPath);
            var options = new VhdxDifferencingOptions { Durable = false };
            for (int i = 0; i < names.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                string path = Path.Combine(dir, names[i] + ".vhdx");
                VhdxDisk.CreateDifferencing(path, parentDisk, options);
                created.Add(path);
                records.Add(new CloneRecord(names[i], path, goldenName, parentPath, owner, DateTime.UtcNow));
                Step($"clone-new:file:{i}");
                progress?.Report(i + 1);
            }

            FileSealing.MakeDurable(created);
            Step("clone-new:durable");
            _catalog.InTransaction((c, tx) =>
            {
                foreach (CloneRecord r in records)
                {
                    using SqliteCommand cmd = PrismCatalog.Command(c, tx,
                        "INSERT INTO clones (name, path, golden, parent_path, owner, created) VALUES ($n, $p, $g, $pp, $o, $t);",
                        ("$n", r.Name), ("$p", r.Path), ("$g", r.Golden), ("$pp", r.ParentPath), ("$o", r.Owner), ("$t", PrismCatalog.Time(r.Created)));
                    cmd.ExecuteNonQuery();
                }

                Step("clone-new:before-commit");
                return 0;
            });
        }
        catch (Exception e)
        {
            foreach (string p in created)
            {
                TryDelete(p);
            }

            if (e is SqliteException { SqliteErrorCode: 19 })
            {
                throw new ProvisionerException("PrismCloneExists", $"a clone with one of these names or paths is already registered: {e.Message}", e);
            }

            throw;
        }

        return records;
    }

    /// <summary>Catalog name of a golden or clone, or a path: the parent file and the golden at the root of its chain.</summary>
    private (string ParentPath, string Golden) ResolveParent(string parent)
    {
        string full = Path.GetFullPath(parent);
        GoldenImage? golden = _catalog.Goldens().FirstOrDefault(g => g.Name == parent || g.Path == full);
        if (golden is not null)
        {
            CheckGoldenUnchanged(golden);
            return (golden.Path, golden.Name);
        }

        CloneRecord? clone = _catalog.Clones().FirstOrDefault(c => c.Name == parent || c.Path == full);
        if (clone is not null)
        {
            return (clone.Path, clone.Golden);
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
                list.Add(new CloneStatus(c, false, 0, 0, "file missing"));
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

    private List<CloneRecord> ChildrenOf(string path) => _catalog.Clones().Where(c => c.ParentPath == path).ToList();

    /// <summary>Discards a clone's changes: a fresh child of the same parent replaces it under the same path and disk id.</summary>
    public void ResetClone(string nameOrPath)
    {
        CloneRecord clone = GetClone(nameOrPath);
        if (ChildrenOf(clone.Path).Count > 0)
        {
            throw new ProvisionerException("PrismCloneHasChildren", $"clone {clone.Name} is the parent of other clones; resetting it would break them");
        }

        GoldenImage? goldenParent = _catalog.Goldens().FirstOrDefault(g => g.Path == clone.ParentPath);
        if (goldenParent is not null)
        {
            CheckGoldenUnchanged(goldenParent);
        }

        string temp = TempPath(clone.Path);
        try
        {
            VhdxDisk.CreateDifferencing(temp, clone.ParentPath);
            Step("reset:created");
            File.Move(temp, clone.Path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Deletes a clone's file and its record (refused while other clones are its children).</summary>
    public void RemoveClone(string nameOrPath)
    {
        CloneRecord clone = GetClone(nameOrPath);
        if (ChildrenOf(clone.Path).Count > 0)
        {
            throw new ProvisionerException("PrismCloneHasChildren", $"clone {clone.Name} is the parent of other clones; remove them first");
        }

        string trash = TempPath(clone.Path);
        bool moved = false;
        if (File.Exists(clone.Path))
        {
            File.Move(clone.Path, trash);
            moved = true;
        }

        try
        {
            Step("remove:moved");
            _catalog.InTransaction((c, tx) =>
            {
                using SqliteCommand cmd = PrismCatalog.Command(c, tx, "DELETE FROM clones WHERE name = $n;", ("$n", clone.Name));
                return cmd.ExecuteNonQuery();
            });
        }
        catch
        {
            if (moved)
            {
                File.Move(trash, clone.Path);
            }

            throw;
        }

        if (moved)
        {
            TryDelete(trash);
        }
    }

    /// <summary>
    /// Merges a clone into its parent (as Merge-VHD would), only when that parent is itself a clone with no other
    /// children; a sealed golden is never merged into. The parent is rewritten as a copy and swapped in atomically.
    /// </summary>
    public void MergeClone(string nameOrPath, CancellationToken cancellationToken = default)
    {
        CloneRecord clone = GetClone(nameOrPath);
        if (ChildrenOf(clone.Path).Count > 0)
        {
            throw new ProvisionerException("PrismCloneHasChildren", $"clone {clone.Name} has children of its own; merging it would break them");
        }

        CloneRecord? parent = _catalog.Clones().FirstOrDefault(c => c.Path == clone.ParentPath);
        if (parent is null)
        {
            throw new ProvisionerException("PrismGoldenSealed",
                $"the parent of {clone.Name} is the sealed golden {clone.ParentPath}; merging would modify it and break every other clone (promote the clone instead)");
        }

        List<CloneRecord> siblings = ChildrenOf(parent.Path).Where(c => c.Name != clone.Name).ToList();
        if (siblings.Count > 0)
        {
            throw new ProvisionerException("PrismParentShared",
                $"the parent {parent.Name} has other children ({string.Join(", ", siblings.Select(s => s.Name))}); merging would break them");
        }

        string merged = TempPath(parent.Path);
        string backup = TempPath(parent.Path);
        string trash = TempPath(clone.Path);
        try
        {
            File.Copy(parent.Path, merged);
            FileSealing.Unseal(merged);
            using (VhdxDisk child = VhdxDisk.Open(clone.Path))
            using (VhdxDisk target = VhdxDisk.Open(merged, new VhdxOpenOptions { Writable = true }))
            {
                byte[] buf = new byte[4 * 1024 * 1024];
                foreach (ByteRange r in child.GetAllocatedRanges(cancellationToken))
                {
                    for (long o = r.Offset; o < r.End; o += buf.Length)
                    {
                        int n = (int)Math.Min(buf.Length, r.End - o);
                        child.ReadExactly(buf.AsSpan(0, n), o);
                        target.Write(buf.AsSpan(0, n), o);
                    }
                }

                target.Flush();
            }

            Step("merge:written");
            File.Move(clone.Path, trash);
            // The original parent is kept as a backup until the catalog commits, so a later failure can restore it.
            File.Replace(merged, parent.Path, backup);
            Step("merge:swapped");
            _catalog.InTransaction((c, tx) =>
            {
                using SqliteCommand cmd = PrismCatalog.Command(c, tx, "DELETE FROM clones WHERE name = $n;", ("$n", clone.Name));
                return cmd.ExecuteNonQuery();
            });
        }
        catch
        {
            TryDelete(merged);
            if (File.Exists(backup))
            {
                File.Move(backup, parent.Path, overwrite: true);
            }

            if (File.Exists(trash) && !File.Exists(clone.Path))
            {
                File.Move(trash, clone.Path);
            }

            throw;
        }

        TryDelete(trash);
        TryDelete(backup);
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

        string temp = TempPath(target);
        try
        {
            using (VhdxDisk source = VhdxDisk.Open(clone.Path))
            {
                VhdxDisk.Create(temp, new VhdxCreateOptions
                {
                    VirtualSize = source.VirtualSize,
                    LogicalSectorSize = source.LogicalSectorSize,
                    PhysicalSectorSize = source.PhysicalSectorSize,
                });
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
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        try
        {
            return AddGolden(target, newName);
        }
        catch
        {
            FileSealing.Unseal(target);
            TryDelete(target);
            throw;
        }
    }

    /// <summary>
    /// Compares the catalog with the files: missing files, modified or unsealed goldens, unregistered children of
    /// registered disks, leftover temporary files. With <paramref name="repair"/>, fixes what can be fixed safely.
    /// </summary>
    public IReadOnlyList<CatalogProblem> Verify(bool repair)
    {
        var problems = new List<CatalogProblem>();
        IReadOnlyList<GoldenImage> goldens = _catalog.Goldens();
        IReadOnlyList<CloneRecord> clones = _catalog.Clones();
        foreach (GoldenImage g in goldens)
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

        foreach (CloneRecord c in clones)
        {
            if (!File.Exists(c.Path))
            {
                if (repair)
                {
                    _catalog.InTransaction((conn, tx) =>
                    {
                        using SqliteCommand cmd = PrismCatalog.Command(conn, tx, "DELETE FROM clones WHERE name = $n;", ("$n", c.Name));
                        return cmd.ExecuteNonQuery();
                    });
                }

                problems.Add(new CatalogProblem("missing-file", c.Path, $"clone {c.Name}: file deleted outside Prism", repair));
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
            foreach (string file in Directory.EnumerateFiles(dir))
            {
                if (file.EndsWith(TempMarker, StringComparison.Ordinal) || file.EndsWith(".prism-tmp", StringComparison.Ordinal))
                {
                    if (repair)
                    {
                        TryDelete(file);
                    }

                    problems.Add(new CatalogProblem("leftover-temp", file, "temporary file of an interrupted operation", repair));
                    continue;
                }

                if (known.Contains(file) || !file.EndsWith(".vhdx", StringComparison.OrdinalIgnoreCase))
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

                string name = Path.GetFileNameWithoutExtension(file);
                if (repair)
                {
                    if (clones.Any(c => c.Name == name))
                    {
                        name += "-" + Guid.NewGuid().ToString("N")[..6];
                    }

                    CloneRecord r = new(name, file, goldenName, parentPath, null, File.GetCreationTimeUtc(file));
                    _catalog.InTransaction((conn, tx) =>
                    {
                        using SqliteCommand cmd = PrismCatalog.Command(conn, tx,
                            "INSERT INTO clones (name, path, golden, parent_path, owner, created) VALUES ($n, $p, $g, $pp, NULL, $t);",
                            ("$n", r.Name), ("$p", r.Path), ("$g", r.Golden), ("$pp", r.ParentPath), ("$t", PrismCatalog.Time(r.Created)));
                        return cmd.ExecuteNonQuery();
                    });
                }

                problems.Add(new CatalogProblem("unregistered-child", file, $"a child of {parentPath} that the catalog does not know", repair));
            }
        }

        return problems;
    }

    private static string TempPath(string path) =>
        Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}{TempMarker}");

    private static void ValidateName(string name) => CatalogNames.Validate(name, "name");

    private static void TryDelete(string path)
    {
        try
        {
            if (File.Exists(path))
            {
                File.Delete(path);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
