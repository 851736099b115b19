using Prism.Disks.Vhdx;
using Prism.Provisioner.Catalog;
using Prism.Provisioner.Cloning;
using Prism.Provisioner.Tests.Catalog;
using Prism.Testing;

namespace Prism.Provisioner.Tests.Cloning;

/// <summary>The Lifecycle suite, run against every catalog store (<see cref="LifecycleTestsSqlite"/>, <see cref="LifecycleTestsPostgres"/>).</summary>
public abstract class LifecycleTests
{
    /// <summary>Where each test's catalog lives.</summary>
    protected abstract ICatalogBackend Backend { get; }

    private protected ProvisionerFixture NewFixture() => new(Backend);

    private const long MiB = ProvisionerFixture.MiB;

    [SkippableFact]
    public void GoldenAddSealsRecordsAndRemoveIsRefusedWhileClonesExist()
    {
        using var f = NewFixture();
        string path = f.MakeDisk("base");
        Guid diskId;
        Guid dwg;
        using (VhdxDisk d = VhdxDisk.Open(path))
        {
            diskId = d.DiskId;
            dwg = d.DataWriteGuid;
        }

        Assert.False(VhdxDisk.IsSealed(path));
        GoldenImage g = f.Manager.AddGolden(path);
        Assert.Equal("base", g.Name);
        Assert.Equal(diskId, g.DiskId);
        Assert.Equal(dwg, g.DataWriteGuid);
        Assert.Equal(64 * MiB, g.VirtualSize);
        Assert.True(VhdxDisk.IsSealed(path));
        Assert.Equal([g], f.Catalog.Goldens());

        var dup = Assert.ThrowsAny<ProvisionerException>(() => f.Manager.AddGolden(path, "other"));
        Assert.Equal("PrismGoldenExists", dup.ErrorId);
        Assert.True(VhdxDisk.IsSealed(path));

        f.Manager.NewClones("base", ["c1"]);
        var refused = Assert.ThrowsAny<ProvisionerException>(() => f.Manager.RemoveGolden("base", force: false));
        Assert.Equal("PrismGoldenHasClones", refused.ErrorId);
        Assert.Contains("1 clone", refused.Message, StringComparison.Ordinal);
        Assert.Single(f.Catalog.Goldens());
        Assert.Single(f.Catalog.Clones());

        f.Manager.RemoveGolden("base", force: true);
        Assert.Empty(f.Catalog.Goldens());
        Assert.Empty(f.Catalog.Clones());
        Assert.True(File.Exists(path));
        Assert.True(File.Exists(f.File("c1.vhdx")));
        Assert.True(VhdxDisk.IsSealed(path)); // clones still depend on it: stays sealed
    }

    [SkippableFact]
    public void GoldenRemoveWithoutClonesUnsealsAndForgets()
    {
        using var f = NewFixture();
        GoldenImage g = f.MakeGolden();
        f.Manager.RemoveGolden(g.Path, force: false);
        Assert.Empty(f.Catalog.Goldens());
        Assert.False(VhdxDisk.IsSealed(g.Path));
        Assert.Equal("PrismGoldenNotFound", Assert.ThrowsAny<ProvisionerException>(() => f.Manager.RemoveGolden("base", false)).ErrorId);
    }

    [SkippableFact]
    public void DifferencingDiskIsRefusedAsGolden()
    {
        using var f = NewFixture();
        string b = f.MakeDisk("b");
        VhdxDisk.CreateDifferencing(f.File("child.vhdx"), b);
        var e = Assert.ThrowsAny<ProvisionerException>(() => f.Manager.AddGolden(f.File("child.vhdx")));
        Assert.Equal("PrismGoldenIsDifferencing", e.ErrorId);
        Assert.Empty(f.Catalog.Goldens());
        Assert.False(VhdxDisk.IsSealed(f.File("child.vhdx")));
    }

    [SkippableFact]
    public void CloneNewByNamesAndByCountContinuesNumbering()
    {
        using var f = NewFixture();
        GoldenImage g = f.MakeGolden();
        string goldenHash = ProvisionerFixture.ContentHash(g.Path);
        IReadOnlyList<CloneRecord> named = f.Manager.NewClones("base", ["alice", "bob"], owner: "qa");
        Assert.Equal(["alice", "bob"], named.Select(c => c.Name));
        Assert.All(named, c => Assert.Equal("qa", c.Owner));

        Assert.Equal(["vm-0001", "vm-0002", "vm-0003"], f.Manager.NextNames("vm", 3));
        var progress = new List<int>();
        f.Manager.NewClones("base", f.Manager.NextNames("vm", 3), progress: new SyncProgress(progress.Add));
        Assert.Equal([1, 2, 3], progress);
        Assert.Equal(["vm-0004", "vm-0005"], f.Manager.NextNames("vm", 2));
        f.Manager.NewClones(g.Path, f.Manager.NextNames("vm", 2));

        var sub = Directory.CreateDirectory(f.File("elsewhere")).FullName;
        f.Manager.NewClones("base", ["far"], directory: sub);

        List<CloneRecord> rows = f.Catalog.Clones().ToList();
        Assert.Equal(["alice", "bob", "far", "vm-0001", "vm-0002", "vm-0003", "vm-0004", "vm-0005"], rows.Select(r => r.Name));
        Assert.Equal(Path.Combine(sub, "far.vhdx"), rows.Single(r => r.Name == "far").Path);
        foreach (CloneRecord r in rows)
        {
            Assert.Equal("base", r.Golden);
            Assert.Equal(g.Path, r.ParentPath);
            using VhdxDisk d = VhdxDisk.Open(r.Path);
            Assert.Equal(VhdxDiskType.Differencing, d.Type);
            Assert.Equal(g.DiskId, d.DiskId);
            Assert.Equal(g.DataWriteGuid, d.ParentLinkage);
            Assert.Equal(0, d.GetAllocatedBytes());
            Assert.Equal(goldenHash, ProvisionerFixture.ContentHash(d));
        }

        // A name whose file is in the way: refused by the file system, and "zed" (created first) is removed again.
        var inTheWay = Assert.ThrowsAny<IOException>(() => f.Manager.NewClones("base", ["zed", "alice"]));
        Assert.Contains("alice", inTheWay.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(f.File("zed.vhdx")));
        // A registered name in another directory: the file can be made, the catalog refuses it, both new files go.
        var dup = Assert.ThrowsAny<ProvisionerException>(() => f.Manager.NewClones("base", ["zed", "alice"], directory: sub));
        Assert.Equal("PrismCloneExists", dup.ErrorId);
        Assert.False(File.Exists(Path.Combine(sub, "zed.vhdx")));
        Assert.False(File.Exists(Path.Combine(sub, "alice.vhdx")));
        Assert.Equal(["far.vhdx"], Directory.EnumerateFiles(sub).Select(Path.GetFileName));
        Assert.Equal(8, f.Catalog.Clones().Count);
        Assert.Empty(f.Manager.Verify(false));
    }

    [SkippableFact]
    public void ListReportsDivergenceFromTheClonesOwnAllocation()
    {
        using var f = NewFixture();
        f.MakeGolden();
        f.Manager.NewClones("base", ["quiet", "busy"]);
        ProvisionerFixture.WriteInto(f.File("busy.vhdx"), 5 * MiB, ProvisionerFixture.Pattern(3 * (int)MiB, 7));
        ProvisionerFixture.WriteInto(f.File("busy.vhdx"), 40 * MiB + 512, ProvisionerFixture.Pattern(4096, 8));

        IReadOnlyList<CloneStatus> list = f.Manager.ListClones();
        CloneStatus busy = list.Single(s => s.Record.Name == "busy");
        CloneStatus quiet = list.Single(s => s.Record.Name == "quiet");
        long expected;
        using (VhdxDisk d = VhdxDisk.Open(f.File("busy.vhdx")))
        {
            expected = d.GetAllocatedBytes();
        }

        Assert.True(expected >= 3 * MiB + 4096, $"allocated {expected}");
        Assert.Equal(expected, busy.AllocatedBytes);
        Assert.True(busy.Exists);
        Assert.Null(busy.Error);
        Assert.Equal(64 * MiB, busy.VirtualSize);
        Assert.Equal(100.0 * expected / (64 * MiB), busy.DivergencePercent, 6);
        Assert.Equal(0, quiet.AllocatedBytes);
        Assert.Equal(0, quiet.DivergencePercent);

        File.Delete(f.File("quiet.vhdx"));
        CloneStatus gone = f.Manager.ListClones().Single(s => s.Record.Name == "quiet");
        Assert.False(gone.Exists);
        Assert.NotNull(gone.Error);
    }

    [SkippableFact]
    public void ResetDiscardsDataKeepsPathAndDiskIdAndLeavesTheParentAlone()
    {
        using var f = NewFixture();
        GoldenImage g = f.MakeGolden();
        string goldenFile = ProvisionerFixture.FileHash(g.Path);
        string goldenContent = ProvisionerFixture.ContentHash(g.Path);
        f.Manager.NewClones("base", ["c1", "c2"]);
        string c1 = f.File("c1.vhdx");
        Guid idBefore;
        using (VhdxDisk d = VhdxDisk.Open(c1))
        {
            idBefore = d.DiskId;
        }

        ProvisionerFixture.WriteInto(c1, 0, ProvisionerFixture.Pattern(1024 * 1024, 99));
        Assert.NotEqual(goldenContent, ProvisionerFixture.ContentHash(c1));
        List<CloneRecord> rowsBefore = f.Catalog.Clones().ToList();

        f.Manager.ResetClone("c1");

        using (VhdxDisk d = VhdxDisk.Open(c1))
        {
            Assert.Equal(idBefore, d.DiskId);
            Assert.Equal(0, d.GetAllocatedBytes());
            Assert.Equal(goldenContent, ProvisionerFixture.ContentHash(d));
        }

        Assert.Equal(goldenFile, ProvisionerFixture.FileHash(g.Path));
        Assert.True(VhdxDisk.IsSealed(g.Path));
        Assert.Equal(rowsBefore, f.Catalog.Clones());
        Assert.Equal(goldenContent, ProvisionerFixture.ContentHash(f.File("c2.vhdx")));
        Assert.DoesNotContain(Directory.EnumerateFiles(f.Dir.Path), p => p.EndsWith(".prism-tmp", StringComparison.Ordinal));
        Assert.Empty(f.Manager.Verify(false));
    }

    [SkippableFact]
    public void RemoveDeletesFileAndRowAndIsRefusedForAParentClone()
    {
        using var f = NewFixture();
        f.MakeGolden();
        f.Manager.NewClones("base", ["c1", "c2"]);
        f.Manager.NewClones("c1", ["c1a"]);

        var e = Assert.ThrowsAny<ProvisionerException>(() => f.Manager.RemoveClone("c1"));
        Assert.Equal("PrismCloneHasChildren", e.ErrorId);
        Assert.True(File.Exists(f.File("c1.vhdx")));

        f.Manager.RemoveClone("c2");
        Assert.False(File.Exists(f.File("c2.vhdx")));
        Assert.Equal(["c1", "c1a"], f.Catalog.Clones().Select(c => c.Name));
        f.Manager.RemoveClone(f.File("c1a.vhdx"));
        f.Manager.RemoveClone("c1");
        Assert.Empty(f.Catalog.Clones());
        Assert.Equal(["base.vhdx"], Directory.EnumerateFiles(f.Dir.Path).Select(Path.GetFileName));
        Assert.Equal("PrismCloneNotFound", Assert.ThrowsAny<ProvisionerException>(() => f.Manager.RemoveClone("c1")).ErrorId);
    }

    [SkippableFact]
    public void MergeFoldsACloneOfACloneIntoItsParentClone()
    {
        using var f = NewFixture();
        GoldenImage g = f.MakeGolden();
        string goldenFile = ProvisionerFixture.FileHash(g.Path);
        f.Manager.NewClones("base", ["mid"]);
        ProvisionerFixture.WriteInto(f.File("mid.vhdx"), 2 * MiB, ProvisionerFixture.Pattern(512 * 1024, 3));
        f.Manager.NewClones("mid", ["leaf"]);
        Assert.Equal(f.File("mid.vhdx"), f.Catalog.Clones().Single(c => c.Name == "leaf").ParentPath);
        Assert.Equal("base", f.Catalog.Clones().Single(c => c.Name == "leaf").Golden);
        ProvisionerFixture.WriteInto(f.File("leaf.vhdx"), 2 * MiB + 4096, ProvisionerFixture.Pattern(8192, 4));
        ProvisionerFixture.WriteInto(f.File("leaf.vhdx"), 50 * MiB, ProvisionerFixture.Pattern(1024 * 1024, 5));
        string leafContent = ProvisionerFixture.ContentHash(f.File("leaf.vhdx"));

        f.Manager.MergeClone("leaf");

        Assert.False(File.Exists(f.File("leaf.vhdx")));
        Assert.Equal(["mid"], f.Catalog.Clones().Select(c => c.Name));
        Assert.Equal(leafContent, ProvisionerFixture.ContentHash(f.File("mid.vhdx")));
        Assert.Equal(goldenFile, ProvisionerFixture.FileHash(g.Path));
        Assert.Equal(["base.vhdx", "mid.vhdx"], Directory.EnumerateFiles(f.Dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Empty(f.Manager.Verify(false));
    }

    [SkippableFact]
    public void MergeIntoAGoldenIsRefused()
    {
        using var f = NewFixture();
        GoldenImage g = f.MakeGolden();
        string goldenFile = ProvisionerFixture.FileHash(g.Path);
        f.Manager.NewClones("base", ["c1"]);
        ProvisionerFixture.WriteInto(f.File("c1.vhdx"), 0, ProvisionerFixture.Pattern(4096, 1));
        ProvisionerFixture.State before = f.Snapshot();

        var e = Assert.ThrowsAny<ProvisionerException>(() => f.Manager.MergeClone("c1"));
        Assert.Equal("PrismGoldenSealed", e.ErrorId);
        Assert.Contains("sealed golden", e.Message, StringComparison.Ordinal);
        Assert.Contains("promote", e.Message, StringComparison.Ordinal);
        Assert.Equal(goldenFile, ProvisionerFixture.FileHash(g.Path));
        f.AssertSameState(before);
    }

    [SkippableFact]
    public void MergeIsRefusedWhenTheParentHasOtherChildren()
    {
        using var f = NewFixture();
        f.MakeGolden();
        f.Manager.NewClones("base", ["mid"]);
        f.Manager.NewClones("mid", ["a", "b"]);
        ProvisionerFixture.State before = f.Snapshot();
        var e = Assert.ThrowsAny<ProvisionerException>(() => f.Manager.MergeClone("a"));
        Assert.Equal("PrismParentShared", e.ErrorId);
        Assert.Contains("b", e.Message, StringComparison.Ordinal);
        f.AssertSameState(before);

        var e2 = Assert.ThrowsAny<ProvisionerException>(() => f.Manager.MergeClone("mid"));
        Assert.Equal("PrismCloneHasChildren", e2.ErrorId);
        f.AssertSameState(before);
    }

    [SkippableFact]
    public void PromoteFlattensIntoANewSealedGoldenAndLeavesTheOldChainAlone()
    {
        using var f = NewFixture();
        GoldenImage g = f.MakeGolden();
        string goldenFile = ProvisionerFixture.FileHash(g.Path);
        f.Manager.NewClones("base", ["dev", "other"]);
        ProvisionerFixture.WriteInto(f.File("dev.vhdx"), 7 * MiB, ProvisionerFixture.Pattern(2 * (int)MiB, 11));
        ProvisionerFixture.WriteInto(f.File("dev.vhdx"), 0, new byte[4096]); // zeroes over golden data
        string devContent = ProvisionerFixture.ContentHash(f.File("dev.vhdx"));
        string otherContent = ProvisionerFixture.ContentHash(f.File("other.vhdx"));

        GoldenImage ng = f.Manager.PromoteClone("dev", "base2");

        Assert.Equal(f.File("base2.vhdx"), ng.Path);
        Assert.True(VhdxDisk.IsSealed(ng.Path));
        Assert.Equal(["base", "base2"], f.Catalog.Goldens().Select(x => x.Name));
        using (VhdxDisk flat = VhdxDisk.Open(ng.Path))
        {
            Assert.NotEqual(VhdxDiskType.Differencing, flat.Type);
            Assert.Equal(ng.DataWriteGuid, flat.DataWriteGuid);
            Assert.Equal(devContent, ProvisionerFixture.ContentHash(flat));
        }

        using (VhdxDisk old = VhdxDisk.Open(g.Path))
        {
            Assert.Equal(g.DataWriteGuid, old.DataWriteGuid);
        }

        Assert.Equal(goldenFile, ProvisionerFixture.FileHash(g.Path));
        Assert.Equal(devContent, ProvisionerFixture.ContentHash(f.File("dev.vhdx")));
        Assert.Equal(otherContent, ProvisionerFixture.ContentHash(f.File("other.vhdx")));
        Assert.Equal(["dev", "other"], f.Catalog.Clones().Select(c => c.Name));

        f.Manager.NewClones("base2", ["n1"]);
        Assert.Equal(devContent, ProvisionerFixture.ContentHash(f.File("n1.vhdx")));
        Assert.Equal("PrismGoldenExists", Assert.ThrowsAny<ProvisionerException>(() => f.Manager.PromoteClone("other", "base2")).ErrorId);
        // A golden name already taken, at a free path: refused by the catalog, and the flattened file is removed again.
        Assert.Equal("PrismGoldenExists", Assert.ThrowsAny<ProvisionerException>(() => f.Manager.PromoteClone("other", "base", f.File("free.vhdx"))).ErrorId);
        Assert.False(File.Exists(f.File("free.vhdx")));
        Assert.Equal(["base", "base2"], f.Catalog.Goldens().Select(x => x.Name));
        Assert.Empty(f.Manager.Verify(false));
    }

    [SkippableFact]
    public void PromoteAndResetWorkOnACloneOfAClone()
    {
        using var f = NewFixture();
        f.MakeGolden();
        f.Manager.NewClones("base", ["mid"]);
        ProvisionerFixture.WriteInto(f.File("mid.vhdx"), 10 * MiB, ProvisionerFixture.Pattern(3 * (int)MiB, 21));
        string midContent = ProvisionerFixture.ContentHash(f.File("mid.vhdx"));
        f.Manager.NewClones("mid", ["leaf"]);
        ProvisionerFixture.WriteInto(f.File("leaf.vhdx"), 11 * MiB + 512, ProvisionerFixture.Pattern(4096, 22));
        ProvisionerFixture.WriteInto(f.File("leaf.vhdx"), 63 * MiB, ProvisionerFixture.Pattern(65536, 23));
        string leafContent = ProvisionerFixture.ContentHash(f.File("leaf.vhdx"));

        GoldenImage flat = f.Manager.PromoteClone("leaf", "flat");
        Assert.Equal(leafContent, ProvisionerFixture.ContentHash(flat.Path));
        using (VhdxDisk d = VhdxDisk.Open(flat.Path))
        {
            Assert.Null(d.Parent);
        }

        f.Manager.ResetClone("leaf");
        Assert.Equal(midContent, ProvisionerFixture.ContentHash(f.File("leaf.vhdx")));
        Assert.Equal(midContent, ProvisionerFixture.ContentHash(f.File("mid.vhdx")));
        Assert.Equal(leafContent, ProvisionerFixture.ContentHash(flat.Path));
        Assert.Empty(f.Manager.Verify(false));
    }

    private sealed class SyncProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}

/// <summary>The Lifecycle suite on a SQLite catalog file.</summary>
public sealed class LifecycleTestsSqlite : LifecycleTests
{
    /// <inheritdoc />
    protected override ICatalogBackend Backend { get; } = new SqliteBackend();
}

/// <summary>The Lifecycle suite on a PostgreSQL catalog (one cluster for the collection, one database per test).</summary>
[Collection(PostgresCollection.Name)]
public sealed class LifecycleTestsPostgres(PostgresCluster cluster) : LifecycleTests
{
    /// <inheritdoc />
    protected override ICatalogBackend Backend { get; } = new PostgresBackend(cluster);
}
