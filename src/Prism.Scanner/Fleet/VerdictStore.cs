using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Prism.Scanner.Fleet;

/// <summary>
/// SQLite store of scan results (WAL, one file): a parent's per-stream verdicts keyed by its identity (disk id +
/// DataWriteGuid) and the signature set, and each clone's last error-free result keyed by its DataWriteGuid and the signatures.
/// Safe with concurrent scans (transactions, busy timeout). A corrupted store is rebuilt, never trusted.
/// </summary>
public sealed class VerdictStore : IDisposable
{
    private const int SchemaVersion = 1;
    private static readonly JsonSerializerOptions s_json = new() { IncludeFields = false };
    private readonly string _connectionString;
    private readonly Lock _lock = new();

    private VerdictStore(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 30 }.ToString();
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>True when the file existed but was unreadable or inconsistent and was rebuilt empty.</summary>
    public bool WasRebuilt { get; private set; }

    /// <summary>Opens (or creates) the store at <paramref name="path"/>; a damaged file is replaced by an empty store.</summary>
    public static VerdictStore Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var store = new VerdictStore(System.IO.Path.GetFullPath(path));
        try
        {
            store.Initialize(verify: File.Exists(store.Path));
        }
        catch (Exception e) when (e is SqliteException or InvalidDataException)
        {
            SqliteConnection.ClearAllPools();
            foreach (string f in new[] { store.Path, store.Path + "-wal", store.Path + "-shm" })
            {
                File.Delete(f);
            }

            store.WasRebuilt = true;
            store.Initialize(verify: false);
        }

        return store;
    }

    private SqliteConnection Connect()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        using SqliteCommand pragma = c.CreateCommand();
        pragma.CommandText = "PRAGMA busy_timeout = 30000;";
        pragma.ExecuteNonQuery();
        return c;
    }

    private void Initialize(bool verify)
    {
        using SqliteConnection c = Connect();
        if (verify)
        {
            using SqliteCommand check = c.CreateCommand();
            check.CommandText = "PRAGMA quick_check;";
            string? result = check.ExecuteScalar() as string;
            if (result != "ok")
            {
                throw new InvalidDataException($"{Path}: integrity check failed: {result}");
            }
        }

        using SqliteCommand cmd = c.CreateCommand();
        cmd.CommandText = """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS baselines (parent_key TEXT PRIMARY KEY, report TEXT NOT NULL, verdicts TEXT NOT NULL, created TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS clones (path TEXT PRIMARY KEY, clone_key TEXT NOT NULL, clean INTEGER NOT NULL, report TEXT NOT NULL, scanned TEXT NOT NULL);
            INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '1');
            """;
        cmd.ExecuteNonQuery();
        using SqliteCommand version = c.CreateCommand();
        version.CommandText = "SELECT value FROM meta WHERE key = 'schema';";
        if (version.ExecuteScalar() as string != SchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            throw new InvalidDataException($"{Path}: unknown schema version");
        }
    }

    private sealed record StoredStream(long Volume, long Record, ushort Sequence, string Stream, long Size, List<StoredHit> Hits);

    private sealed record StoredRaw(long Offset, long Length, List<StoredHit> Hits);

    private sealed record StoredHit(string Signature, long? Offset);

    private sealed record StoredBaseline(List<StoredStream> Streams, List<StoredRaw> Raw);

    private sealed record StoredReport(List<Finding> Findings, long BytesRead, long BytesInherited, double Seconds, List<string> Errors,
        int StreamsScanned, int StreamsInherited, long DivergentBytes);

    internal Baseline? TryLoadBaseline(string parentKey)
    {
        string? json = QueryString("SELECT verdicts FROM baselines WHERE parent_key = $k;", ("$k", parentKey));
        if (json is null)
        {
            return null;
        }

        try
        {
            StoredBaseline stored = JsonSerializer.Deserialize<StoredBaseline>(json, s_json) ?? throw new JsonException("null baseline");
            var baseline = new Baseline();
            foreach (StoredStream s in stored.Streams)
            {
                baseline.Streams[new StreamKey(s.Volume, s.Record, s.Sequence, s.Stream)] =
                    new StreamVerdict(s.Size, s.Hits.Select(h => new EngineHit(h.Signature, h.Offset)).ToList());
            }

            foreach (StoredRaw r in stored.Raw)
            {
                baseline.Raw.Add(new RawVerdict(new Disks.IO.ByteRange(r.Offset, r.Length), r.Hits.Select(h => new EngineHit(h.Signature, h.Offset)).ToList()));
            }

            return baseline;
        }
        catch (JsonException)
        {
            Execute("DELETE FROM baselines WHERE parent_key = $k;", ("$k", parentKey));
            return null;
        }
    }

    internal DiskReport LoadParentReport(string parentKey, string path)
    {
        string? json = QueryString("SELECT report FROM baselines WHERE parent_key = $k;", ("$k", parentKey));
        StoredReport? r = json is null ? null : JsonSerializer.Deserialize<StoredReport>(json, s_json);
        return new DiskReport
        {
            Path = path,
            Findings = r?.Findings ?? [],
            Errors = r?.Errors ?? [],
            Cached = true,
        };
    }

    internal void SaveBaseline(string parentKey, Baseline baseline, DiskReport report)
    {
        var stored = new StoredBaseline(
            baseline.Streams.Select(kv => new StoredStream(kv.Key.Volume, kv.Key.Record, kv.Key.Sequence, kv.Key.Stream, kv.Value.Size,
                kv.Value.Hits.Select(h => new StoredHit(h.Signature, h.Offset)).ToList())).ToList(),
            baseline.Raw.Select(r => new StoredRaw(r.Range.Offset, r.Range.Length, r.Hits.Select(h => new StoredHit(h.Signature, h.Offset)).ToList())).ToList());
        Execute("INSERT OR REPLACE INTO baselines (parent_key, report, verdicts, created) VALUES ($k, $r, $v, $t);",
            ("$k", parentKey), ("$r", JsonSerializer.Serialize(ToStored(report), s_json)), ("$v", JsonSerializer.Serialize(stored, s_json)),
            ("$t", DateTime.UtcNow.ToString("O")));
    }

    /// <summary>
    /// The stored result of a clone whose DataWriteGuid and signature set are unchanged since it was scanned without
    /// errors: its findings are reused and nothing of it is read.
    /// </summary>
    internal DiskReport? TryLoadClone(string path, string cloneKey)
    {
        string? json = QueryString("SELECT report FROM clones WHERE path = $p AND clone_key = $k;", ("$p", path), ("$k", cloneKey));
        if (json is null)
        {
            return null;
        }

        try
        {
            StoredReport r = JsonSerializer.Deserialize<StoredReport>(json, s_json) ?? throw new JsonException("null report");
            return r.Errors.Count > 0 ? null : new DiskReport { Path = path, Findings = r.Findings, Cached = true, DivergentBytes = r.DivergentBytes };
        }
        catch (JsonException)
        {
            Execute("DELETE FROM clones WHERE path = $p;", ("$p", path));
            return null;
        }
    }

    internal void SaveClone(string path, string cloneKey, DiskReport report)
    {
        bool clean = report.Findings.Count == 0 && report.Errors.Count == 0;
        Execute("INSERT OR REPLACE INTO clones (path, clone_key, clean, report, scanned) VALUES ($p, $k, $c, $r, $t);",
            ("$p", path), ("$k", cloneKey), ("$c", clean ? 1 : 0), ("$r", JsonSerializer.Serialize(ToStored(report), s_json)),
            ("$t", DateTime.UtcNow.ToString("O")));
    }

    private static StoredReport ToStored(DiskReport r) => new(r.Findings.ToList(), r.BytesRead, r.BytesInherited, r.Seconds,
        r.Errors.ToList(), r.StreamsScanned, r.StreamsInherited, r.DivergentBytes);

    private string? QueryString(string sql, params (string Name, object Value)[] args)
    {
        lock (_lock)
        {
            using SqliteConnection c = Connect();
            using SqliteCommand cmd = c.CreateCommand();
            cmd.CommandText = sql;
            foreach ((string n, object v) in args)
            {
                cmd.Parameters.AddWithValue(n, v);
            }

            return cmd.ExecuteScalar() as string;
        }
    }

    private void Execute(string sql, params (string Name, object Value)[] args)
    {
        lock (_lock)
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
    }

    /// <inheritdoc />
    public void Dispose() => SqliteConnection.ClearAllPools();
}
