using System.Globalization;
using Npgsql;
using Prism.Provisioner.Catalog;
using Prism.Scanner.Fleet;
using static Prism.Provisioner.Catalog.PostgresCommands;

namespace Prism.Fleet.Stores;

/// <summary>
/// The verdict store in a PostgreSQL database, shared by every host of a fleet (it may be the catalog's own database:
/// its tables are named apart, its schema version kept in its own table). A parent's baseline is stored once under its
/// identity (disk id, DataWriteGuid, signature set) and read by every host whose copy of the golden has that identity.
/// The same database holds the distributed scan's runs and work units (<see cref="PostgresScanQueue"/>). Schema
/// migrations are applied on open under an advisory lock; a database of a newer schema is refused. Every message names
/// the server and database (<see cref="Display"/>), never the password.
/// </summary>
public sealed class PostgresVerdictStore : IVerdictStore
{
    /// <summary>The advisory lock migrations take: "prism-verdicts" as a number.</summary>
    private const long MigrationLockKey = 0x7072_6973_6D76_6463;

    /// <summary>Schema migrations: entry i brings version i to version i + 1.</summary>
    private static readonly string[] s_migrations =
    [
        """
        CREATE TABLE verdict_baselines (parent_key text PRIMARY KEY, report text NOT NULL, verdicts text NOT NULL, created timestamptz NOT NULL);
        CREATE TABLE verdict_clones (path text PRIMARY KEY, clone_key text NOT NULL, clean boolean NOT NULL, report text NOT NULL, scanned timestamptz NOT NULL);
        """,
        """
        CREATE TABLE verdict_parent_walks (parent_key text PRIMARY KEY, walk bytea NOT NULL, created timestamptz NOT NULL);
        """,
        """
        CREATE TABLE scan_fleet_runs (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL UNIQUE, signatures text NOT NULL, engine text NOT NULL,
            started timestamptz NOT NULL, finished timestamptz);
        CREATE TABLE scan_units (
            run_id bigint NOT NULL REFERENCES scan_fleet_runs(id), seq integer NOT NULL, kind text NOT NULL, golden text NOT NULL,
            path text NOT NULL, host text, state text NOT NULL, lease_token uuid, lease_host text, lease_until timestamptz,
            attempts integer NOT NULL DEFAULT 0, done_by text, done_at timestamptz, report text, bytes_read bigint, local_path text,
            PRIMARY KEY (run_id, seq));
        CREATE INDEX scan_units_pending ON scan_units (run_id, state);
        CREATE TABLE scan_refusals (
            run_id bigint NOT NULL REFERENCES scan_fleet_runs(id), host text NOT NULL, golden text NOT NULL, message text NOT NULL,
            PRIMARY KEY (run_id, host, golden));
        """,
    ];

    private readonly string? _password;
    private readonly Lock _lock = new();
    private readonly List<string> _problems = [];

    private PostgresVerdictStore(NpgsqlDataSource source, string display, string? password)
    {
        Source = source;
        Display = display;
        _password = password;
    }

    /// <inheritdoc />
    public string Display { get; }

    /// <summary>The schema version this program writes.</summary>
    public static int CurrentVersion => s_migrations.Length;

    internal NpgsqlDataSource Source { get; }

    /// <inheritdoc />
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

    /// <summary>Connects to the database named by <paramref name="connection"/> (URI or key/value) and brings its schema up to date.</summary>
    /// <exception cref="VerdictStoreException">
    /// Malformed, unreachable, refused, or of a newer schema (<see cref="VerdictStoreProblem.UnknownVersion"/>); the
    /// message names the server and database, never the password.
    /// </exception>
    public static PostgresVerdictStore Open(string connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        NpgsqlConnectionStringBuilder b;
        try
        {
            b = PostgresConnection.Parse(connection);
        }
        catch (ArgumentException e)
        {
            throw new VerdictStoreException(PostgresConnection.Redact(connection), VerdictStoreProblem.Unreadable, $"verdict store: {e.Message}");
        }

        var store = new PostgresVerdictStore(new NpgsqlDataSourceBuilder(b.ConnectionString).Build(), PostgresConnection.Display(b), b.Password);
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

    private void Migrate()
    {
        try
        {
            // Idempotent (one transaction that checks the version first): run again after a transient error.
            PostgresRetry.Run(MigrateOnce);
        }
        catch (Exception e) when (IsDatabaseError(e))
        {
            throw Unavailable(e, "opened");
        }
    }

    private int MigrateOnce()
    {
        using NpgsqlConnection c = Source.OpenConnection();
        if (ReadVersion(c, null) == CurrentVersion)
        {
            return 0;
        }

        using NpgsqlTransaction tx = c.BeginTransaction();
        Execute(c, tx, "SELECT pg_advisory_xact_lock(@k);", ("k", MigrationLockKey));
        Execute(c, tx, "CREATE TABLE IF NOT EXISTS prism_verdict_schema (version integer NOT NULL);");
        for (int v = ReadVersion(c, tx); v < CurrentVersion; v++)
        {
            Execute(c, tx, s_migrations[v]);
        }

        Execute(c, tx, "DELETE FROM prism_verdict_schema; INSERT INTO prism_verdict_schema (version) VALUES (@v);", ("v", CurrentVersion));
        tx.Commit();
        return 0;
    }

    private int ReadVersion(NpgsqlConnection c, NpgsqlTransaction? tx)
    {
        if (Scalar(c, tx, "SELECT to_regclass('prism_verdict_schema') IS NOT NULL;") is not true)
        {
            return 0;
        }

        int version = Convert.ToInt32(Scalar(c, tx, "SELECT COALESCE(MAX(version), 0) FROM prism_verdict_schema;"), CultureInfo.InvariantCulture);
        if (version > CurrentVersion)
        {
            throw new VerdictStoreException(Display, VerdictStoreProblem.UnknownVersion,
                $"{Display}: verdict store of schema version {version}, this Prism knows {CurrentVersion}; it was left untouched");
        }

        return version;
    }

    /// <summary>True for an error of the database or of the connection to it.</summary>
    internal static bool IsDatabaseError(Exception e) =>
        e is NpgsqlException or TimeoutException || (e is InvalidOperationException && e.Source == "Npgsql");

    /// <summary>A database error as a <see cref="VerdictStoreException"/> naming the store, without the password.</summary>
    internal VerdictStoreException Unavailable(Exception e, string what)
    {
        string text = e is PostgresException p ? $"{p.SqlState}: {p.MessageText}" : e.Message;
        if (e.InnerException is { } inner && !text.Contains(inner.Message, StringComparison.Ordinal))
        {
            text = $"{text} ({inner.Message})";
        }

        return new VerdictStoreException(Display, VerdictStoreProblem.Unreadable, Scrub($"verdict store {Display} could not be {what}: {text}"));
    }

    /// <summary>The message with the password, if it shows anywhere in it, blotted out.</summary>
    internal string Scrub(string message) =>
        string.IsNullOrEmpty(_password) ? message : message.Replace(_password, "***", StringComparison.Ordinal);

    /// <inheritdoc />
    public StoredBaselineDocument? FindBaseline(string parentKey) => Read("read", c =>
    {
        using NpgsqlCommand cmd = Command(c, null, "SELECT verdicts, report FROM verdict_baselines WHERE parent_key = @k;", ("k", parentKey));
        using NpgsqlDataReader r = cmd.ExecuteReader();
        return r.Read() ? new StoredBaselineDocument(r.GetString(0), r.GetString(1)) : null;
    });

    /// <inheritdoc />
    public void SaveBaseline(string parentKey, StoredBaselineDocument baseline)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        Write("""
            INSERT INTO verdict_baselines (parent_key, report, verdicts, created) VALUES (@k, @r, @v, now())
            ON CONFLICT (parent_key) DO UPDATE SET report = excluded.report, verdicts = excluded.verdicts, created = excluded.created;
            """, ("k", parentKey), ("r", baseline.Report), ("v", baseline.Verdicts));
    }

    /// <inheritdoc />
    public void DeleteBaseline(string parentKey) => Write("DELETE FROM verdict_baselines WHERE parent_key = @k;", ("k", parentKey));

    /// <inheritdoc />
    public string? FindClone(string path, string cloneKey) => Read("read", c =>
        Scalar(c, null, "SELECT report FROM verdict_clones WHERE path = @p AND clone_key = @k;", ("p", path), ("k", cloneKey)) as string);

    /// <inheritdoc />
    public void SaveClone(string path, string cloneKey, bool clean, string report) => Write("""
        INSERT INTO verdict_clones (path, clone_key, clean, report, scanned) VALUES (@p, @k, @c, @r, now())
        ON CONFLICT (path) DO UPDATE SET clone_key = excluded.clone_key, clean = excluded.clean, report = excluded.report, scanned = excluded.scanned;
        """, ("p", path), ("k", cloneKey), ("c", clean), ("r", report));

    /// <inheritdoc />
    public void DeleteClone(string path) => Write("DELETE FROM verdict_clones WHERE path = @p;", ("p", path));

    /// <inheritdoc />
    public void SaveParentWalk(string parentKey, byte[] walk) => Write("""
        INSERT INTO verdict_parent_walks (parent_key, walk, created) VALUES (@k, @w, now())
        ON CONFLICT (parent_key) DO UPDATE SET walk = excluded.walk, created = excluded.created;
        """, ("k", parentKey), ("w", walk));

    /// <inheritdoc />
    public byte[]? LoadParentWalk(string parentKey) => Read("read", c =>
        Scalar(c, null, "SELECT walk FROM verdict_parent_walks WHERE parent_key = @k;", ("k", parentKey)) as byte[]);

    /// <summary>Runs a read (again after a transient error); a database error is recorded in <see cref="Problems"/> and reads as nothing.</summary>
    private T? Read<T>(string what, Func<NpgsqlConnection, T?> read)
        where T : class
    {
        try
        {
            return PostgresRetry.Run(() =>
            {
                using NpgsqlConnection c = Source.OpenConnection();
                return read(c);
            });
        }
        catch (Exception e) when (IsDatabaseError(e))
        {
            Record(Unavailable(e, what).Message);
            return null;
        }
    }

    /// <summary>Runs one idempotent write (its own transaction, again after a transient error); a failure is recorded in <see cref="Problems"/> and the scan goes on.</summary>
    private void Write(string sql, params (string Name, object? Value)[] args)
    {
        try
        {
            // Every write of the store is an upsert or a delete by key: running it again after a transient error is safe.
            PostgresRetry.Run(() =>
            {
                using NpgsqlConnection c = Source.OpenConnection();
                return Execute(c, null, sql, args);
            });
        }
        catch (Exception e) when (IsDatabaseError(e))
        {
            Record(Unavailable(e, "written").Message);
        }
    }

    private void Record(string problem)
    {
        lock (_lock)
        {
            _problems.Add(problem);
        }
    }


    /// <inheritdoc />
    public void Dispose() => Source.Dispose();
}
