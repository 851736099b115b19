using Prism.Provisioner.Catalog;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Provisioner.Tests.Catalog;

/// <summary>
/// The SQLite catalog's operation leases (a locked file per operation) against its stale-lock sweep: a repair that runs
/// <see cref="ICatalogStore.RemoveStaleLeases"/> in a loop while operations take leases must never free a lease that is
/// being taken. (Found by the concurrent-repair journal test: a lock file created but not yet locked was locked, found
/// without a row and deleted by the sweep; the operation then locked the deleted file, so repair later took its lease,
/// rolled it back, and the operation's commit failed with "operation … vanished".)
/// </summary>
public sealed class FileLeaseRaceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task StaleLockSweepInALoop_NeverFreesALeaseBeingTaken()
    {
        using var dir = new TempDir();
        using SqliteCatalogStore store = SqliteCatalogStore.Open(dir.File("catalog.db"));
        using var stop = new CancellationTokenSource();
        int sweeps = 0;
        Task[] sweepers = [.. Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                store.RemoveStaleLeases();
                Interlocked.Increment(ref sweeps);
            }
        }))];

        int taken = 0;
        var lost = new List<string>();
        try
        {
            DateTime end = DateTime.UtcNow.AddSeconds(8);
            while (DateTime.UtcNow < end && lost.Count == 0)
            {
                string id = Guid.NewGuid().ToString("N");
                using ICatalogLease lease = store.TakeLease(id);
                taken++;

                // Held: nobody else can take it, and its file is where every other process looks.
                using ICatalogLease? other = store.TryTakeLease(id);
                if (other is not null)
                {
                    lost.Add(id);
                }
            }
        }
        finally
        {
            stop.Cancel();
            await Task.WhenAll(sweepers);
        }

        output.WriteLine($"{taken} leases taken during {sweeps} sweeps");
        Assert.True(lost.Count == 0, $"{lost.Count} of {taken} leases were freed by the sweep while held: {string.Join(", ", lost)}");
        Assert.True(sweeps >= 20, $"only {sweeps} sweeps ran");
    }
}
