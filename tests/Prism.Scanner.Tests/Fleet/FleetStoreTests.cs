using Prism.Disks.Vhdx;
using Prism.Scanner.Fleet;
using Prism.Scanner.Signatures;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Scanner.Tests.Fleet;

/// <summary>The verdict store suite on SQLite, and what only a SQLite file has: damage moved aside, another scan's lock.</summary>
[Collection(GoldenFleetCollection.Name)]
public sealed class FleetStoreTests(GoldenFleetFixture fixture, ITestOutputHelper output) : VerdictStoreSuite(fixture, output)
{
    /// <inheritdoc />
    protected override string NewStore(TempDir dir) => dir.File("verdicts.db");

    /// <inheritdoc />
    protected override IVerdictStore Open(string location) => VerdictStore.Open(location);

    /// <inheritdoc />
    protected override void MarkNewer(string location)
    {
        using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={location};Pooling=False");
        c.Open();
        using Microsoft.Data.Sqlite.SqliteCommand cmd = c.CreateCommand();
        cmd.CommandText = "UPDATE meta SET value = '99' WHERE key = 'schema';";
        Assert.Equal(1, cmd.ExecuteNonQuery());
    }

    [SkippableFact]
    public async Task DamagedStoreIsMovedAsideAndTheScanStillSucceeds()
    {
        Fixture.Require();
        using var dir = new TempDir();
        var engine = new BuiltinEngine(SignatureDatabase.Load(Fixture.Databases));
        FleetReport reference = await new FleetScanner(engine).ScanAsync(Fixture.GoldenPath, Fixture.ClonePaths);
        var rng = new Random(11);

        // 1: pure garbage. 2: a real store whose pages after the SQLite header are overwritten.
        string garbage = dir.File("garbage.db");
        byte[] bytes = new byte[64 << 10];
        rng.NextBytes(bytes);
        File.WriteAllBytes(garbage, bytes);
        string damaged = dir.File("damaged.db");
        using (VerdictStore store = VerdictStore.Open(damaged))
        {
            await new FleetScanner(engine, new FleetScanOptions { Store = store }).ScanAsync(Fixture.GoldenPath, Fixture.ClonePaths);
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
            FleetReport r = await new FleetScanner(engine, new FleetScanOptions { Store = store }).ScanAsync(Fixture.GoldenPath, Fixture.ClonePaths);
            Assert.False(r.ParentFromStore);
            for (int i = 0; i < r.Clones.Count; i++)
            {
                Assert.Empty(r.Clones[i].Errors);
                FleetDisks.AssertSame(FleetDisks.Hits(reference.Clones[i]), FleetDisks.Hits(r.Clones[i]), $"{path}: clone {i}");
            }

            // And the rebuilt store works: the next run takes the parent from it.
            using VerdictStore again = VerdictStore.Open(path);
            Assert.False(again.WasRebuilt);
            Assert.True((await new FleetScanner(engine, new FleetScanOptions { Store = again }).ScanAsync(Fixture.GoldenPath, Fixture.ClonePaths)).ParentFromStore);
        }
    }

    /// <summary>
    /// A store whose write lock another scan holds (longer than the busy timeout) is busy, not damaged: it must not be
    /// deleted and rebuilt under the other scan, and its verdicts must survive.
    /// </summary>
    [SkippableFact]
    public async Task AStoreLockedByAnotherScanIsNeverDeleted()
    {
        Fixture.Require();
        using var dir = new TempDir();
        string storePath = dir.File("busy.db");
        BuiltinEngine engine = ShaOnly();
        using (VerdictStore store = VerdictStore.Open(storePath))
        {
            await new FleetScanner(engine, new FleetScanOptions { Store = store }).ScanAsync(Fixture.GoldenPath, Fixture.ClonePaths);
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
            Output.WriteLine($"busy store refused: {e.Message}");

            tx.Rollback();
        }

        using VerdictStore after = VerdictStore.Open(storePath);
        Assert.False(after.WasRebuilt);
        Assert.True((await new FleetScanner(engine, new FleetScanOptions { Store = after }).ScanAsync(Fixture.GoldenPath, Fixture.ClonePaths)).ParentFromStore,
            "the parent verdicts stored before the lock are gone");
    }
}
