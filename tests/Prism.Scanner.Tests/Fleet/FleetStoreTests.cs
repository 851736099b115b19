using Prism.Disks.Vhdx;
using Prism.Scanner.Fleet;
using Prism.Scanner.Signatures;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Scanner.Tests.Fleet;

/// <summary>The verdict store across runs: parent verdicts reused, unchanged clean clones skipped, damage moved aside, concurrency.</summary>
[Collection(GoldenFleetCollection.Name)]
public sealed class FleetStoreTests(GoldenFleetFixture fixture, ITestOutputHelper output)
{
    /// <summary>Only the SHA-256 signature: the golden and most clones are clean, the "hashes" clone is infected.</summary>
    private BuiltinEngine ShaOnly() => new(SignatureDatabase.Load(fixture.Databases.Where(d => d.EndsWith(".hsb", StringComparison.Ordinal)).ToArray()));

    [SkippableFact]
    public async Task SecondRunReusesParentVerdictsAndSkipsUnchangedClones()
    {
        fixture.Require();
        using var dir = new TempDir();
        BuiltinEngine engine = ShaOnly();
        string extra = dir.File("extra.vhdx");
        VhdxDisk.CreateDifferencing(extra, fixture.GoldenPath);
        string[] clones = [.. fixture.ClonePaths, extra];
        FleetReport reference = await new FleetScanner(engine, new FleetScanOptions { Full = true }).ScanAsync(fixture.GoldenPath, clones);
        string storePath = dir.File("verdicts.db");
        FleetReport first;
        using (VerdictStore store = VerdictStore.Open(storePath))
        {
            Assert.False(store.WasRebuilt);
            first = await new FleetScanner(engine, new FleetScanOptions { Store = store }).ScanAsync(fixture.GoldenPath, clones);
        }

        // The clean extra clone changes between the runs: it must be rescanned, not served from the store.
        byte[] sector = new byte[4096];
        new Random(3).NextBytes(sector);
        FleetDisks.WriteRaw(extra, 512 << 10, sector);
        FleetReport second;
        using (VerdictStore store = VerdictStore.Open(storePath))
        {
            second = await new FleetScanner(engine, new FleetScanOptions { Store = store }).ScanAsync(fixture.GoldenPath, clones);
        }

        Assert.False(first.ParentFromStore);
        Assert.True(second.ParentFromStore);
        Assert.Equal(0, second.Parent.BytesRead);
        Assert.Equal(FleetDisks.Hits(first.Parent), FleetDisks.Hits(second.Parent));
        Assert.Contains(reference.Clones, c => c.Findings.Count > 0);
        Assert.Contains(reference.Clones, c => c.Findings.Count == 0);
        for (int i = 0; i < clones.Length; i++)
        {
            DiskReport r = reference.Clones[i], a = first.Clones[i], b = second.Clones[i];
            string name = Path.GetFileName(clones[i]);
            output.WriteLine($"{name,-22} first read {a.BytesRead,10:N0} cached {a.Cached,-5} second read {b.BytesRead,10:N0} cached {b.Cached,-5} findings {b.Findings.Count}");
            Assert.Empty(b.Errors);
            Assert.False(a.Cached, name);
            FleetDisks.AssertSame(FleetDisks.Hits(r), FleetDisks.Hits(a), name + " first run vs --full");
            FleetDisks.AssertSame(FleetDisks.Hits(r), FleetDisks.Hits(b), name + " second run vs --full");
            // Unchanged clones (clean or infected) are served from the store: nothing of them is read, same findings.
            bool unchanged = clones[i] != extra;
            Assert.True(b.Cached == unchanged, $"{name}: cached {b.Cached}, expected {unchanged}");
            if (unchanged)
            {
                Assert.Equal(0, b.BytesRead);
            }
        }

        Assert.True(second.Clones[^1].BytesRead > 0, "the changed clean clone was rescanned");
    }

    [SkippableFact]
    public async Task DamagedStoreIsMovedAsideAndTheScanStillSucceeds()
    {
        fixture.Require();
        using var dir = new TempDir();
        var engine = new BuiltinEngine(SignatureDatabase.Load(fixture.Databases));
        FleetReport reference = await new FleetScanner(engine).ScanAsync(fixture.GoldenPath, fixture.ClonePaths);
        var rng = new Random(11);

        // 1: pure garbage. 2: a real store whose pages after the SQLite header are overwritten.
        string garbage = dir.File("garbage.db");
        byte[] bytes = new byte[64 << 10];
        rng.NextBytes(bytes);
        File.WriteAllBytes(garbage, bytes);
        string damaged = dir.File("damaged.db");
        using (VerdictStore store = VerdictStore.Open(damaged))
        {
            await new FleetScanner(engine, new FleetScanOptions { Store = store }).ScanAsync(fixture.GoldenPath, fixture.ClonePaths);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (string f in new[] { damaged + "-wal", damaged + "-shm" }.Where(File.Exists))
        {
            File.Delete(f);
        }

        using (FileStream fs = new(damaged, FileMode.Open, FileAccess.ReadWrite))
        {
            Assert.True(fs.Length > 4096, $"store is {fs.Length} bytes");
            byte[] page = new byte[fs.Length - 100];
            rng.NextBytes(page);
            fs.Position = 100;
            fs.Write(page);
        }

        // Garbage is not a Prism store (no SQLite header, no application_id): refused, left as it was.
        string garbageHash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(garbage)));
        Assert.Equal(VerdictStoreProblem.NotAStore, Assert.Throws<VerdictStoreException>(() => VerdictStore.Open(garbage)).Problem);
        Assert.Equal(garbageHash, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(garbage))));

        foreach (string path in new[] { damaged })
        {
            using VerdictStore store = VerdictStore.Open(path);
            Assert.True(store.WasRebuilt, path);
            Assert.True(File.Exists(store.CorruptCopyPath), $"{path}: the damaged store was not kept at {store.CorruptCopyPath}");
            FleetReport r = await new FleetScanner(engine, new FleetScanOptions { Store = store }).ScanAsync(fixture.GoldenPath, fixture.ClonePaths);
            Assert.False(r.ParentFromStore);
            for (int i = 0; i < r.Clones.Count; i++)
            {
                Assert.Empty(r.Clones[i].Errors);
                FleetDisks.AssertSame(FleetDisks.Hits(reference.Clones[i]), FleetDisks.Hits(r.Clones[i]), $"{path}: clone {i}");
            }

            // And the rebuilt store works: the next run takes the parent from it.
            using VerdictStore again = VerdictStore.Open(path);
            Assert.False(again.WasRebuilt);
            Assert.True((await new FleetScanner(engine, new FleetScanOptions { Store = again }).ScanAsync(fixture.GoldenPath, fixture.ClonePaths)).ParentFromStore);
        }
    }

    [SkippableFact]
    public async Task ScansAtOnceOnOneStoreAllSucceed()
    {
        fixture.Require();
        using var dir = new TempDir();
        BuiltinEngine engine = ShaOnly();
        FleetReport reference = await new FleetScanner(engine, new FleetScanOptions { Full = true }).ScanAsync(fixture.GoldenPath, fixture.ClonePaths);
        string storePath = dir.File("shared.db");
        for (int round = 0; round < 4; round++)
        {
            using var start = new Barrier(3);
            Task<(FleetReport, bool)> Run() => Task.Run(async () =>
            {
                start.SignalAndWait();
                using VerdictStore store = VerdictStore.Open(storePath);
                FleetReport r = await new FleetScanner(engine, new FleetScanOptions { Store = store, MaxParallelism = 1 }).ScanAsync(fixture.GoldenPath, fixture.ClonePaths);
                return (r, store.WasRebuilt);
            });
            (FleetReport, bool)[] results = await Task.WhenAll(Run(), Run(), Run());
            foreach ((FleetReport r, bool rebuilt) in results)
            {
                Assert.False(rebuilt, $"round {round}: a store in use by another scan was treated as damaged and rebuilt");
                for (int i = 0; i < r.Clones.Count; i++)
                {
                    Assert.Empty(r.Clones[i].Errors);
                    FleetDisks.AssertSame(FleetDisks.Hits(reference.Clones[i]), FleetDisks.Hits(r.Clones[i]), $"round {round}: clone {i}");
                }
            }
        }
    }

    [SkippableFact]
    public async Task ChangedSignaturesInvalidateParentVerdictsAndCleanClones()
    {
        fixture.Require();
        using var dir = new TempDir();
        string storePath = dir.File("verdicts.db");
        BuiltinEngine sha = ShaOnly();
        using (VerdictStore store = VerdictStore.Open(storePath))
        {
            await new FleetScanner(sha, new FleetScanOptions { Store = store }).ScanAsync(fixture.GoldenPath, fixture.ClonePaths);
        }

        // Same store, a different signature set (all of them): nothing may be served from the SHA-only results.
        var all = new BuiltinEngine(SignatureDatabase.Load(fixture.Databases));
        FleetReport reference = await new FleetScanner(all, new FleetScanOptions { Full = true }).ScanAsync(fixture.GoldenPath, fixture.ClonePaths);
        using (VerdictStore store = VerdictStore.Open(storePath))
        {
            FleetReport r = await new FleetScanner(all, new FleetScanOptions { Store = store }).ScanAsync(fixture.GoldenPath, fixture.ClonePaths);
            Assert.False(r.ParentFromStore);
            Assert.NotEqual(0, r.Parent.BytesRead);
            for (int i = 0; i < r.Clones.Count; i++)
            {
                Assert.False(r.Clones[i].Cached);
                FleetDisks.AssertSame(FleetDisks.Hits(reference.Clones[i]), FleetDisks.Hits(r.Clones[i]), $"clone {i}");
            }
        }
    }

    /// <summary>
    /// A store whose write lock another scan holds (longer than the busy timeout) is busy, not damaged: it must not be
    /// deleted and rebuilt under the other scan, and its verdicts must survive.
    /// </summary>
    [SkippableFact]
    public async Task AStoreLockedByAnotherScanIsNeverDeleted()
    {
        fixture.Require();
        using var dir = new TempDir();
        string storePath = dir.File("busy.db");
        BuiltinEngine engine = ShaOnly();
        using (VerdictStore store = VerdictStore.Open(storePath))
        {
            await new FleetScanner(engine, new FleetScanOptions { Store = store }).ScanAsync(fixture.GoldenPath, fixture.ClonePaths);
        }

        using (var holder = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={storePath};Pooling=False"))
        {
            holder.Open();
            using Microsoft.Data.Sqlite.SqliteTransaction tx = holder.BeginTransaction();
            using (Microsoft.Data.Sqlite.SqliteCommand cmd = holder.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT OR REPLACE INTO meta (key, value) VALUES ('holder', 'x');";
                cmd.ExecuteNonQuery();
            }

            VerdictStoreException e = await Assert.ThrowsAsync<VerdictStoreException>(
                () => Task.Run(() => VerdictStore.Open(storePath, new VerdictStoreOptions { LockWait = TimeSpan.FromSeconds(1) })));
            Assert.Equal(VerdictStoreProblem.Locked, e.Problem);
            output.WriteLine($"busy store refused: {e.Message}");

            tx.Rollback();
        }

        using VerdictStore after = VerdictStore.Open(storePath);
        Assert.False(after.WasRebuilt);
        Assert.True((await new FleetScanner(engine, new FleetScanOptions { Store = after }).ScanAsync(fixture.GoldenPath, fixture.ClonePaths)).ParentFromStore,
            "the parent verdicts stored before the lock are gone");
    }
}
