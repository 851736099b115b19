using Prism.Disks.Vhdx;
using Prism.Provisioner.Cloning;
using Prism.Provisioner.Tests.Cloning;

namespace Prism.Provisioner.Tests.Catalog;

public sealed class VerifyTests
{
    [Fact]
    public void CleanCatalogHasNoProblems()
    {
        using var f = new ProvisionerFixture();
        f.MakeGolden();
        f.Manager.NewClones("base", ["a", "b"]);
        Assert.Empty(f.Manager.Verify(false));
        Assert.Empty(f.Manager.Verify(true));
    }

    [Fact]
    public void CloneDeletedByHandIsMissingAndRepairDropsTheRow()
    {
        using var f = new ProvisionerFixture();
        f.MakeGolden();
        f.Manager.NewClones("base", ["a", "b"]);
        File.Delete(f.File("a.vhdx"));

        CatalogProblem p = Assert.Single(f.Manager.Verify(false));
        Assert.Equal("missing-file", p.Kind);
        Assert.Equal(f.File("a.vhdx"), p.Path);
        Assert.False(p.Repaired);
        Assert.Equal(2, f.Catalog.Clones().Count);

        Assert.True(Assert.Single(f.Manager.Verify(true)).Repaired);
        Assert.Equal(["b"], f.Catalog.Clones().Select(c => c.Name));
        Assert.Empty(f.Manager.Verify(false));
    }

    [Fact]
    public void UnregisteredChildNextToTheGoldenIsFoundAndRegistered()
    {
        using var f = new ProvisionerFixture();
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

    [Fact]
    public void UnsealedGoldenIsResealed()
    {
        using var f = new ProvisionerFixture();
        var g = f.MakeGolden();
        ProvisionerFixture.MakeWritable(g.Path);

        CatalogProblem p = Assert.Single(f.Manager.Verify(false));
        Assert.Equal("golden-unsealed", p.Kind);
        Assert.False(VhdxDisk.IsSealed(g.Path));
        Assert.True(Assert.Single(f.Manager.Verify(true)).Repaired);
        Assert.True(VhdxDisk.IsSealed(g.Path));
        Assert.Empty(f.Manager.Verify(false));
    }

    [Fact]
    public void LeftoverTempFileIsDeleted()
    {
        using var f = new ProvisionerFixture();
        f.MakeGolden();
        f.Manager.NewClones("base", ["a"]);
        File.WriteAllText(f.File(".x.prism-tmp"), "interrupted");

        CatalogProblem p = Assert.Single(f.Manager.Verify(false));
        Assert.Equal("leftover-temp", p.Kind);
        Assert.True(File.Exists(f.File(".x.prism-tmp")));
        Assert.True(Assert.Single(f.Manager.Verify(true)).Repaired);
        Assert.False(File.Exists(f.File(".x.prism-tmp")));
        Assert.Empty(f.Manager.Verify(false));
    }

    [Fact]
    public void ModifiedGoldenIsReportedAndNotRepaired()
    {
        using var f = new ProvisionerFixture();
        var g = f.MakeGolden();
        ProvisionerFixture.MakeWritable(g.Path);
        ProvisionerFixture.WriteInto(g.Path, 0, ProvisionerFixture.Pattern(4096, 77));
        var kinds = f.Manager.Verify(true).Select(p => (p.Kind, p.Repaired)).ToList();
        Assert.Contains(("golden-modified", false), kinds);
    }
}
