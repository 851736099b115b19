using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Win32.SafeHandles;
using Prism.Disks.IO;

namespace Prism.Scanner.Fleet;

/// <summary>
/// SQLite store of scan results (WAL, one file): a parent's per-stream verdicts keyed by its identity (disk id +
/// DataWriteGuid) and the signature set, and each clone's last error-free result keyed by its DataWriteGuid and the signatures.
/// Safe with concurrent scans (transactions, bounded lock waits). A store is recognised positively (the SQLite header's
/// application_id, or for stores made before it was set, exactly the store's tables and schema version, which are then
/// migrated); any other file is refused and left untouched. A damaged store is moved aside, never deleted.
/// </summary>
public sealed class VerdictStore : IVerdictStore
{
    /// <summary>SQLite application_id of a Prism verdict store ("PrVs").</summary>
    public const int ApplicationId = 0x50725673;

    private const int SchemaVersion = 2;
    private const int HeaderSize = 100;
    private const int ApplicationIdOffset = 68;

    /// <summary>Schema migrations: entry i brings version i + 1 to version i + 2 (version 1 is the original three tables).</summary>
    private static readonly string[] s_migrations =
    [
        "CREATE TABLE IF NOT EXISTS parent_walks (parent_key TEXT PRIMARY KEY, walk BLOB NOT NULL, created TEXT NOT NULL);",
    ];
    private static readonly Dictionary<string, string[]> s_tables = new(StringComparer.Ordinal)
    {
        ["meta"] = ["key", "value"],
        ["baselines"] = ["parent_key", "report", "verdicts", "created"],
        ["clones"] = ["path", "clone_key", "clean", "report", "scanned"],
    };

    private readonly string _connectionString;
    private readonly Lock _lock = new();
    private readonly List<string> _problems = [];

    private VerdictStore(string path, TimeSpan lockWait)
    {
        Path = path;
        LockWait = lockWait;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Pooling = false,
            DefaultTimeout = (int)Math.Ceiling(lockWait.TotalSeconds),
        }.ToString();
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>True when the file was a damaged Prism store: it was moved to <see cref="CorruptCopyPath"/> and a new store made.</summary>
    public bool WasRebuilt => CorruptCopyPath is not null;

    /// <summary>Where a damaged store was moved (<c>F.corrupt-&lt;UTC time&gt;</c>, with its -wal and -shm files), or null.</summary>
    public string? CorruptCopyPath { get; private set; }

    /// <summary>How long a read or write waits for another process's lock.</summary>
    public TimeSpan LockWait { get; }

    /// <summary>
    /// Reads or writes of the store that failed during the scan (the scan went on without them: a failed read reuses
    /// nothing, a failed write keeps nothing). Each line names the file.
    /// </summary>
    public IReadOnlyList<string> Problems
    {
        get
        {
            lock (_lock)
            {
                return [.. _problems];
            }
        }
    }

    /// <summary>
    /// Opens the Prism verdict store at <paramref name="path"/>, or creates it when there is no file (or an empty one).
    /// A damaged Prism store is moved aside to <c>path.corrupt-&lt;UTC time&gt;</c> and replaced by an empty one.
    /// </summary>
    /// <exception cref="VerdictStoreException">
    /// The file is not a Prism store, is of an unknown newer version, is locked longer than
    /// <see cref="VerdictStoreOptions.LockWait"/>, read-only or unreadable. The file was not modified.
    /// </exception>
    public static VerdictStore Open(string path, VerdictStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new VerdictStoreOptions();
        var store = new VerdictStore(System.IO.Path.GetFullPath(path), options.LockWait);
        for (int attempt = 0; ; attempt++)
        {
            StoreKind kind = store.Identify(out FileIdentity examined);
            if (kind is StoreKind.Ours or StoreKind.Legacy && !store.IsIntact(out string? damage))
            {
                if (!store.MoveAside(examined, damage!))
                {
                    if (attempt == 0)
                    {
                        // Another scan moved it (and made a new store) first: look again at what is there now.
                        continue;
                    }

                    throw new VerdictStoreException(store.Path, VerdictStoreProblem.Unreadable,
                        $"{store.Path}: verdict store is damaged ({damage}) and was replaced twice while Prism was moving it aside");
                }

                kind = StoreKind.New;
            }

            store.Initialize(kind == StoreKind.Legacy, options);
            return store;
        }
    }

    private enum StoreKind
    {
        New,
        Ours,
        Legacy,
    }

    /// <summary>What the file at <see cref="Path"/> is; throws VerdictStoreException for anything that is not (or may not be) a Prism store.</summary>
    private StoreKind Identify(out FileIdentity identity)
    {
        identity = default;
        if (Directory.Exists(Path))
        {
            throw new VerdictStoreException(Path, VerdictStoreProblem.Unreadable, $"{Path}: is a directory, not a verdict store");
        }

        if (!File.Exists(Path))
        {
            return StoreKind.New;
        }

        if (FileIdentity.TryGet(Path, out identity) && !identity.IsRegularFile)
        {
            throw NotAStore("not a regular file");
        }

        byte[] header = new byte[HeaderSize];
        int n;
        try
        {
            using SafeFileHandle h = File.OpenHandle(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            n = RandomAccess.Read(h, header, 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VerdictStoreException(Path, VerdictStoreProblem.Unreadable, $"{Path}: verdict store cannot be read: {e.Message}", e);
        }

        if (n == 0)
        {
            return StoreKind.New;
        }

        if (n < HeaderSize || !header.AsSpan(0, 16).SequenceEqual("SQLite format 3\0"u8))
        {
            throw NotAStore("not a SQLite database");
        }

        int applicationId = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(ApplicationIdOffset));
        if (applicationId == ApplicationId)
        {
            return StoreKind.Ours;
        }

        if (applicationId != 0)
        {
            throw NotAStore($"a SQLite database of another application, application_id 0x{applicationId:X8}");
        }

        // application_id 0: a store made before Prism set it, or any other SQLite database. Only the exact tables and
        // schema version of a verdict store count; the file is opened read-only to look.
        try
        {
            using var c = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = Path,
                Pooling = false,
                Mode = SqliteOpenMode.ReadOnly,
                DefaultTimeout = (int)Math.Ceiling(LockWait.TotalSeconds),
            }.ToString());
            c.Open();
            if (Convert.ToInt64(Scalar(c, "PRAGMA application_id;"), CultureInfo.InvariantCulture) == ApplicationId)
            {
                // Migrated, with the header change still in the WAL.
                return StoreKind.Ours;
            }

            var tables = new List<string>();
            using (SqliteCommand cmd = c.CreateCommand())
            {
                cmd.CommandText = "SELECT name FROM sqlite_master WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\';";
                using SqliteDataReader r = cmd.ExecuteReader();
                while (r.Read())
                {
                    tables.Add(r.GetString(0));
                }
            }

            if (tables.Count == 0 && Convert.ToInt64(Scalar(c, "SELECT COUNT(*) FROM sqlite_master;"), CultureInfo.InvariantCulture) == 0)
            {
                // A database with no schema at all holds nothing: what another scan creating this store leaves between
                // creating the file and committing its tables. Initializing it (idempotently) loses nothing.
                return StoreKind.New;
            }

            if (tables.Count != s_tables.Count || !tables.All(s_tables.ContainsKey))
            {
                throw NotAStore($"a SQLite database of other tables ({string.Join(", ", tables.Order(StringComparer.Ordinal).Take(8))})");
            }

            foreach ((string table, string[] columns) in s_tables)
            {
                var actual = new List<string>();
                using SqliteCommand cmd = c.CreateCommand();
                cmd.CommandText = $"SELECT name FROM pragma_table_info('{table}');";
                using SqliteDataReader r = cmd.ExecuteReader();
                while (r.Read())
                {
                    actual.Add(r.GetString(0));
                }

                if (!actual.SequenceEqual(columns, StringComparer.Ordinal))
                {
                    throw NotAStore($"a SQLite database whose table {table} has other columns");
                }
            }

            if (Scalar(c, "SELECT value FROM meta WHERE key = 'schema';") as string != "1")
            {
                throw NotAStore("a SQLite database without a verdict store's schema version");
            }

            return StoreKind.Legacy;
        }
        catch (SqliteException e) when (PrimaryCode(e) is SqliteCorrupt or SqliteNotADatabase)
        {
            // Without an application_id there is no telling a damaged old store from someone else's damaged database.
            throw NotAStore($"a SQLite database Prism cannot read the tables of: {e.Message}");
        }
        catch (SqliteException e)
        {
            throw Classify(e, "examined");
        }
    }

    private VerdictStoreException NotAStore(string why) => new(Path, VerdictStoreProblem.NotAStore,
        $"{Path}: not a Prism verdict store ({why}); it was left untouched (name a new file, or an existing Prism store)");

    /// <summary>False (with the reason) when the store's pages fail SQLite's quick_check or cannot be decoded.</summary>
    private bool IsIntact(out string? damage)
    {
        damage = null;
        try
        {
            using SqliteConnection c = Connect();
            string? result = Scalar(c, "PRAGMA quick_check;") as string;
            if (result == "ok")
            {
                return true;
            }

            damage = $"integrity check failed: {result}";
            return false;
        }
        catch (SqliteException e) when (PrimaryCode(e) is SqliteCorrupt or SqliteNotADatabase)
        {
            damage = e.Message;
            return false;
        }
        catch (SqliteException e)
        {
            throw Classify(e, "checked");
        }
    }

    /// <summary>
    /// Renames the damaged store (and its -wal and -shm files) to <c>Path.corrupt-&lt;UTC time&gt;</c>; false when the file
    /// at <see cref="Path"/> is no longer the one examined (another scan moved it first).
    /// </summary>
    private bool MoveAside(FileIdentity examined, string damage)
    {
        SqliteConnection.ClearAllPools();
        if (FileIdentity.TryGet(Path, out FileIdentity now) ? !now.IsSameFile(examined) : !File.Exists(Path))
        {
            return false;
        }

        string stamp = $"{Path}.corrupt-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}";
        string target = stamp;
        for (int i = 2; File.Exists(target) || File.Exists(target + "-wal"); i++)
        {
            target = $"{stamp}-{i}";
        }

        try
        {
            File.Move(Path, target);
            foreach (string suffix in new[] { "-wal", "-shm" })
            {
                if (File.Exists(Path + suffix))
                {
                    File.Move(Path + suffix, target + suffix);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VerdictStoreException(Path, VerdictStoreProblem.ReadOnly,
                $"{Path}: verdict store is damaged ({damage}) and cannot be moved aside: {e.Message}", e);
        }

        CorruptCopyPath = target;
        return true;
    }

    /// <summary>Creates the tables (a new or migrated store) under the write lock, waiting for it at most LockWait (reported).</summary>
    private void Initialize(bool migrate, VerdictStoreOptions options)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                using SqliteConnection c = Connect(attempt == 0 ? TimeSpan.Zero : LockWait);
                Execute(c, "PRAGMA journal_mode = WAL;");
                using (SqliteTransaction tx = c.BeginTransaction(deferred: false))
                {
                    using SqliteCommand cmd = c.CreateCommand();
                    cmd.Transaction = tx;
                    cmd.CommandText = $"""
                        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                        CREATE TABLE IF NOT EXISTS baselines (parent_key TEXT PRIMARY KEY, report TEXT NOT NULL, verdicts TEXT NOT NULL, created TEXT NOT NULL);
                        CREATE TABLE IF NOT EXISTS clones (path TEXT PRIMARY KEY, clone_key TEXT NOT NULL, clean INTEGER NOT NULL, report TEXT NOT NULL, scanned TEXT NOT NULL);
                        INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '1');
                        PRAGMA application_id = {ApplicationId};
                        """;
                    cmd.ExecuteNonQuery();
                    cmd.CommandText = "SELECT value FROM meta WHERE key = 'schema';";
                    string? version = cmd.ExecuteScalar() as string;
                    if (!int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v < 1 || v > SchemaVersion)
                    {
                        throw new VerdictStoreException(Path, VerdictStoreProblem.UnknownVersion,
                            $"{Path}: verdict store of schema version {version ?? "(none)"}, this Prism knows {SchemaVersion}; it was left untouched");
                    }

                    for (; v < SchemaVersion; v++)
                    {
                        cmd.CommandText = s_migrations[v - 1];
                        cmd.ExecuteNonQuery();
                    }

                    cmd.CommandText = $"UPDATE meta SET value = '{SchemaVersion}' WHERE key = 'schema';";
                    cmd.ExecuteNonQuery();
                    tx.Commit();
                }

                if (migrate)
                {
                    // Put the new application_id into the main file's header now, not at some later checkpoint.
                    Execute(c, "PRAGMA wal_checkpoint(TRUNCATE);");
                }

                return;
            }
            catch (SqliteException e) when (attempt == 0 && PrimaryCode(e) is SqliteBusy or SqliteLocked && LockWait > TimeSpan.Zero)
            {
                options.Waiting?.Invoke($"verdict store {Path} is locked by another process; waiting up to {LockWait.TotalSeconds:0.#} s");
            }
            catch (SqliteException e)
            {
                throw Classify(e, "opened");
            }
        }
    }

    private const int SqlitePerm = 3, SqliteBusy = 5, SqliteLocked = 6, SqliteReadOnly = 8, SqliteCorrupt = 11, SqliteCantOpen = 14,
        SqliteNotADatabase = 26;

    private static int PrimaryCode(SqliteException e) => e.SqliteErrorCode & 0xFF;

    private VerdictStoreException Classify(SqliteException e, string what) => PrimaryCode(e) switch
    {
        SqliteBusy or SqliteLocked => new(Path, VerdictStoreProblem.Locked,
            $"{Path}: verdict store is locked by another process (gave up after {LockWait.TotalSeconds:0.#} s): {e.Message}", e),
        SqliteReadOnly => new(Path, VerdictStoreProblem.ReadOnly, $"{Path}: verdict store cannot be written (read-only): {e.Message}", e),
        SqlitePerm or SqliteCantOpen => new(Path, VerdictStoreProblem.Unreadable, $"{Path}: verdict store cannot be opened: {e.Message}", e),
        _ => new(Path, VerdictStoreProblem.Unreadable, $"{Path}: verdict store could not be {what}: {e.Message}", e),
    };

    private SqliteConnection Connect(TimeSpan? busyTimeout = null)
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        Execute(c, $"PRAGMA busy_timeout = {(long)(busyTimeout ?? LockWait).TotalMilliseconds};");
        return c;
    }

    private static void Execute(SqliteConnection c, string sql)
    {
        using SqliteCommand cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection c, string sql)
    {
        using SqliteCommand cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    /// <inheritdoc />
    public string Display => Path;

    /// <inheritdoc />
    public StoredBaselineDocument? FindBaseline(string parentKey) =>
        QueryRow("SELECT verdicts, report FROM baselines WHERE parent_key = $k;", 2, ("$k", parentKey)) is [string verdicts, string report]
            ? new StoredBaselineDocument(verdicts, report)
            : null;

    /// <inheritdoc />
    public void SaveBaseline(string parentKey, StoredBaselineDocument baseline)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        Execute("INSERT OR REPLACE INTO baselines (parent_key, report, verdicts, created) VALUES ($k, $r, $v, $t);",
            ("$k", parentKey), ("$r", baseline.Report), ("$v", baseline.Verdicts), ("$t", DateTime.UtcNow.ToString("O")));
    }

    /// <inheritdoc />
    public void DeleteBaseline(string parentKey) => Execute("DELETE FROM baselines WHERE parent_key = $k;", ("$k", parentKey));

    /// <inheritdoc />
    public string? FindClone(string path, string cloneKey) =>
        QueryRow("SELECT report FROM clones WHERE path = $p AND clone_key = $k;", 1, ("$p", path), ("$k", cloneKey))?[0];

    /// <inheritdoc />
    public void SaveClone(string path, string cloneKey, bool clean, string report) =>
        Execute("INSERT OR REPLACE INTO clones (path, clone_key, clean, report, scanned) VALUES ($p, $k, $c, $r, $t);",
            ("$p", path), ("$k", cloneKey), ("$c", clean ? 1 : 0), ("$r", report), ("$t", DateTime.UtcNow.ToString("O")));

    /// <inheritdoc />
    public void DeleteClone(string path) => Execute("DELETE FROM clones WHERE path = $p;", ("$p", path));

    /// <inheritdoc />
    public void SaveParentWalk(string parentKey, byte[] walk) =>
        Execute("INSERT OR REPLACE INTO parent_walks (parent_key, walk, created) VALUES ($k, $w, $t);",
            ("$k", parentKey), ("$w", walk), ("$t", DateTime.UtcNow.ToString("O")));

    /// <inheritdoc />
    public byte[]? LoadParentWalk(string parentKey)
    {
        lock (_lock)
        {
            try
            {
                using SqliteConnection c = Connect();
                using SqliteCommand cmd = c.CreateCommand();
                cmd.CommandText = "SELECT walk FROM parent_walks WHERE parent_key = $k;";
                cmd.Parameters.AddWithValue("$k", parentKey);
                return cmd.ExecuteScalar() as byte[];
            }
            catch (SqliteException e)
            {
                _problems.Add(Classify(e, "read").Message);
                return null;
            }
        }
    }

    /// <summary>The first row's <paramref name="columns"/> text columns, or null when there is none or the store could not be read (a recorded problem).</summary>
    private string?[]? QueryRow(string sql, int columns, params (string Name, object Value)[] args)
    {
        lock (_lock)
        {
            try
            {
                using SqliteConnection c = Connect();
                using SqliteCommand cmd = c.CreateCommand();
                cmd.CommandText = sql;
                foreach ((string n, object v) in args)
                {
                    cmd.Parameters.AddWithValue(n, v);
                }

                using SqliteDataReader r = cmd.ExecuteReader();
                if (!r.Read())
                {
                    return null;
                }

                var row = new string?[columns];
                for (int i = 0; i < columns; i++)
                {
                    row[i] = r.IsDBNull(i) ? null : r.GetString(i);
                }

                return row;
            }
            catch (SqliteException e)
            {
                _problems.Add(Classify(e, "read").Message);
                return null;
            }
        }
    }

    /// <summary>Runs one write in its own transaction; a failure is recorded in <see cref="Problems"/> and the scan goes on.</summary>
    private void Execute(string sql, params (string Name, object Value)[] args)
    {
        lock (_lock)
        {
            try
            {
                using SqliteConnection c = Connect();
                using SqliteTransaction tx = c.BeginTransaction();
                using SqliteCommand cmd = c.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = sql;
                foreach ((string n, object v) in args)
                {
                    cmd.Parameters.AddWithValue(n, v);
                }

                cmd.ExecuteNonQuery();
                tx.Commit();
            }
            catch (SqliteException e)
            {
                _problems.Add(Classify(e, "written").Message);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => SqliteConnection.ClearAllPools();
}
