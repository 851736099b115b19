using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Prism.Provisioner.Catalog;

/// <summary>
/// The provisioner's catalog: one SQLite file in WAL mode holding golden images, clones, scan runs and the journal of
/// operations in progress (<see cref="OperationJournal"/>). Writers take an immediate transaction, so two processes
/// creating clones at once serialize on the catalog.
/// </summary>
public sealed class PrismCatalog : IDisposable
{
    private readonly string _connectionString;

    private PrismCatalog(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 60 }.ToString();
    }

    /// <summary>The catalog file.</summary>
    public string Path { get; }

    /// <summary>
    /// The catalog to use: <paramref name="explicitPath"/>, else $PRISM_CATALOG, else a per-user default
    /// (~/.local/share/prism/catalog.db, %LOCALAPPDATA%\Prism\catalog.db).
    /// </summary>
    public static string ResolvePath(string? explicitPath)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return System.IO.Path.GetFullPath(explicitPath);
        }

        string? env = Environment.GetEnvironmentVariable("PRISM_CATALOG");
        if (!string.IsNullOrEmpty(env))
        {
            return System.IO.Path.GetFullPath(env);
        }

        string baseDir = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create);
        return System.IO.Path.Combine(baseDir, OperatingSystem.IsWindows() ? "Prism" : "prism", "catalog.db");
    }

    /// <summary>Opens or creates the catalog.</summary>
    public static PrismCatalog Open(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        var catalog = new PrismCatalog(full);
        using SqliteConnection c = catalog.Connect();
        using SqliteCommand cmd = c.CreateCommand();
        cmd.CommandText = """
            PRAGMA journal_mode = WAL;
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
            """;
        cmd.ExecuteNonQuery();
        return catalog;
    }

    internal SqliteConnection Connect()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        using SqliteCommand pragma = c.CreateCommand();
        pragma.CommandText = "PRAGMA busy_timeout = 60000; PRAGMA foreign_keys = ON;";
        pragma.ExecuteNonQuery();
        return c;
    }

    /// <summary>Runs <paramref name="work"/> in one IMMEDIATE transaction (writers serialize); commits only if it returns.</summary>
    internal T InTransaction<T>(Func<SqliteConnection, SqliteTransaction, T> work)
    {
        using SqliteConnection c = Connect();
        using SqliteTransaction tx = c.BeginTransaction(deferred: false);
        T result = work(c, tx);
        tx.Commit();
        return result;
    }

    internal static SqliteCommand Command(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
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

    /// <summary>All golden images, by name.</summary>
    public IReadOnlyList<GoldenImage> Goldens()
    {
        using SqliteConnection c = Connect();
        return ReadGoldens(c, null, "SELECT name, path, disk_id, data_write_guid, virtual_size, sealed_at FROM goldens ORDER BY name;");
    }

    /// <summary>All clones, by name.</summary>
    public IReadOnlyList<CloneRecord> Clones()
    {
        using SqliteConnection c = Connect();
        return ReadClones(c, null, "SELECT name, path, golden, parent_path, owner, created FROM clones ORDER BY name;");
    }

    /// <summary>Recorded scan runs, newest first.</summary>
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

    /// <summary>Records a fleet-scan run.</summary>
    public void AddScanRun(ScanRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        InTransaction((c, tx) =>
        {
            using SqliteCommand cmd = Command(c, tx, "INSERT INTO scan_runs (started, finished, report_path, clones, findings) VALUES ($s, $f, $r, $c, $n);",
                ("$s", Time(run.Started)), ("$f", Time(run.Finished)), ("$r", run.ReportPath), ("$c", run.Clones), ("$n", run.Findings));
            return cmd.ExecuteNonQuery();
        });
    }

    internal static List<GoldenImage> ReadGoldens(SqliteConnection c, SqliteTransaction? tx, string sql, params (string, object?)[] args)
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

    internal static List<CloneRecord> ReadClones(SqliteConnection c, SqliteTransaction? tx, string sql, params (string, object?)[] args)
    {
        using SqliteCommand cmd = Command(c, tx, sql, args);
        using SqliteDataReader r = cmd.ExecuteReader();
        var list = new List<CloneRecord>();
        while (r.Read())
        {
            list.Add(new CloneRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), ParseTime(r.GetString(5))));
        }

        return list;
    }

    internal static string Time(DateTime t) => t.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    private static DateTime ParseTime(string s) => DateTime.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

    /// <inheritdoc />
    public void Dispose() => SqliteConnection.ClearAllPools();
}
