using Prism.Disks.Vhdx;
using Prism.Scanner.Fleet;
using Prism.Scanner.Signatures;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Scanner.Tests.Fleet;

/// <summary>
/// The verdict store across runs, for every adapter (<see cref="FleetStoreTests"/> on SQLite; the PostgreSQL adapter's
/// class lives with it in Prism.Cli.Tests): parent verdicts reused, unchanged clean clones skipped, concurrency, changed
/// signatures, the parent walk kept, undecodable documents forgotten, a newer schema refused.
/// </summary>
public abstract class VerdictStoreSuite(GoldenFleetFixture fixture, ITestOutputHelper output)
{
    /// <summary>The shared fleet.</summary>
    protected GoldenFleetFixture Fixture => fixture;

    /// <summary>The test's output.</summary>
    protected ITestOutputHelper Output => output;

    /// <summary>A new, empty store location (file path or connection string) for a test whose files live in <paramref name="dir"/>.</summary>
    protected abstract string NewStore(TempDir dir);

    /// <summary>Opens the store at <paramref name="location"/> through the adapter under test.</summary>
    protected abstract IVerdictStore Open(string location);

    /// <summary>Marks the store at <paramref name="location"/> as written by a newer Prism (schema version 99).</summary>
    protected abstract void MarkNewer(string location);

    /// <summary>Only the SHA-256 signature: the golden and most clones are clean, the "hashes" clone is infected.</summary>
    protected BuiltinEngine ShaOnly() => new(SignatureDatabase.Load(fixture.Databases.Where(d => d.EndsWith(".hsb", StringComparison.Ordinal)).ToArray()));

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
        string storePath = NewStore(dir);
        FleetReport first;
        using (IVerdictStore store = Open(storePath))
        {
            first = await new FleetScanner(engine, new FleetScanOptions { Store = store }).ScanAsync(fixture.GoldenPath, clones);
        }

        // The clean extra clone changes between the runs: it must be rescanned, not served from the store.
        byte[] sector = new byte[4096];
        new Random(3).NextBytes(sector);
        FleetDisks.WriteRaw(extra, 512 << 10, sector);
        FleetReport second;
        using (IVerdictStore store = Open(storePath))
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
    public async Task ScansAtOnceOnOneStoreAllSucceed()
    {
        fixture.Require();
        using var dir = new TempDir();
        BuiltinEngine engine = ShaOnly();
        FleetReport reference = await new FleetScanner(engine, new FleetScanOptions { Full = true }).ScanAsync(fixture.GoldenPath, fixture.ClonePaths);
        string storePath = NewStore(dir);
        for (int round = 0; round < 4; round++)
        {
            using var start = new Barrier(3);
            Task<(FleetReport, bool)> Run() => Task.Run(async () =>
            {
                start.SignalAndWait();
                using IVerdictStore store = Open(storePath);
                FleetReport r = await new FleetScanner(engine, new FleetScanOptions { Store = store, MaxParallelism = 1 }).ScanAsync(fixture.GoldenPath, fixture.ClonePaths);
                return (r, store is VerdictStore { WasRebuilt: true });
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
        string storePath = NewStore(dir);
        BuiltinEngine sha = ShaOnly();
        using (IVerdictStore store = Open(storePath))
        {
            await new FleetScanner(sha, new FleetScanOptions { Store = store }).ScanAsync(fixture.GoldenPath, fixture.ClonePaths);
        }

        // Same store, a different signature set (all of them): nothing may be served from the SHA-only results.
        var all = new BuiltinEngine(SignatureDatabase.Load(fixture.Databases));
        FleetReport reference = await new FleetScanner(all, new FleetScanOptions { Full = true }).ScanAsync(fixture.GoldenPath, fixture.ClonePaths);
        using (IVerdictStore store = Open(storePath))
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

    [SkippableFact]
    public void ParentWalkAndDocumentsRoundTripAndAreReplaced()
    {
        fixture.Require();
        using var dir = new TempDir();
        string location = NewStore(dir);
        byte[] walk = new byte[70_000];
        new Random(5).NextBytes(walk);
        using (IVerdictStore store = Open(location))
        {
            Assert.Null(store.LoadParentWalk("p1"));
            Assert.Null(store.FindBaseline("p1"));
            store.SaveParentWalk("p1", walk);
            store.SaveBaseline("p1", new StoredBaselineDocument("{\"v\":1}", "{\"r\":1}"));
            store.SaveBaseline("p1", new StoredBaselineDocument("{\"v\":2}", "{\"r\":2}"));
            store.SaveClone("/c.vhdx", "k1", clean: true, "{}");
            Assert.Empty(store.Problems);
        }

        using (IVerdictStore store = Open(location))
        {
            Assert.Equal(walk, store.LoadParentWalk("p1"));
            Assert.Equal(new StoredBaselineDocument("{\"v\":2}", "{\"r\":2}"), store.FindBaseline("p1"));
            Assert.Equal("{}", store.FindClone("/c.vhdx", "k1"));
            Assert.Null(store.FindClone("/c.vhdx", "k2"));
            store.DeleteClone("/c.vhdx");
            store.DeleteBaseline("p1");
            Assert.Null(store.FindClone("/c.vhdx", "k1"));
            Assert.Null(store.FindBaseline("p1"));
            Assert.Equal(walk, store.LoadParentWalk("p1"));
        }
    }

    [SkippableFact]
    public async Task UndecodableBaselineIsForgottenAndRecomputed()
    {
        fixture.Require();
        using var dir = new TempDir();
        string location = NewStore(dir);
        BuiltinEngine engine = ShaOnly();
        string parentKey;
        using (IVerdictStore store = Open(location))
        {
            await new FleetScanner(engine, new FleetScanOptions { Store = store }).ScanAsync(fixture.GoldenPath, fixture.ClonePaths);
            using VhdxDisk golden = VhdxDisk.Open(fixture.GoldenPath);
            parentKey = $"{golden.DiskId:D}:{golden.DataWriteGuid:D}:{engine.SignatureSetHash}";
            Assert.NotNull(store.FindBaseline(parentKey));
            store.SaveBaseline(parentKey, new StoredBaselineDocument("not json", "{"));
        }

        using (IVerdictStore store = Open(location))
        {
            FleetReport r = await new FleetScanner(engine, new FleetScanOptions { Store = store }).ScanAsync(fixture.GoldenPath, fixture.ClonePaths);
            Assert.False(r.ParentFromStore);
            Assert.NotEqual("not json", store.FindBaseline(parentKey)?.Verdicts);
            Assert.Empty(store.Problems);
        }
    }

    [SkippableFact]
    public void StoreOfANewerSchemaIsRefusedAndLeftAsItWas()
    {
        fixture.Require();
        using var dir = new TempDir();
        string location = NewStore(dir);
        using (IVerdictStore store = Open(location))
        {
            store.SaveClone("/c.vhdx", "k", clean: true, "{}");
        }

        MarkNewer(location);
        VerdictStoreException e = Assert.Throws<VerdictStoreException>(() => Open(location));
        Assert.Equal(VerdictStoreProblem.UnknownVersion, e.Problem);
        Assert.Contains("schema version 99", e.Message, StringComparison.Ordinal);
        output.WriteLine(e.Message);
    }
}
