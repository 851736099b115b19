using System.Data.Common;
using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using static Prism.Provisioner.Catalog.PostgresCommands;

namespace Prism.Provisioner.Catalog;

/// <summary>
/// The catalog in a PostgreSQL database, shared by every host of a fleet. Writers serialize on a transaction-scoped
/// advisory lock (as SQLite's IMMEDIATE transaction), so a check and the change it guards commit together, and unique
/// constraints back every name. An operation's lease is a session advisory lock held by a connection the operation keeps
/// open for its whole life; its journal row and its catalog change are written on that same connection, so a process that
/// dies — or loses the database — loses its lease and can no longer commit. Every error names the server and database
/// (<see cref="Display"/>), never the password.
/// </summary>
internal sealed class PostgresCatalogStore : ICatalogStore
{
    /// <summary>The advisory lock all writers take (in transaction scope): "prism-catalog" as a number.</summary>
    private const long WriteLockKey = 0x7072_6973_6D63_6174;
    private const string UniqueViolation = "23505";
    private readonly NpgsqlDataSource _source;
    private readonly string? _password;

    /// <summary>Schema migrations: entry i brings version i to version i + 1 (versions as in the SQLite catalog).</summary>
    private static readonly string[] s_migrations =
    [
        """
        CREATE TABLE goldens (
            name text PRIMARY KEY, path text NOT NULL UNIQUE, disk_id uuid NOT NULL, data_write_guid uuid NOT NULL,
            virtual_size bigint NOT NULL, sealed_at timestamptz NOT NULL);
        CREATE TABLE clones (
            name text PRIMARY KEY, path text NOT NULL UNIQUE, golden text NOT NULL REFERENCES goldens(name),
            parent_path text NOT NULL, owner text, created timestamptz NOT NULL);
        CREATE TABLE scan_runs (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, started timestamptz NOT NULL, finished timestamptz NOT NULL,
            report_path text, clones integer NOT NULL, findings integer NOT NULL);
        CREATE TABLE operations (
            id text PRIMARY KEY, kind text NOT NULL, plan text NOT NULL, phase text NOT NULL,
            pid integer NOT NULL, host text NOT NULL, started timestamptz NOT NULL);
        """,
        """
        CREATE TABLE hosts (name text PRIMARY KEY, registered timestamptz NOT NULL, seen timestamptz NOT NULL);
        CREATE TABLE host_roots (host text NOT NULL REFERENCES hosts(name), root text NOT NULL, seq bigint GENERATED ALWAYS AS IDENTITY,
            PRIMARY KEY (host, root));
        ALTER TABLE clones ADD COLUMN host text;
        CREATE INDEX clones_parent ON clones(parent_path);
        CREATE INDEX clones_golden ON clones(golden);
        """,
    ];

    private PostgresCatalogStore(NpgsqlDataSource source, string display, string? password)
    {
        _source = source;
        Display = display;
        _password = password;
    }

    /// <inheritdoc />
    public string Display { get; }

    /// <summary>The schema version this program writes.</summary>
    public static int CurrentVersion => s_migrations.Length;

    /// <summary>Connects, and brings the schema to <see cref="CurrentVersion"/> (refusing a newer one).</summary>
    public static PostgresCatalogStore Open(string connection)
    {
        NpgsqlConnectionStringBuilder b = PostgresConnection.Parse(connection);
        string display = PostgresConnection.Display(b);
        var store = new PostgresCatalogStore(new NpgsqlDataSourceBuilder(b.ConnectionString).Build(), display, b.Password);
        try
        {
            store.Migrate();
        }
        catch
        {
            store.Dispose();
            throw;
        }

        return store;
    }

    private void Migrate() => Guard(() => PostgresRetry.Run(() =>
    {
        using NpgsqlConnection c = _source.OpenConnection();
        if (ReadVersion(c, null) == CurrentVersion)
        {
            return 0;
        }

        using NpgsqlTransaction tx = c.BeginTransaction();
        Execute(c, tx, "SELECT pg_advisory_xact_lock(@k);", ("k", WriteLockKey));
        Execute(c, tx, "CREATE TABLE IF NOT EXISTS prism_schema (version integer NOT NULL);");
        int version = ReadVersion(c, tx);
        for (int v = version; v < CurrentVersion; v++)
        {
            Execute(c, tx, s_migrations[v]);
        }

        Execute(c, tx, "DELETE FROM prism_schema; INSERT INTO prism_schema (version) VALUES (@v);", ("v", CurrentVersion));
        tx.Commit();
        return 0;
    }));

    private int ReadVersion(NpgsqlConnection c, NpgsqlTransaction? tx)
    {
        if (Scalar(c, tx, "SELECT to_regclass('prism_schema') IS NOT NULL;") is not true)
        {
            return 0;
        }

        int version = Convert.ToInt32(Scalar(c, tx, "SELECT COALESCE(MAX(version), 0) FROM prism_schema;"), CultureInfo.InvariantCulture);
        if (version > CurrentVersion)
        {
            throw CatalogSchema.TooNew(Display, version, CurrentVersion);
        }

        return version;
    }

    /// <summary>
    /// Runs database work, turning its errors into ones that name this catalog (and never its password): a unique
    /// violation becomes <see cref="CatalogConflictException"/>, anything else PrismCatalogUnavailable.
    /// </summary>
    private T Guard<T>(Func<T> work)
    {
        try
        {
            return work();
        }
        catch (PostgresException e) when (e.SqlState == UniqueViolation)
        {
            throw new CatalogConflictException("PrismCatalogConflict",
                Scrub($"the catalog {Display}: {e.ConstraintName ?? e.TableName ?? "a name"} is already taken ({e.MessageText})"));
        }
        catch (Exception e) when (e is NpgsqlException || (e is InvalidOperationException && e.Source == "Npgsql"))
        {
            // NpgsqlException: the server refused, went away or timed out; InvalidOperationException from Npgsql: a
            // connection that broke earlier (the lease's session) was used again.
            throw new ProvisionerException("PrismCatalogUnavailable", Scrub($"the catalog {Display} cannot be used: {Describe(e)}"));
        }
    }

    private static string Describe(Exception e)
    {
        string text = e is PostgresException p ? $"{p.SqlState}: {p.MessageText}" : e.Message;
        return e.InnerException is { } inner && !text.Contains(inner.Message, StringComparison.Ordinal) ? $"{text} ({inner.Message})" : text;
    }

    /// <summary>The message with the password, if it shows anywhere in it, blotted out.</summary>
    private string Scrub(string message) =>
        string.IsNullOrEmpty(_password) ? message : message.Replace(_password, "***", StringComparison.Ordinal);


    private const string GoldenColumns = "SELECT name, path, disk_id, data_write_guid, virtual_size, sealed_at FROM goldens";
    private const string CloneColumns = "SELECT name, path, golden, parent_path, owner, created, host FROM clones";

    private static List<GoldenImage> ReadGoldens(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, params (string, object?)[] args)
    {
        using NpgsqlCommand cmd = Command(c, tx, sql, args);
        using NpgsqlDataReader r = cmd.ExecuteReader();
        var list = new List<GoldenImage>();
        while (r.Read())
        {
            list.Add(new GoldenImage(r.GetString(0), r.GetString(1), r.GetGuid(2), r.GetGuid(3), r.GetInt64(4), Utc(r.GetDateTime(5))));
        }

        return list;
    }

    private static List<CloneRecord> ReadClones(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, params (string, object?)[] args)
    {
        using NpgsqlCommand cmd = Command(c, tx, sql, args);
        using NpgsqlDataReader r = cmd.ExecuteReader();
        var list = new List<CloneRecord>();
        while (r.Read())
        {
            list.Add(new CloneRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), Utc(r.GetDateTime(5)))
            {
                Host = r.IsDBNull(6) ? null : r.GetString(6),
            });
        }

        return list;
    }

    private static List<JournalEntry> ReadOperations(NpgsqlConnection c, NpgsqlTransaction? tx)
    {
        using NpgsqlCommand cmd = Command(c, tx, "SELECT id, plan, phase, pid, host, started FROM operations ORDER BY started, id;");
        using NpgsqlDataReader r = cmd.ExecuteReader();
        var list = new List<JournalEntry>();
        while (r.Read())
        {
            list.Add(new JournalEntry(r.GetString(0), OperationPlan.FromJson(r.GetString(1)), r.GetString(2) == "committed", r.GetInt32(3), r.GetString(4),
                Utc(r.GetDateTime(5))));
        }

        return list;
    }

    private static DateTime Utc(DateTime t) => DateTime.SpecifyKind(t, DateTimeKind.Utc);

    private static DateTime Time(DateTime t) => CatalogHost.Truncate(t);

    /// <inheritdoc />
    public IReadOnlyList<GoldenImage> Goldens() => Read(c => ReadGoldens(c, null, GoldenColumns + " ORDER BY name COLLATE \"C\";"));

    /// <inheritdoc />
    public IReadOnlyList<CloneRecord> Clones() => Read(c => ReadClones(c, null, CloneColumns + " ORDER BY name COLLATE \"C\";"));

    /// <inheritdoc />
    public IReadOnlyList<JournalEntry> Operations() => Read(c => ReadOperations(c, null));

    /// <inheritdoc />
    public IReadOnlyList<HostRecord> Hosts() => Read(c =>
    {
        var roots = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        using (NpgsqlCommand cmd = Command(c, null, "SELECT host, root FROM host_roots ORDER BY host COLLATE \"C\", seq;"))
        using (NpgsqlDataReader r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                (roots.TryGetValue(r.GetString(0), out List<string>? l) ? l : roots[r.GetString(0)] = []).Add(r.GetString(1));
            }
        }

        using NpgsqlCommand hosts = Command(c, null, "SELECT name, registered, seen FROM hosts ORDER BY name COLLATE \"C\";");
        using NpgsqlDataReader h = hosts.ExecuteReader();
        var list = new List<HostRecord>();
        while (h.Read())
        {
            list.Add(new HostRecord(h.GetString(0), roots.GetValueOrDefault(h.GetString(0)) ?? [], Utc(h.GetDateTime(1)), Utc(h.GetDateTime(2))));
        }

        return list;
    });

    /// <inheritdoc />
    public IReadOnlyList<ScanRun> ScanRuns() => Read(c =>
    {
        using NpgsqlCommand cmd = Command(c, null, "SELECT started, finished, report_path, clones, findings FROM scan_runs ORDER BY id DESC;");
        using NpgsqlDataReader r = cmd.ExecuteReader();
        var list = new List<ScanRun>();
        while (r.Read())
        {
            list.Add(new ScanRun(Utc(r.GetDateTime(0)), Utc(r.GetDateTime(1)), r.IsDBNull(2) ? null : r.GetString(2), r.GetInt32(3), r.GetInt32(4)));
        }

        return list;
    });

    /// <inheritdoc />
    public void AddScanRun(ScanRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        Write(w => ((Writer)w).Execute("INSERT INTO scan_runs (started, finished, report_path, clones, findings) VALUES (@s, @f, @r, @c, @n);",
            ("s", Time(run.Started)), ("f", Time(run.Finished)), ("r", run.ReportPath), ("c", run.Clones), ("n", run.Findings)));
    }

    /// <summary>A read: run again on a new connection after a transient error (<see cref="PostgresRetry"/>).</summary>
    private T Read<T>(Func<NpgsqlConnection, T> work) => Guard(() => PostgresRetry.Run(() =>
    {
        using NpgsqlConnection c = _source.OpenConnection();
        return work(c);
    }));

    /// <inheritdoc />
    public T Write<T>(Func<ICatalogWriter, T> work) => Guard(() =>
    {
        // Never retried: after a transient error the transaction may have committed, and running it again would repeat it.
        using NpgsqlConnection c = _source.OpenConnection();
        return WriteOn(c, work);
    });

    /// <inheritdoc />
    public T WriteIdempotent<T>(Func<ICatalogWriter, T> work) => Guard(() => PostgresRetry.Run(() =>
    {
        using NpgsqlConnection c = _source.OpenConnection();
        return WriteOn(c, work);
    }));

    private T WriteOn<T>(NpgsqlConnection c, Func<ICatalogWriter, T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        using NpgsqlTransaction tx = c.BeginTransaction();
        Execute(c, tx, "SELECT pg_advisory_xact_lock(@k);", ("k", WriteLockKey));
        T result = work(new Writer(this, c, tx));
        tx.Commit();
        return result;
    }

    /// <summary>The session advisory-lock key of operation <paramref name="id"/> (its first 64 bits).</summary>
    private static long LeaseKey(string id) => long.Parse(id.AsSpan(0, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public ICatalogLease TakeLease(string id) => TryTakeLease(id)
        ?? throw new ProvisionerException("PrismCatalogBusy", $"the catalog {Display}: the lease of operation {id} is held by another session");

    /// <inheritdoc />
    public ICatalogLease? TryTakeLease(string id) => Guard(() => PostgresRetry.Run(() =>
    {
        // Retried: a session that broke before the answer came back took its lock with it.
        NpgsqlConnection c = _source.OpenConnection();
        try
        {
            if (Scalar(c, null, "SELECT pg_try_advisory_lock(@k);", ("k", LeaseKey(id))) is true)
            {
                return new SessionLease(this, id, c);
            }
        }
        catch
        {
            c.Dispose();
            throw;
        }

        c.Dispose();
        return (ICatalogLease?)null;
    }));

    /// <inheritdoc />
    public void RemoveStaleLeases()
    {
        // A session lock leaves nothing behind: the server drops it with the session.
    }

    /// <inheritdoc />
    public void Dispose() => _source.Dispose();

    /// <summary>A lease held as a session advisory lock by the connection the operation writes through.</summary>
    private sealed class SessionLease(PostgresCatalogStore store, string id, NpgsqlConnection connection) : ICatalogLease
    {
        private bool _disposed;

        public string Id => id;

        public T Write<T>(Func<ICatalogWriter, T> work) => store.Guard(() => store.WriteOn(connection, work));

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            try
            {
                Execute(connection, null, "SELECT pg_advisory_unlock(@k);", ("k", LeaseKey(id)));
            }
            catch (Exception e) when (e is DbException or IOException or TimeoutException or InvalidOperationException)
            {
                // The session is gone, and its lock with it.
            }

            connection.Dispose();
        }
    }

    private sealed class Writer(PostgresCatalogStore store, NpgsqlConnection c, NpgsqlTransaction tx) : ICatalogWriter
    {
        public int Execute(string sql, params (string Name, object? Value)[] args) => PostgresCommands.Execute(c, tx, sql, args);

        public IReadOnlyList<JournalEntry> Operations() => ReadOperations(c, tx);

        public void AddOperation(JournalEntry e) => Execute(
            "INSERT INTO operations (id, kind, plan, phase, pid, host, started) VALUES (@id, @k, @p, @ph, @pid, @h, @t);",
            ("id", e.Id), ("k", e.Plan.Kind), ("p", e.Plan.ToJson()), ("ph", e.Committed ? "committed" : "started"), ("pid", e.ProcessId),
            ("h", e.Host), ("t", Time(e.Started)));

        public bool MarkCommitted(string id) => Execute("UPDATE operations SET phase = 'committed' WHERE id = @id;", ("id", id)) == 1;

        public bool RemoveOperation(string id) => Execute("DELETE FROM operations WHERE id = @id;", ("id", id)) == 1;

        public GoldenImage? FindGolden(string name, string path) =>
            ReadGoldens(c, tx, GoldenColumns + " WHERE name = @n OR path = @p ORDER BY name COLLATE \"C\";", ("n", name), ("p", path)).FirstOrDefault();

        public IReadOnlyList<CloneRecord> FindClones(IReadOnlyCollection<string> names, IReadOnlyCollection<string> paths) =>
            ReadClones(c, tx, CloneColumns + " WHERE name = ANY(@n) OR path = ANY(@p) ORDER BY name COLLATE \"C\";", ("n", names.ToArray()), ("p", paths.ToArray()));

        public IReadOnlyList<CloneRecord> ChildrenOf(string parentPath) =>
            ReadClones(c, tx, CloneColumns + " WHERE parent_path = @p ORDER BY name COLLATE \"C\";", ("p", parentPath));

        public int CountClonesOf(string golden) =>
            Convert.ToInt32(Scalar(c, tx, "SELECT COUNT(*) FROM clones WHERE golden = @g;", ("g", golden)), CultureInfo.InvariantCulture);

        public void AddGolden(GoldenImage g) => Conflicts(() => Execute(
            "INSERT INTO goldens (name, path, disk_id, data_write_guid, virtual_size, sealed_at) VALUES (@n, @p, @d, @w, @s, @t);",
            ("n", g.Name), ("p", g.Path), ("d", g.DiskId), ("w", g.DataWriteGuid), ("s", g.VirtualSize), ("t", Time(g.SealedAt))),
            "PrismGoldenExists", $"a golden named {g.Name} or at {g.Path}");

        public void AddClones(IReadOnlyList<CloneRecord> clones)
        {
            // One statement for the whole batch: all or none, and one round trip for a thousand clones.
            using NpgsqlCommand cmd = new(
                "INSERT INTO clones (name, path, golden, parent_path, owner, created, host) "
                + "SELECT * FROM unnest(@n, @p, @g, @pp, @o, @t, @h);", c, tx);
            cmd.Parameters.Add(new NpgsqlParameter("n", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = clones.Select(r => r.Name).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter("p", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = clones.Select(r => r.Path).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter("g", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = clones.Select(r => r.Golden).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter("pp", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = clones.Select(r => r.ParentPath).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter("o", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = clones.Select(r => (object?)r.Owner ?? DBNull.Value).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter("t", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = clones.Select(r => Time(r.Created)).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter("h", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = clones.Select(r => (object?)r.Host ?? DBNull.Value).ToArray() });
            string what = clones.Count == 1 ? $"a clone named {clones[0].Name} or at {clones[0].Path}" : $"one of the clones {clones[0].Name} .. {clones[^1].Name}";
            Conflicts(cmd.ExecuteNonQuery, "PrismCloneExists", what);
        }

        public bool RemoveClone(string name) => Execute("DELETE FROM clones WHERE name = @n;", ("n", name)) == 1;

        public void RemoveGoldenAndClones(string golden)
        {
            Execute("DELETE FROM clones WHERE golden = @g;", ("g", golden));
            Execute("DELETE FROM goldens WHERE name = @g;", ("g", golden));
        }

        public void RegisterHost(string name, IReadOnlyCollection<string> roots)
        {
            DateTime now = Time(DateTime.UtcNow);
            Execute("INSERT INTO hosts (name, registered, seen) VALUES (@n, @t, @t) ON CONFLICT (name) DO UPDATE SET seen = excluded.seen;",
                ("n", name), ("t", now));
            Execute("INSERT INTO host_roots (host, root) SELECT @n, r FROM unnest(@r) AS r ON CONFLICT DO NOTHING;", ("n", name), ("r", roots.ToArray()));
        }

        private void Conflicts(Func<int> insert, string errorId, string what)
        {
            // A savepoint-free check: a unique violation aborts the transaction, which is then rolled back as a whole.
            try
            {
                insert();
            }
            catch (PostgresException e) when (e.SqlState == UniqueViolation)
            {
                throw new CatalogConflictException(errorId, store.Scrub($"{what} is already registered in the catalog {store.Display}"));
            }
        }
    }
}
