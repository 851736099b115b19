using Npgsql;
using Prism.Provisioner.Catalog;
using Prism.Scanner.Fleet;
using static Prism.Provisioner.Catalog.PostgresCommands;

namespace Prism.Fleet.Stores;

/// <summary>A run of the distributed scan: its name (one per night by default), the signature set and engine it scans with.</summary>
/// <param name="Id">Database id (what <c>prism scan report --run</c> takes).</param>
/// <param name="Name">Run name.</param>
/// <param name="Signatures">Signature set hash every host must scan with.</param>
/// <param name="Engine">Engine of the host that opened the run.</param>
/// <param name="Started">When it was opened (UTC).</param>
/// <param name="Finished">When its last unit was done (UTC), or null.</param>
public sealed record ScanRunInfo(long Id, string Name, string Signatures, string Engine, DateTime Started, DateTime? Finished);

/// <summary>A work unit to create: a golden's baseline or a clone's scan.</summary>
/// <param name="Kind">"baseline" or "clone".</param>
/// <param name="Golden">Catalog name of the golden.</param>
/// <param name="Path">The golden's catalog path, or the clone's path.</param>
/// <param name="Host">The clone's host (null for a baseline).</param>
internal sealed record ScanUnitSpec(string Kind, string Golden, string Path, string? Host);

/// <summary>A unit this host holds the lease of (until <see cref="Token"/> is renewed, completed or lost).</summary>
internal sealed record ClaimedUnit(int Seq, string Kind, string Golden, string Path, string? Host, Guid Token);

/// <summary>A unit of a run as the report reads it.</summary>
/// <param name="Seq">Unit number.</param>
/// <param name="Kind">"baseline" or "clone".</param>
/// <param name="Golden">Golden name.</param>
/// <param name="Path">Golden or clone path.</param>
/// <param name="Host">The clone's host.</param>
/// <param name="Done">True when done.</param>
/// <param name="DoneBy">The host that did it.</param>
/// <param name="Attempts">How many times it was claimed (more than once: a lease expired and it was redone).</param>
/// <param name="Report">The encoded disk report.</param>
/// <param name="BytesRead">Bytes read to do it.</param>
/// <param name="LocalPath">The file the host read (its copy of the golden).</param>
public sealed record ScanUnitInfo(int Seq, string Kind, string Golden, string Path, string? Host, bool Done, string? DoneBy, int Attempts,
    string? Report, long BytesRead, string? LocalPath)
{
    /// <summary>The host that claimed it last (null: never claimed).</summary>
    public string? LeaseHost { get; init; }

    /// <summary>True while that host's lease runs (database time, when the units were read): the unit is being worked on.</summary>
    public bool Leased { get; init; }
}

/// <summary>A host refused for a golden in a run (its copy is not the fleet's golden).</summary>
/// <param name="Host">Host name.</param>
/// <param name="Golden">Golden name.</param>
/// <param name="Message">Why.</param>
public sealed record ScanRefusal(string Host, string Golden, string Message);

/// <summary>
/// The distributed scan's work queue in PostgreSQL: a run's units are created once (by the first host to open the run), then
/// claimed one at a time with a lease (<c>FOR UPDATE SKIP LOCKED</c>; the lease is a token and an expiry in database
/// time, renewed while the work goes on). A unit is completed only by the holder of its current token, so a host whose
/// lease expired (dead, or cut off) cannot complete a unit another host has taken over: each unit is done once per run.
/// A host claims a golden's baseline when it holds a good copy of that golden, and a clone's scan once that golden's
/// baseline is done and the clone is its own or lies under one of its storage roots.
/// </summary>
internal sealed class PostgresScanQueue(PostgresVerdictStore store)
{
    /// <summary>The units host @host can do: of its goldens (baselines; its own clones and those under its roots), and its own clones of goldens it is refused for.</summary>
    private const string Reach = """
        ((u.golden = ANY(@goldens) AND (u.kind = 'baseline' OR u.host = @host
            OR EXISTS (SELECT 1 FROM unnest(@roots::text[]) AS r(root) WHERE starts_with(u.path, r.root))))
         OR (u.golden = ANY(@refused) AND u.kind = 'clone' AND u.host = @host))
        """;

    /// <summary>The advisory lock class of a run's completions ("Pr").</summary>
    private const int CompletionLockClass = 0x5072;

    /// <summary>Opens the run <paramref name="name"/>, creating it and its units when it does not exist yet.</summary>
    public ScanRunInfo OpenRun(string name, string signatures, string engine, IReadOnlyList<ScanUnitSpec> units) => Guard("opened", () =>
    {
        using NpgsqlConnection c = store.Source.OpenConnection();
        using NpgsqlTransaction tx = c.BeginTransaction();
        object? id = Scalar(c, tx, """
            INSERT INTO scan_fleet_runs (name, signatures, engine, started) VALUES (@n, @s, @e, now())
            ON CONFLICT (name) DO NOTHING RETURNING id;
            """, ("n", name), ("s", signatures), ("e", engine));
        if (id is long created)
        {
            using var batch = new NpgsqlBatch(c, tx);
            for (int i = 0; i < units.Count; i++)
            {
                var cmd = new NpgsqlBatchCommand("INSERT INTO scan_units (run_id, seq, kind, golden, path, host, state) VALUES (@r, @q, @k, @g, @p, @h, 'pending');");
                cmd.Parameters.AddWithValue("r", created);
                cmd.Parameters.AddWithValue("q", i);
                cmd.Parameters.AddWithValue("k", units[i].Kind);
                cmd.Parameters.AddWithValue("g", units[i].Golden);
                cmd.Parameters.AddWithValue("p", units[i].Path);
                cmd.Parameters.AddWithValue("h", (object?)units[i].Host ?? DBNull.Value);
                batch.BatchCommands.Add(cmd);
            }

            if (units.Count > 0)
            {
                batch.ExecuteNonQuery();
            }
        }

        tx.Commit();
        ScanRunInfo run = FindRun(c, name)!;
        if (run.Signatures != signatures)
        {
            throw new VerdictStoreException(store.Display, VerdictStoreProblem.NotAStore,
                $"{store.Display}: scan run '{name}' (id {run.Id}) scans with signature set {run.Signatures[..Math.Min(12, run.Signatures.Length)]}…, "
                + $"this host's is {signatures[..Math.Min(12, signatures.Length)]}…: every host of a run must load the same signatures (or name another run with --run)");
        }

        return run;
    });

    /// <summary>Claims one unit <paramref name="host"/> can do now (baselines first, then its own clones, then shared ones), or null.</summary>
    public ClaimedUnit? Claim(long run, string host, string[] goldens, string[] refused, string[] roots, TimeSpan lease) => Guard("read", () =>
    {
        using NpgsqlConnection c = store.Source.OpenConnection();
        var token = Guid.NewGuid();
        using NpgsqlCommand cmd = Command(c, null, $"""
            WITH pick AS (
                SELECT u.run_id, u.seq FROM scan_units u
                WHERE u.run_id = @run AND u.state = 'pending' AND (u.lease_until IS NULL OR u.lease_until < clock_timestamp())
                  AND {Reach}
                  AND (u.kind = 'baseline' OR u.golden = ANY(@refused) OR EXISTS (SELECT 1 FROM scan_units b
                       WHERE b.run_id = u.run_id AND b.kind = 'baseline' AND b.golden = u.golden AND b.state = 'done'))
                ORDER BY (u.kind = 'baseline') DESC, (u.host IS NOT DISTINCT FROM @host) DESC, u.seq
                LIMIT 1 FOR UPDATE SKIP LOCKED)
            UPDATE scan_units u SET lease_token = @token, lease_host = @host, lease_until = clock_timestamp() + @lease, attempts = u.attempts + 1
            FROM pick WHERE u.run_id = pick.run_id AND u.seq = pick.seq
            RETURNING u.seq, u.kind, u.golden, u.path, u.host;
            """, ("run", run), ("host", host), ("goldens", goldens), ("refused", refused), ("roots", roots), ("token", token), ("lease", lease));
        using NpgsqlDataReader r = cmd.ExecuteReader();
        return r.Read() ? new ClaimedUnit(r.GetInt32(0), r.GetString(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), token) : null;
    });

    /// <summary>
    /// True while <paramref name="host"/> may still get work: some unit it can reach is pending and some host holds a live
    /// lease in the run (the work that would unblock it, or whose lease may expire). False: whatever is left, this host can
    /// never do (nobody is working on what it waits for).
    /// </summary>
    public bool MayGetWork(long run, string host, string[] goldens, string[] refused, string[] roots) => Retried("read", () =>
    {
        using NpgsqlConnection c = store.Source.OpenConnection();
        return Scalar(c, null, $"""
            SELECT EXISTS (SELECT 1 FROM scan_units u WHERE u.run_id = @run AND u.state = 'pending' AND {Reach})
               AND EXISTS (SELECT 1 FROM scan_units u WHERE u.run_id = @run AND u.state = 'pending' AND u.lease_until >= clock_timestamp());
            """, ("run", run), ("host", host), ("goldens", goldens), ("refused", refused), ("roots", roots)) is true;
    });

    /// <summary>Extends the lease; false when it was lost (expired and taken, or the unit is done).</summary>
    public bool Renew(long run, int seq, Guid token, TimeSpan lease) => Retried("written", () =>
    {
        using NpgsqlConnection c = store.Source.OpenConnection();
        return Execute(c, null, """
            UPDATE scan_units SET lease_until = clock_timestamp() + @lease
            WHERE run_id = @run AND seq = @seq AND lease_token = @token AND state = 'pending';
            """, ("run", run), ("seq", seq), ("token", token), ("lease", lease)) == 1;
    });

    /// <summary>Records the unit's result if this host still holds its lease (false: lost, the result is discarded); finishes the run with its last unit.</summary>
    public bool Complete(long run, int seq, Guid token, string host, string report, long bytesRead, string? localPath) => Guard("written", () =>
    {
        using NpgsqlConnection c = store.Source.OpenConnection();
        using NpgsqlTransaction tx = c.BeginTransaction();

        // Completions of one run serialize, so the last two, on two hosts at once, cannot each see the other's unit pending.
        Execute(c, tx, "SELECT pg_advisory_xact_lock(@k, @run::integer);", ("k", CompletionLockClass), ("run", run));
        int n = Execute(c, tx, """
            UPDATE scan_units SET state = 'done', done_by = @host, done_at = clock_timestamp(), report = @report, bytes_read = @bytes,
                local_path = @local, lease_until = NULL
            WHERE run_id = @run AND seq = @seq AND lease_token = @token AND state = 'pending';
            """, ("run", run), ("seq", seq), ("token", token), ("host", host), ("report", report), ("bytes", bytesRead), ("local", localPath));
        Execute(c, tx, """
            UPDATE scan_fleet_runs SET finished = clock_timestamp()
            WHERE id = @run AND finished IS NULL AND NOT EXISTS (SELECT 1 FROM scan_units WHERE run_id = @run AND state = 'pending');
            """, ("run", run));
        tx.Commit();
        return n == 1;
    });

    /// <summary>Gives the unit back (a host that cannot do it after all).</summary>
    public void Release(long run, int seq, Guid token) => Guard("written", () =>
    {
        using NpgsqlConnection c = store.Source.OpenConnection();
        return Execute(c, null, "UPDATE scan_units SET lease_until = NULL, lease_token = NULL WHERE run_id = @run AND seq = @seq AND lease_token = @token;",
            ("run", run), ("seq", seq), ("token", token));
    });

    /// <summary>Records that <paramref name="host"/> is refused for <paramref name="golden"/> in the run.</summary>
    public void Refuse(long run, string host, string golden, string message) => Retried("written", () =>
    {
        using NpgsqlConnection c = store.Source.OpenConnection();
        return Execute(c, null, """
            INSERT INTO scan_refusals (run_id, host, golden, message) VALUES (@run, @host, @golden, @message)
            ON CONFLICT (run_id, host, golden) DO UPDATE SET message = excluded.message;
            """, ("run", run), ("host", host), ("golden", golden), ("message", message));
    });

    /// <summary>The run with this id or name, or null.</summary>
    public ScanRunInfo? FindRun(string idOrName) => Retried("read", () =>
    {
        using NpgsqlConnection c = store.Source.OpenConnection();
        return FindRun(c, idOrName);
    });

    private static ScanRunInfo? FindRun(NpgsqlConnection c, string idOrName)
    {
        using NpgsqlCommand cmd = Command(c, null, """
            SELECT id, name, signatures, engine, started, finished FROM scan_fleet_runs
            WHERE name = @n OR id::text = @n ORDER BY (name = @n) DESC LIMIT 1;
            """, ("n", idOrName));
        using NpgsqlDataReader r = cmd.ExecuteReader();
        return r.Read()
            ? new ScanRunInfo(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), Utc(r.GetDateTime(4)), r.IsDBNull(5) ? null : Utc(r.GetDateTime(5)))
            : null;
    }

    /// <summary>Every unit of the run, in order.</summary>
    public IReadOnlyList<ScanUnitInfo> Units(long run) => Retried("read", () =>
    {
        using NpgsqlConnection c = store.Source.OpenConnection();
        using NpgsqlCommand cmd = Command(c, null, """
            SELECT seq, kind, golden, path, host, state = 'done', done_by, attempts, report, COALESCE(bytes_read, 0), local_path,
                lease_host, COALESCE(lease_until > clock_timestamp(), false)
            FROM scan_units WHERE run_id = @run ORDER BY seq;
            """, ("run", run));
        using NpgsqlDataReader r = cmd.ExecuteReader();
        var list = new List<ScanUnitInfo>();
        while (r.Read())
        {
            list.Add(new ScanUnitInfo(r.GetInt32(0), r.GetString(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), r.GetBoolean(5),
                r.IsDBNull(6) ? null : r.GetString(6), r.GetInt32(7), r.IsDBNull(8) ? null : r.GetString(8), r.GetInt64(9), r.IsDBNull(10) ? null : r.GetString(10))
            {
                LeaseHost = r.IsDBNull(11) ? null : r.GetString(11),
                Leased = r.GetBoolean(12),
            });
        }

        return list;
    });

    /// <summary>The refusals of the run.</summary>
    public IReadOnlyList<ScanRefusal> Refusals(long run) => Retried("read", () =>
    {
        using NpgsqlConnection c = store.Source.OpenConnection();
        using NpgsqlCommand cmd = Command(c, null, "SELECT host, golden, message FROM scan_refusals WHERE run_id = @run ORDER BY host, golden;", ("run", run));
        using NpgsqlDataReader r = cmd.ExecuteReader();
        var list = new List<ScanRefusal>();
        while (r.Read())
        {
            list.Add(new ScanRefusal(r.GetString(0), r.GetString(1), r.GetString(2)));
        }

        return list;
    });

    private static DateTime Utc(DateTime t) => DateTime.SpecifyKind(t, DateTimeKind.Utc);

    /// <summary>
    /// Idempotent work (a read, a renewal, an upsert): run again on a new connection after a transient error. A claim, a
    /// completion and a run's creation are never retried (a lost answer may hide a change that was made).
    /// </summary>
    private T Retried<T>(string what, Func<T> work) => Guard(what, () => PostgresRetry.Run(work));

    private T Guard<T>(string what, Func<T> work)
    {
        try
        {
            return work();
        }
        catch (Exception e) when (PostgresVerdictStore.IsDatabaseError(e))
        {
            throw store.Unavailable(e, what);
        }
    }
}
