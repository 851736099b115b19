using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Prism.Provisioner.Catalog;

/// <summary>
/// The catalog in one SQLite file in WAL mode (the embedded default, one machine). Writers take an IMMEDIATE transaction,
/// so two processes changing the catalog at once serialize. An operation's lease is an exclusive OS lock (flock / Windows
/// share lock) on <c>CATALOG.ops/ID.lock</c>: the kernel drops it when the process dies, however it dies.
/// </summary>
internal sealed class SqliteCatalogStore : ICatalogStore
{
    private const int SqliteConstraint = 19;
    private readonly string _connectionString;

    /// <summary>Schema migrations: entry i brings version i to version i + 1. Version 1 is the catalog before versioning.</summary>
    private static readonly string[] s_migrations =
    [
        """
        CREATE TABLE IF NOT EXISTS goldens (
            name TEXT PRIMARY KEY, path TEXT NOT NULL UNIQUE, disk_id TEXT NOT NULL, data_write_guid TEXT NOT NULL,
            virtual_size INTEGER NOT NULL, sealed_at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS clones (
            name TEXT PRIMARY KEY, path TEXT NOT NULL UNIQUE, golden TEXT NOT NULL REFERENCES goldens(name),
            parent_path TEXT NOT NULL, owner TEXT, created TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS scan_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT, started TEXT NOT NULL, finished TEXT NOT NULL, report_path TEXT,
            clones INTEGER NOT NULL, findings INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS operations (
            id TEXT PRIMARY KEY, kind TEXT NOT NULL, plan TEXT NOT NULL, phase TEXT NOT NULL,
            pid INTEGER NOT NULL, host TEXT NOT NULL, started TEXT NOT NULL);
        """,
        """
        CREATE TABLE hosts (name TEXT PRIMARY KEY, registered TEXT NOT NULL, seen TEXT NOT NULL);
        CREATE TABLE host_roots (host TEXT NOT NULL REFERENCES hosts(name), root TEXT NOT NULL, PRIMARY KEY (host, root));
        ALTER TABLE clones ADD COLUMN host TEXT;
        CREATE INDEX clones_parent ON clones(parent_path);
        """,
    ];

    /// <summary>The schema version this program writes.</summary>
    public static int CurrentVersion => s_migrations.Length;

    private SqliteCatalogStore(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 60 }.ToString();
    }

    /// <summary>The catalog file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public string Display => Path;

    private string LockDirectory => Path + ".ops";

    /// <summary>Opens or creates the catalog file and brings its schema to <see cref="CurrentVersion"/>.</summary>
    /// <exception cref="ProvisionerException">PrismCatalogTooNew: a newer Prism wrote it.</exception>
    public static SqliteCatalogStore Open(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        var store = new SqliteCatalogStore(full);
        using SqliteConnection c = store.Connect();
        Execute(c, null, "PRAGMA journal_mode = WAL;");
        // Fast path: an up-to-date catalog is not write-locked just to be opened.
        if (store.ReadVersion(c, null) == CurrentVersion)
        {
            return store;
        }

        using SqliteTransaction tx = c.BeginTransaction(deferred: false);
        Execute(c, tx, "CREATE TABLE IF NOT EXISTS prism_schema (version INTEGER NOT NULL);");
        int version = store.ReadVersion(c, tx);
        for (int v = version; v < CurrentVersion; v++)
        {
            Execute(c, tx, s_migrations[v]);
            if (v == 1)
            {
                // Clones made before hosts were recorded were made by the host that owns this per-machine file.
                Execute(c, tx, "UPDATE clones SET host = $h WHERE host IS NULL;", ("$h", CatalogHost.Current));
            }
        }

        if (version < CurrentVersion)
        {
            Execute(c, tx, "DELETE FROM prism_schema; INSERT INTO prism_schema (version) VALUES ($v);", ("$v", CurrentVersion));
        }

        tx.Commit();
        return store;
    }

    /// <summary>The version the file says, 0 for an empty file, 1 for a catalog made before versioning.</summary>
    private int ReadVersion(SqliteConnection c, SqliteTransaction? tx)
    {
        bool versioned = Convert.ToInt64(Scalar(c, tx, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'prism_schema';"),
            CultureInfo.InvariantCulture) > 0;
        int version;
        if (versioned)
        {
            version = Convert.ToInt32(Scalar(c, tx, "SELECT COALESCE(MAX(version), 0) FROM prism_schema;") ?? 0, CultureInfo.InvariantCulture);
        }
        else
        {
            version = Convert.ToInt64(Scalar(c, tx, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'goldens';"),
                CultureInfo.InvariantCulture) > 0 ? 1 : 0;
        }

        if (version > CurrentVersion)
        {
            throw CatalogSchema.TooNew(Display, version, CurrentVersion);
        }

        return version;
    }

    private SqliteConnection Connect()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        Execute(c, null, "PRAGMA busy_timeout = 60000; PRAGMA foreign_keys = ON;");
        return c;
    }

    private static SqliteCommand Command(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        SqliteCommand cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach ((string n, object? v) in args)
        {
            cmd.Parameters.AddWithValue(n, v ?? DBNull.Value);
        }

        return cmd;
    }

    private static int Execute(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        using SqliteCommand cmd = Command(c, tx, sql, args);
        return cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        using SqliteCommand cmd = Command(c, tx, sql, args);
        return cmd.ExecuteScalar();
    }

    private const string GoldenColumns = "SELECT name, path, disk_id, data_write_guid, virtual_size, sealed_at FROM goldens";
    private const string CloneColumns = "SELECT name, path, golden, parent_path, owner, created, host FROM clones";

    private static List<GoldenImage> ReadGoldens(SqliteConnection c, SqliteTransaction? tx, string sql, params (string, object?)[] args)
    {
        using SqliteCommand cmd = Command(c, tx, sql, args);
        using SqliteDataReader r = cmd.ExecuteReader();
        var list = new List<GoldenImage>();
        while (r.Read())
        {
            list.Add(new GoldenImage(r.GetString(0), r.GetString(1), Guid.Parse(r.GetString(2)), Guid.Parse(r.GetString(3)), r.GetInt64(4), ParseTime(r.GetString(5))));
        }

        return list;
    }

    private static List<CloneRecord> ReadClones(SqliteConnection c, SqliteTransaction? tx, string sql, params (string, object?)[] args)
    {
        using SqliteCommand cmd = Command(c, tx, sql, args);
        using SqliteDataReader r = cmd.ExecuteReader();
        var list = new List<CloneRecord>();
        while (r.Read())
        {
            list.Add(new CloneRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), ParseTime(r.GetString(5)))
            {
                Host = r.IsDBNull(6) ? null : r.GetString(6),
            });
        }

        return list;
    }

    private static List<JournalEntry> ReadOperations(SqliteConnection c, SqliteTransaction? tx)
    {
        using SqliteCommand cmd = Command(c, tx, "SELECT id, plan, phase, pid, host, started FROM operations ORDER BY started, id;");
        using SqliteDataReader r = cmd.ExecuteReader();
        var list = new List<JournalEntry>();
        while (r.Read())
        {
            list.Add(new JournalEntry(r.GetString(0), OperationPlan.FromJson(r.GetString(1)), r.GetString(2) == "committed", r.GetInt32(3), r.GetString(4),
                ParseTime(r.GetString(5))));
        }

        return list;
    }

    private static string Time(DateTime t) => t.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    private static DateTime ParseTime(string s) => DateTime.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

    /// <inheritdoc />
    public IReadOnlyList<GoldenImage> Goldens()
    {
        using SqliteConnection c = Connect();
        return ReadGoldens(c, null, GoldenColumns + " ORDER BY name;");
    }

    /// <inheritdoc />
    public IReadOnlyList<CloneRecord> Clones()
    {
        using SqliteConnection c = Connect();
        return ReadClones(c, null, CloneColumns + " ORDER BY name;");
    }

    /// <inheritdoc />
    public IReadOnlyList<HostRecord> Hosts()
    {
        using SqliteConnection c = Connect();
        var roots = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        using (SqliteCommand cmd = Command(c, null, "SELECT host, root FROM host_roots ORDER BY host, rowid;"))
        using (SqliteDataReader r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                (roots.TryGetValue(r.GetString(0), out List<string>? l) ? l : roots[r.GetString(0)] = []).Add(r.GetString(1));
            }
        }

        using SqliteCommand hosts = Command(c, null, "SELECT name, registered, seen FROM hosts ORDER BY name;");
        using SqliteDataReader h = hosts.ExecuteReader();
        var list = new List<HostRecord>();
        while (h.Read())
        {
            list.Add(new HostRecord(h.GetString(0), roots.GetValueOrDefault(h.GetString(0)) ?? [], ParseTime(h.GetString(1)), ParseTime(h.GetString(2))));
        }

        return list;
    }

    /// <inheritdoc />
    public IReadOnlyList<ScanRun> ScanRuns()
    {
        using SqliteConnection c = Connect();
        using SqliteCommand cmd = Command(c, null, "SELECT started, finished, report_path, clones, findings FROM scan_runs ORDER BY id DESC;");
        using SqliteDataReader r = cmd.ExecuteReader();
        var list = new List<ScanRun>();
        while (r.Read())
        {
            list.Add(new ScanRun(ParseTime(r.GetString(0)), ParseTime(r.GetString(1)), r.IsDBNull(2) ? null : r.GetString(2), r.GetInt32(3), r.GetInt32(4)));
        }

        return list;
    }

    /// <inheritdoc />
    public void AddScanRun(ScanRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        Write(w =>
        {
            var (c, tx) = ((Writer)w).Connection;
            return Execute(c, tx, "INSERT INTO scan_runs (started, finished, report_path, clones, findings) VALUES ($s, $f, $r, $c, $n);",
                ("$s", Time(run.Started)), ("$f", Time(run.Finished)), ("$r", run.ReportPath), ("$c", run.Clones), ("$n", run.Findings));
        });
    }

    /// <inheritdoc />
    public IReadOnlyList<JournalEntry> Operations()
    {
        using SqliteConnection c = Connect();
        return ReadOperations(c, null);
    }

    /// <inheritdoc />
    public T Write<T>(Func<ICatalogWriter, T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        using SqliteConnection c = Connect();
        using SqliteTransaction tx = c.BeginTransaction(deferred: false);
        T result = work(new Writer(this, c, tx));
        tx.Commit();
        return result;
    }

    /// <inheritdoc />
    public T WriteIdempotent<T>(Func<ICatalogWriter, T> work) => Write(work);

    private string LockPath(string id) => System.IO.Path.Combine(LockDirectory, id + ".lock");

    /// <inheritdoc />
    public ICatalogLease TakeLease(string id)
    {
        Directory.CreateDirectory(LockDirectory);
        if (OperatingSystem.IsWindows())
        {
            // The sharing mode is taken with the open itself: nobody can hold the file between the two.
            return new FileLease(this, id, new FileStream(LockPath(id), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None));
        }

        // On Unix the file is created by open() and locked by a later flock(): in between, a stale-lock sweep could lock
        // it, find no row, and delete it, and this process would then lock a deleted file another process can no longer
        // see. So the file is created and locked under a private name and only then linked under the lease's name: the
        // lease's path never shows an unlocked file.
        string pending = System.IO.Path.Combine(LockDirectory, $"{id}.{Environment.ProcessId}{PendingSuffix}");
        var lockFile = new FileStream(pending, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        try
        {
            File.Move(pending, LockPath(id), overwrite: false);
        }
        catch
        {
            lockFile.Dispose();
            File.Delete(pending);
            throw;
        }

        return new FileLease(this, id, lockFile);
    }

    /// <summary>The suffix of a lock file still being created (<see cref="TakeLease"/>).</summary>
    private const string PendingSuffix = ".pending";

    /// <summary>How old a pending lock file must be before a sweep removes it (its process died while creating it).</summary>
    private static readonly TimeSpan s_pendingAge = TimeSpan.FromMinutes(5);

    /// <inheritdoc />
    public ICatalogLease? TryTakeLease(string id)
    {
        FileStream? taken = TryLock(id);
        return taken is null ? null : new FileLease(this, id, taken);
    }

    private FileStream? TryLock(string id)
    {
        try
        {
            Directory.CreateDirectory(LockDirectory);
            return new FileStream(LockPath(id), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (IsHeldElsewhere(e) || File.Exists(LockPath(id)))
        {
            // Locked by the live process that owns it (EWOULDBLOCK / sharing violation) — also when that process
            // released and deleted it between this open and this lock attempt: not taken either way.
            return null;
        }
    }

    /// <summary>True for the error of a lock another open file holds: EWOULDBLOCK on Linux (11) and macOS (35), a sharing violation on Windows.</summary>
    private static bool IsHeldElsewhere(IOException e) =>
        e.HResult == (OperatingSystem.IsWindows() ? unchecked((int)0x80070020) : OperatingSystem.IsMacOS() ? 35 : 11);

    /// <inheritdoc />
    public void RemoveStaleLeases()
    {
        if (!Directory.Exists(LockDirectory))
        {
            return;
        }

        var ids = Operations().Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
        foreach (string file in Directory.EnumerateFiles(LockDirectory, "*.lock"))
        {
            string id = System.IO.Path.GetFileNameWithoutExtension(file);
            if (ids.Contains(id))
            {
                continue;
            }

            FileStream? taken = TryLock(id);
            if (taken is not null && !Operations().Any(e => e.Id == id))
            {
                ReleaseLock(taken, file);
            }
            else
            {
                taken?.Dispose();
            }
        }

        // Left by a process that died between creating its lock file and linking it under the lease's name: old and
        // unlocked. (A young one may be in the middle of TakeLease; it is never touched.)
        foreach (string file in Directory.EnumerateFiles(LockDirectory, "*" + PendingSuffix))
        {
            if (DateTime.UtcNow - File.GetLastWriteTimeUtc(file) < s_pendingAge)
            {
                continue;
            }

            FileStream stale;
            try
            {
                stale = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                // Locked (a live process still holds it) or already gone.
                continue;
            }

            ReleaseLock(stale, file);
        }
    }

    private static void ReleaseLock(FileStream lease, string path)
    {
        // Unlink while still holding the lock, then close: a process that opens the path afterwards makes a new file and
        // finds no row for it.
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        lease.Dispose();
    }

    /// <inheritdoc />
    public void Dispose() => SqliteConnection.ClearAllPools();

    /// <summary>A lease held as an exclusive lock on its file; the row is written through ordinary transactions.</summary>
    private sealed class FileLease(SqliteCatalogStore store, string id, FileStream lockFile) : ICatalogLease
    {
        private bool _disposed;

        public string Id => id;

        public T Write<T>(Func<ICatalogWriter, T> work) => store.Write(work);

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                ReleaseLock(lockFile, store.LockPath(id));
            }
        }
    }

    private sealed class Writer(SqliteCatalogStore store, SqliteConnection c, SqliteTransaction tx) : ICatalogWriter
    {
        public (SqliteConnection, SqliteTransaction) Connection => (c, tx);

        public IReadOnlyList<JournalEntry> Operations() => ReadOperations(c, tx);

        public void AddOperation(JournalEntry e) => Execute(c, tx,
            "INSERT INTO operations (id, kind, plan, phase, pid, host, started) VALUES ($id, $k, $p, $ph, $pid, $h, $t);",
            ("$id", e.Id), ("$k", e.Plan.Kind), ("$p", e.Plan.ToJson()), ("$ph", e.Committed ? "committed" : "started"), ("$pid", e.ProcessId),
            ("$h", e.Host), ("$t", Time(e.Started)));

        public bool MarkCommitted(string id) => Execute(c, tx, "UPDATE operations SET phase = 'committed' WHERE id = $id;", ("$id", id)) == 1;

        public bool RemoveOperation(string id) => Execute(c, tx, "DELETE FROM operations WHERE id = $id;", ("$id", id)) == 1;

        public GoldenImage? FindGolden(string name, string path) =>
            ReadGoldens(c, tx, GoldenColumns + " WHERE name = $n OR path = $p ORDER BY name;", ("$n", name), ("$p", path)).FirstOrDefault();

        public IReadOnlyList<CloneRecord> FindClones(IReadOnlyCollection<string> names, IReadOnlyCollection<string> paths)
        {
            var n = names.ToHashSet(StringComparer.Ordinal);
            var p = paths.ToHashSet(StringComparer.Ordinal);
            return ReadClones(c, tx, CloneColumns + " ORDER BY name;").Where(r => n.Contains(r.Name) || p.Contains(r.Path)).ToList();
        }

        public IReadOnlyList<CloneRecord> ChildrenOf(string parentPath) =>
            ReadClones(c, tx, CloneColumns + " WHERE parent_path = $p ORDER BY name;", ("$p", parentPath));

        public int CountClonesOf(string golden) =>
            Convert.ToInt32(Scalar(c, tx, "SELECT COUNT(*) FROM clones WHERE golden = $g;", ("$g", golden)), CultureInfo.InvariantCulture);

        public void AddGolden(GoldenImage g) => Conflicts(() => Execute(c, tx,
            "INSERT INTO goldens (name, path, disk_id, data_write_guid, virtual_size, sealed_at) VALUES ($n, $p, $d, $w, $s, $t);",
            ("$n", g.Name), ("$p", g.Path), ("$d", g.DiskId.ToString("D")), ("$w", g.DataWriteGuid.ToString("D")), ("$s", g.VirtualSize),
            ("$t", Time(g.SealedAt))), "PrismGoldenExists", $"a golden named {g.Name} or at {g.Path}");

        public void AddClones(IReadOnlyList<CloneRecord> clones)
        {
            using SqliteCommand cmd = Command(c, tx,
                "INSERT INTO clones (name, path, golden, parent_path, owner, created, host) VALUES ($n, $p, $g, $pp, $o, $t, $h);",
                ("$n", ""), ("$p", ""), ("$g", ""), ("$pp", ""), ("$o", null), ("$t", ""), ("$h", null));
            foreach (CloneRecord r in clones)
            {
                cmd.Parameters["$n"].Value = r.Name;
                cmd.Parameters["$p"].Value = r.Path;
                cmd.Parameters["$g"].Value = r.Golden;
                cmd.Parameters["$pp"].Value = r.ParentPath;
                cmd.Parameters["$o"].Value = (object?)r.Owner ?? DBNull.Value;
                cmd.Parameters["$t"].Value = Time(r.Created);
                cmd.Parameters["$h"].Value = (object?)r.Host ?? DBNull.Value;
                Conflicts(cmd.ExecuteNonQuery, "PrismCloneExists", $"a clone named {r.Name} or at {r.Path}");
            }
        }

        public bool RemoveClone(string name) => Execute(c, tx, "DELETE FROM clones WHERE name = $n;", ("$n", name)) == 1;

        public void RemoveGoldenAndClones(string golden)
        {
            Execute(c, tx, "DELETE FROM clones WHERE golden = $g;", ("$g", golden));
            Execute(c, tx, "DELETE FROM goldens WHERE name = $g;", ("$g", golden));
        }

        public void RegisterHost(string name, IReadOnlyCollection<string> roots)
        {
            string now = Time(DateTime.UtcNow);
            Execute(c, tx, "INSERT INTO hosts (name, registered, seen) VALUES ($n, $t, $t) ON CONFLICT (name) DO UPDATE SET seen = excluded.seen;",
                ("$n", name), ("$t", now));
            foreach (string root in roots)
            {
                Execute(c, tx, "INSERT OR IGNORE INTO host_roots (host, root) VALUES ($n, $r);", ("$n", name), ("$r", root));
            }
        }

        private void Conflicts(Func<int> insert, string errorId, string what)
        {
            try
            {
                insert();
            }
            catch (SqliteException e) when (e.SqliteErrorCode == SqliteConstraint && e.Message.Contains("UNIQUE", StringComparison.Ordinal))
            {
                throw new CatalogConflictException(errorId, $"{what} is already registered in the catalog {store.Display}", e);
            }
        }
    }
}

/// <summary>The schema-version rule both adapters share.</summary>
internal static class CatalogSchema
{
    public static ProvisionerException TooNew(string display, int version, int current) => new("PrismCatalogTooNew",
        $"the catalog {display} has schema version {version}, this Prism knows versions up to {current}: a newer Prism wrote it; "
        + "upgrade Prism on this host (the catalog is left untouched)");
}
