using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Prism.Provisioner.Catalog;

/// <summary>An operation recorded in the journal, as repair sees it.</summary>
/// <param name="Id">Journal id.</param>
/// <param name="Plan">What it set out to do.</param>
/// <param name="Committed">True once its catalog change committed (what is left is cleanup).</param>
/// <param name="ProcessId">The process that runs it.</param>
/// <param name="Host">The machine that runs it.</param>
/// <param name="Started">When it started (UTC).</param>
internal sealed record JournalEntry(string Id, OperationPlan Plan, bool Committed, int ProcessId, string Host, DateTime Started)
{
    public string Owner => $"pid {ProcessId} on {Host}, started {Started:u}";
}

/// <summary>
/// The catalog's operation journal: one row per operation in progress (table <c>operations</c>), each guarded by a
/// lease — an exclusive OS lock (flock / Windows share lock) on <c>CATALOG.ops/ID.lock</c> held by the operation's
/// process for the operation's whole life. The kernel drops the lock when that process dies, however it dies, so a row
/// whose lock can be taken belongs to a dead operation, and a row whose lock cannot be taken to a live one.
/// <para>
/// Order that makes this sound: the lock is taken before the row is inserted, and released after the row is deleted.
/// An operation's row is committed before it touches a file, so whoever sees one of its files afterwards also sees its row.
/// </para>
/// </summary>
internal sealed class OperationJournal
{
    private readonly PrismCatalog _catalog;

    public OperationJournal(PrismCatalog catalog) => _catalog = catalog;

    public string LockDirectory => _catalog.Path + ".ops";

    private string LockPath(string id) => System.IO.Path.Combine(LockDirectory, id + ".lock");

    /// <summary>
    /// Records <paramref name="plan"/> durably and takes its lease. <paramref name="check"/> runs in the same transaction
    /// (refuse names already taken, ...). Throws <see cref="ProvisionerException"/> (PrismCatalogBusy) when another
    /// operation holds one of the plan's names.
    /// </summary>
    public OperationLease Begin(OperationPlan plan, Action<SqliteConnection, SqliteTransaction>? check = null)
    {
        string id = Guid.NewGuid().ToString("N");
        Directory.CreateDirectory(LockDirectory);
        FileStream lease = new(LockPath(id), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        try
        {
            _catalog.InTransaction((c, tx) =>
            {
                foreach (JournalEntry other in Read(c, tx))
                {
                    string? clash = Clash(plan, other.Plan);
                    if (clash is not null)
                    {
                        string state = IsLive(other.Id)
                            ? "still running"
                            : "interrupted (its process is gone; 'prism catalog verify --repair' finishes or rolls it back)";
                        throw new ProvisionerException("PrismCatalogBusy",
                            $"{clash} is held by another operation ({other.Plan.Describe()}, {other.Owner}), {state}; try again when it is done");
                    }
                }

                check?.Invoke(c, tx);
                using Process self = Process.GetCurrentProcess();
                using SqliteCommand cmd = PrismCatalog.Command(c, tx,
                    "INSERT INTO operations (id, kind, plan, phase, pid, host, started) VALUES ($id, $k, $p, 'started', $pid, $h, $t);",
                    ("$id", id), ("$k", plan.Kind), ("$p", plan.ToJson()), ("$pid", Environment.ProcessId), ("$h", Environment.MachineName),
                    ("$t", PrismCatalog.Time(self.StartTime)));
                return cmd.ExecuteNonQuery();
            });
        }
        catch
        {
            ReleaseLock(lease, LockPath(id));
            throw;
        }

        return new OperationLease(this, id, plan, lease);
    }

    /// <summary>The name both plans hold when they cannot run together, else null.</summary>
    private static string? Clash(OperationPlan mine, OperationPlan theirs)
    {
        foreach (string n in mine.Exclusive)
        {
            if (theirs.Exclusive.Contains(n, StringComparer.Ordinal) || theirs.Shared.Contains(n, StringComparer.Ordinal))
            {
                return n;
            }
        }

        return mine.Shared.FirstOrDefault(n => theirs.Exclusive.Contains(n, StringComparer.Ordinal));
    }

    /// <summary>Runs the operation's catalog change and marks it committed, in one transaction (the commit point).</summary>
    public T Commit<T>(OperationLease lease, Func<SqliteConnection, SqliteTransaction, T> work, bool complete)
    {
        return _catalog.InTransaction((c, tx) =>
        {
            T result = work(c, tx);
            using SqliteCommand cmd = PrismCatalog.Command(c, tx,
                complete ? "DELETE FROM operations WHERE id = $id;" : "UPDATE operations SET phase = 'committed' WHERE id = $id;", ("$id", lease.Id));
            if (cmd.ExecuteNonQuery() != 1)
            {
                throw new InvalidOperationException($"catalog journal: operation {lease.Id} vanished from {_catalog.Path}");
            }

            return result;
        });
    }

    /// <summary>Deletes the operation's row (it is done, as before or as after); the lease is released on dispose.</summary>
    public void Complete(string id)
    {
        _catalog.InTransaction((c, tx) =>
        {
            using SqliteCommand cmd = PrismCatalog.Command(c, tx, "DELETE FROM operations WHERE id = $id;", ("$id", id));
            return cmd.ExecuteNonQuery();
        });
    }

    /// <summary>Every operation in the journal.</summary>
    public IReadOnlyList<JournalEntry> Entries()
    {
        using SqliteConnection c = _catalog.Connect();
        return Read(c, null);
    }

    private static List<JournalEntry> Read(SqliteConnection c, SqliteTransaction? tx)
    {
        using SqliteCommand cmd = PrismCatalog.Command(c, tx, "SELECT id, plan, phase, pid, host, started FROM operations ORDER BY started, id;");
        using SqliteDataReader r = cmd.ExecuteReader();
        var list = new List<JournalEntry>();
        while (r.Read())
        {
            list.Add(new JournalEntry(r.GetString(0), OperationPlan.FromJson(r.GetString(1)), r.GetString(2) == "committed", r.GetInt32(3), r.GetString(4),
                DateTime.Parse(r.GetString(5), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind)));
        }

        return list;
    }

    /// <summary>True while the process that runs operation <paramref name="id"/> holds its lease.</summary>
    public bool IsLive(string id)
    {
        FileStream? taken = TryTake(id);
        if (taken is null)
        {
            return true;
        }

        taken.Dispose();
        return false;
    }

    /// <summary>
    /// Takes over the lease of a dead operation: the lock, then the row read again under it. Null when the operation is
    /// alive or already gone. The caller recovers it and disposes the returned lease.
    /// </summary>
    public OperationLease? TakeOver(string id)
    {
        FileStream? lease = TryTake(id);
        if (lease is null)
        {
            return null;
        }

        using SqliteConnection c = _catalog.Connect();
        JournalEntry? entry = Read(c, null).FirstOrDefault(e => e.Id == id);
        if (entry is null)
        {
            ReleaseLock(lease, LockPath(id));
            return null;
        }

        return new OperationLease(this, id, entry.Plan, lease) { Committed = entry.Committed };
    }

    /// <summary>Lock files whose operation has no row any more (it died between taking the lock and its row, or after).</summary>
    public void RemoveStaleLocks()
    {
        if (!Directory.Exists(LockDirectory))
        {
            return;
        }

        var ids = Entries().Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
        foreach (string file in Directory.EnumerateFiles(LockDirectory, "*.lock"))
        {
            string id = System.IO.Path.GetFileNameWithoutExtension(file);
            if (ids.Contains(id))
            {
                continue;
            }

            FileStream? taken = TryTake(id);
            if (taken is not null && !Entries().Any(e => e.Id == id))
            {
                ReleaseLock(taken, file);
            }
            else
            {
                taken?.Dispose();
            }
        }
    }

    private FileStream? TryTake(string id)
    {
        try
        {
            Directory.CreateDirectory(LockDirectory);
            return new FileStream(LockPath(id), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException) when (File.Exists(LockPath(id)))
        {
            // Locked by the live process that owns it (EWOULDBLOCK / sharing violation).
            return null;
        }
    }

    internal static void ReleaseLock(FileStream lease, string path)
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

    internal void Release(OperationLease lease) => ReleaseLock(lease.Lock, LockPath(lease.Id));
}

/// <summary>A journaled operation's lease: disposing it releases the lock (after the row is gone, or when the process dies).</summary>
internal sealed class OperationLease : IDisposable
{
    private readonly OperationJournal _journal;
    private bool _disposed;

    internal OperationLease(OperationJournal journal, string id, OperationPlan plan, FileStream lockFile)
    {
        _journal = journal;
        Id = id;
        Plan = plan;
        Lock = lockFile;
    }

    public string Id { get; }

    public OperationPlan Plan { get; }

    /// <summary>True once the operation's catalog change committed.</summary>
    public bool Committed { get; set; }

    internal FileStream Lock { get; }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _journal.Release(this);
        }
    }
}
