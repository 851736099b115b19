using Prism.Disks.Vhdx;
using Prism.Provisioner;
using Prism.Provisioner.Catalog;
using Prism.Provisioner.Cloning;
using Prism.Provisioner.Tests.Cloning;
using Prism.Testing;

namespace Prism.Provisioner.Tests.Catalog;

/// <summary>The Verify suite, run against every catalog store (<see cref="VerifyTestsSqlite"/>, <see cref="VerifyTestsPostgres"/>).</summary>
public abstract class VerifyTests
{
    /// <summary>Where each test's catalog lives.</summary>
    protected abstract ICatalogBackend Backend { get; }

    private protected ProvisionerFixture NewFixture() => new(Backend);

    [SkippableFact]
    public void CleanCatalogHasNoProblems()
    {
        using var f = NewFixture();
        f.MakeGolden();
        f.Manager.NewClones("base", ["a", "b"]);
        Assert.Empty(f.Manager.Verify(false));
        Assert.Empty(f.Manager.Verify(true));
    }

    [SkippableFact]
    public void CloneDeletedByHandIsMissingAndRepairKeepsTheRowUntilForget()
    {
        using var f = NewFixture();
        f.MakeGolden();
        f.Manager.NewClones("base", ["a", "b"], owner: "tenant-7");
        File.Delete(f.File("a.vhdx"));

        CatalogProblem p = Assert.Single(f.Manager.Verify(false));
        Assert.Equal("missing-file", p.Kind);
        Assert.Equal(f.File("a.vhdx"), p.Path);
        Assert.False(p.Repaired);
        Assert.Contains("tenant-7", p.Message, StringComparison.Ordinal);

        // Absent is not deleted: repair reports it and keeps the record (with its owner).
        Assert.False(Assert.Single(f.Manager.Verify(true)).Repaired);
        Assert.Equal(["a", "b"], f.Catalog.Clones().Select(c => c.Name));
        Assert.Equal("tenant-7", f.Catalog.Clones()[0].Owner);

        Assert.Equal("PrismCloneMissing", Assert.ThrowsAny<ProvisionerException>(() => f.Manager.RemoveClone("a")).ErrorId);
        f.Manager.RemoveClone("a", forget: true);
        Assert.Equal(["b"], f.Catalog.Clones().Select(c => c.Name));
        Assert.Empty(f.Manager.Verify(false));
    }

    [SkippableFact]
    public void CloneDirectoryTemporarilyAbsentIsFoundAgainWhenItReturns()
    {
        // Issue #10 item 4: repair while a clone directory is absent (an unmounted volume) used to delete the rows.
        using var f = NewFixture();
        f.MakeGolden();
        string vol = Path.Combine(f.Dir.Path, "vol1");
        Directory.CreateDirectory(vol);
        f.Manager.NewClones("base", ["t1", "t2"], vol, owner: "alice");
        ProvisionerFixture.WriteInto(Path.Combine(vol, "t1.vhdx"), 0, ProvisionerFixture.Pattern(4096, 9));
        string content = ProvisionerFixture.ContentHash(Path.Combine(vol, "t1.vhdx"));
        string unmounted = vol + ".away";
        Directory.Move(vol, unmounted);

        IReadOnlyList<CatalogProblem> problems = f.Manager.Verify(true);
        Assert.Equal(2, problems.Count);
        Assert.All(problems, p => Assert.Equal("missing-file", p.Kind));
        Assert.All(problems, p => Assert.False(p.Repaired));
        Assert.All(problems, p => Assert.Contains("directory", p.Message, StringComparison.Ordinal));
        Assert.Equal(2, f.Catalog.Clones().Count);

        Directory.Move(unmounted, vol);
        Assert.Empty(f.Manager.Verify(false));
        Assert.Equal(["alice", "alice"], f.Catalog.Clones().Select(c => c.Owner));
        Assert.Equal(content, ProvisionerFixture.ContentHash(Path.Combine(vol, "t1.vhdx")));
    }

    [SkippableFact]
    public void UnregisteredChildNextToTheGoldenIsFoundAndRegistered()
    {
        using var f = NewFixture();
        var g = f.MakeGolden();
        f.Manager.NewClones("base", ["a"]);
        VhdxDisk.CreateDifferencing(f.File("stray.vhdx"), g.Path);

        CatalogProblem p = Assert.Single(f.Manager.Verify(false));
        Assert.Equal("unregistered-child", p.Kind);
        Assert.Equal(f.File("stray.vhdx"), p.Path);
        Assert.Single(f.Catalog.Clones());

        Assert.True(Assert.Single(f.Manager.Verify(true)).Repaired);
        var stray = f.Catalog.Clones().Single(c => c.Name == "stray");
        Assert.Equal(g.Path, stray.ParentPath);
        Assert.Equal("base", stray.Golden);
        Assert.Empty(f.Manager.Verify(false));
        f.Manager.RemoveClone("stray");
        Assert.False(File.Exists(f.File("stray.vhdx")));
    }

    [SkippableFact]
    public void UnsealedGoldenIsResealed()
    {
        using var f = NewFixture();
        var g = f.MakeGolden();
        ProvisionerFixture.MakeWritable(g.Path);

        CatalogProblem p = Assert.Single(f.Manager.Verify(false));
        Assert.Equal("golden-unsealed", p.Kind);
        Assert.False(VhdxDisk.IsSealed(g.Path));
        Assert.True(Assert.Single(f.Manager.Verify(true)).Repaired);
        Assert.True(VhdxDisk.IsSealed(g.Path));
        Assert.Empty(f.Manager.Verify(false));
    }

    [SkippableFact]
    public void LeftoverTempFileThatMayHoldDataIsKept()
    {
        using var f = NewFixture();
        f.MakeGolden();
        f.Manager.NewClones("base", ["a"]);
        File.WriteAllText(f.File(".x.prism-tmp"), "interrupted");

        CatalogProblem p = Assert.Single(f.Manager.Verify(false));
        Assert.Equal("leftover-temp", p.Kind);
        Assert.False(Assert.Single(f.Manager.Verify(true)).Repaired);
        Assert.Equal("interrupted", File.ReadAllText(f.File(".x.prism-tmp")));
    }

    [SkippableFact]
    public void LeftoverTempWrittenCloneIsKeptAndEmptyChildIsDeleted()
    {
        using var f = NewFixture();
        GoldenImage g = f.MakeGolden();
        f.Manager.NewClones("base", ["a"]);
        string written = f.File(".old.vhdx.0123456789abcdef0123456789abcdef.prism-tmp");
        string empty = f.File(".new.vhdx.fedcba9876543210fedcba9876543210.prism-tmp");
        VhdxDisk.CreateDifferencing(written, g.Path);
        ProvisionerFixture.WriteInto(written, 0, ProvisionerFixture.Pattern(4096, 3));
        VhdxDisk.CreateDifferencing(empty, g.Path);

        var repaired = f.Manager.Verify(true).ToDictionary(p => p.Path, p => p.Repaired);
        Assert.False(repaired[written]);
        Assert.True(repaired[empty]);
        Assert.True(File.Exists(written));
        Assert.False(File.Exists(empty));
    }

    [SkippableFact]
    public void ModifiedGoldenIsReportedAndNotRepaired()
    {
        using var f = NewFixture();
        var g = f.MakeGolden();
        ProvisionerFixture.MakeWritable(g.Path);
        ProvisionerFixture.WriteInto(g.Path, 0, ProvisionerFixture.Pattern(4096, 77));
        var kinds = f.Manager.Verify(true).Select(p => (p.Kind, p.Repaired)).ToList();
        Assert.Contains(("golden-modified", false), kinds);
    }
}

/// <summary>The Verify suite on a SQLite catalog file.</summary>
public sealed class VerifyTestsSqlite : VerifyTests
{
    /// <inheritdoc />
    protected override ICatalogBackend Backend { get; } = new SqliteBackend();
}

/// <summary>The Verify suite on a PostgreSQL catalog (one cluster for the collection, one database per test).</summary>
[Collection(PostgresCollection.Name)]
public sealed class VerifyTestsPostgres(PostgresCluster cluster) : VerifyTests
{
    /// <inheritdoc />
    protected override ICatalogBackend Backend { get; } = new PostgresBackend(cluster);
}
