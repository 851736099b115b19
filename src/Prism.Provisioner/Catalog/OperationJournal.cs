using System.Diagnostics;

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
/// The catalog's operation journal: one row per operation in progress, each guarded by a lease
/// (<see cref="ICatalogStore.TakeLease"/>: an OS lock on <c>CATALOG.ops/ID.lock</c> for a SQLite file, a session advisory
/// lock for PostgreSQL) held by the operation's process for the operation's whole life. The lease is dropped when that
/// process dies, however it dies, so a row whose lease can be taken belongs to a dead operation, and a row whose lease
/// cannot be taken to a live one.
/// <para>
/// Order that makes this sound: the lease is taken before the row is inserted, and released after the row is deleted.
/// An operation's row is committed before it touches a file, so whoever sees one of its files afterwards also sees its row.
/// </para>
/// </summary>
internal sealed class OperationJournal
{
    private readonly PrismCatalog _catalog;

    public OperationJournal(PrismCatalog catalog) => _catalog = catalog;

    private ICatalogStore Store => _catalog.Store;

    /// <summary>
    /// Records <paramref name="plan"/> durably and takes its lease. <paramref name="check"/> runs in the same transaction
    /// (refuse names already taken, ...). Throws <see cref="ProvisionerException"/> (PrismCatalogBusy) when another
    /// operation holds one of the plan's names.
    /// </summary>
    public OperationLease Begin(OperationPlan plan, Action<ICatalogWriter>? check = null)
    {
        string id = Guid.NewGuid().ToString("N");
        ICatalogLease lease = Store.TakeLease(id);
        try
        {
            lease.Write(w =>
            {
                foreach (JournalEntry other in w.Operations())
                {
                    string? clash = Clash(plan, other.Plan);
                    if (clash is not null)
                    {
                        string state = IsLive(other.Id)
                            ? "still running"
                            : "interrupted (its process is gone; 'prism catalog verify --repair' finishes or rolls it back)";
                        throw new CatalogConflictException("PrismCatalogBusy",
                            $"{clash} is held by another operation ({other.Plan.Describe()}, {other.Owner}), {state}; try again when it is done")
                        {
                            Name = clash,
                        };
                    }
                }

                check?.Invoke(w);
                using Process self = Process.GetCurrentProcess();
                w.AddOperation(new JournalEntry(id, plan, false, Environment.ProcessId, CatalogHost.Current, self.StartTime));
                return 0;
            });
        }
        catch
        {
            lease.Dispose();
            throw;
        }

        return new OperationLease(id, plan, lease);
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
    public T Commit<T>(OperationLease lease, Func<ICatalogWriter, T> work, bool complete)
    {
        return lease.Lease.Write(w =>
        {
            T result = work(w);
            if (!(complete ? w.RemoveOperation(lease.Id) : w.MarkCommitted(lease.Id)))
            {
                throw new InvalidOperationException($"catalog journal: operation {lease.Id} vanished from {_catalog.Path}");
            }

            return result;
        });
    }

    /// <summary>Deletes the operation's row (it is done, as before or as after); the lease is released on dispose.</summary>
    public void Complete(OperationLease lease)
    {
        if (!lease.Lease.Write(w => w.RemoveOperation(lease.Id)))
        {
            // Already gone (repair finished it): nothing is left to do, but say so in a debugger.
            System.Diagnostics.Debug.WriteLine($"catalog journal: operation {lease.Id} was already complete in {_catalog.Path}");
        }
    }

    /// <summary>Every operation in the journal.</summary>
    public IReadOnlyList<JournalEntry> Entries() => Store.Operations();

    /// <summary>True while the process that runs operation <paramref name="id"/> holds its lease.</summary>
    public bool IsLive(string id)
    {
        ICatalogLease? taken = Store.TryTakeLease(id);
        if (taken is null)
        {
            return true;
        }

        taken.Dispose();
        return false;
    }

    /// <summary>
    /// Takes over the lease of a dead operation: the lease, then the row read again under it. Null when the operation is
    /// alive or already gone. The caller recovers it and disposes the returned lease.
    /// </summary>
    public OperationLease? TakeOver(string id)
    {
        ICatalogLease? lease = Store.TryTakeLease(id);
        if (lease is null)
        {
            return null;
        }

        JournalEntry? entry;
        try
        {
            entry = Store.Operations().FirstOrDefault(e => e.Id == id);
        }
        catch
        {
            lease.Dispose();
            throw;
        }

        if (entry is null)
        {
            lease.Dispose();
            return null;
        }

        return new OperationLease(id, entry.Plan, lease) { Committed = entry.Committed };
    }

    /// <summary>Lease leftovers (lock files) whose operation has no row any more.</summary>
    public void RemoveStaleLocks() => Store.RemoveStaleLeases();
}

/// <summary>A journaled operation's lease: disposing it releases it (after the row is gone, or when the process dies).</summary>
internal sealed class OperationLease : IDisposable
{
    internal OperationLease(string id, OperationPlan plan, ICatalogLease lease)
    {
        Id = id;
        Plan = plan;
        Lease = lease;
    }

    public string Id { get; }

    public OperationPlan Plan { get; }

    /// <summary>True once the operation's catalog change committed.</summary>
    public bool Committed { get; set; }

    internal ICatalogLease Lease { get; }

    public void Dispose() => Lease.Dispose();
}
