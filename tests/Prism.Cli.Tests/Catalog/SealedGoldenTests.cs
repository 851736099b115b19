using Prism.Cli;
using Prism.Disks.Vhdx;
using Prism.Provisioner;
using Prism.Provisioner.Catalog;
using Prism.Provisioner.Tests.Cloning;

namespace Prism.Cli.Tests.Catalog;

/// <summary>No Prism path modifies a sealed golden; each refusal says why.</summary>
public sealed class SealedGoldenTests
{
    [Fact]
    public void DiskWriteCommandIsRefused()
    {
        using var f = new ProvisionerFixture();
        GoldenImage g = f.MakeGolden();
        string hash = ProvisionerFixture.FileHash(g.Path);
        File.WriteAllBytes(f.File("data.bin"), ProvisionerFixture.Pattern(4096, 5));
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int rc = Program.Run(["disk", "write", g.Path, "--offset", "0", "--input", f.File("data.bin")], stdout, stderr);
        Assert.NotEqual(0, rc);
        Assert.Contains("read-only", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("sealed golden", stderr.ToString(), StringComparison.Ordinal);
        Assert.Equal(hash, ProvisionerFixture.FileHash(g.Path));
    }

    [Fact]
    public void WritableOpenIsRefused()
    {
        using var f = new ProvisionerFixture();
        GoldenImage g = f.MakeGolden();
        var e = Assert.Throws<UnauthorizedAccessException>(() => VhdxDisk.Open(g.Path, new VhdxOpenOptions { Writable = true }));
        Assert.Contains("sealed golden", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ResettingOrRemovingAGoldenAsIfACloneIsRefused()
    {
        using var f = new ProvisionerFixture();
        GoldenImage g = f.MakeGolden();
        f.Manager.NewClones("base", ["c1"]);
        ProvisionerFixture.State before = f.Snapshot();
        foreach (Action act in new Action[] { () => f.Manager.ResetClone("base"), () => f.Manager.ResetClone(g.Path), () => f.Manager.MergeClone("base"), () => f.Manager.RemoveClone("base") })
        {
            var e = Assert.Throws<ProvisionerException>(act);
            Assert.Equal("PrismGoldenSealed", e.ErrorId);
            Assert.Contains("golden", e.Message, StringComparison.Ordinal);
            Assert.Contains("not a clone", e.Message, StringComparison.Ordinal);
        }

        f.AssertSameState(before);

        var stderr = new StringWriter();
        Assert.Equal(1, Program.Run(["clone", "reset", "base", "--catalog", f.Catalog.Path], new StringWriter(), stderr));
        Assert.Contains("not a clone", stderr.ToString(), StringComparison.Ordinal);
        f.AssertSameState(before);
    }

    [Fact]
    public void ResetAgainstAGoldenModifiedBehindPrismsBackIsRefused()
    {
        using var f = new ProvisionerFixture();
        GoldenImage g = f.MakeGolden();
        f.Manager.NewClones("base", ["c1"]);
        ProvisionerFixture.WriteInto(f.File("c1.vhdx"), 0, ProvisionerFixture.Pattern(4096, 9));
        ProvisionerFixture.MakeWritable(g.Path);
        ProvisionerFixture.WriteInto(g.Path, 4096, ProvisionerFixture.Pattern(4096, 123));
        string c1File = ProvisionerFixture.FileHash(f.File("c1.vhdx"));

        // Like clone new: a fresh child of a modified golden would not match what was sealed.
        var e = Assert.Throws<ProvisionerException>(() => f.Manager.ResetClone("c1"));
        Assert.Equal("PrismGoldenModified", e.ErrorId);
        Assert.Contains("was modified", e.Message, StringComparison.Ordinal);
        Assert.Equal(c1File, ProvisionerFixture.FileHash(f.File("c1.vhdx")));
    }

    [Fact]
    public void CloneNewAfterTheGoldenWasModifiedBehindPrismsBackIsRefused()
    {
        using var f = new ProvisionerFixture();
        GoldenImage g = f.MakeGolden();
        f.Manager.NewClones("base", ["c1"]);
        ProvisionerFixture.MakeWritable(g.Path);
        ProvisionerFixture.WriteInto(g.Path, 4096, ProvisionerFixture.Pattern(4096, 123));
        var filesBefore = Directory.EnumerateFiles(f.Dir.Path).Order(StringComparer.Ordinal).ToList();

        var e = Assert.Throws<ProvisionerException>(() => f.Manager.NewClones("base", ["c2"]));
        Assert.Equal("PrismGoldenModified", e.ErrorId);
        Assert.Contains("was modified", e.Message, StringComparison.Ordinal);
        Assert.Contains(g.DataWriteGuid.ToString("B"), e.Message, StringComparison.Ordinal);
        Assert.Equal(filesBefore, Directory.EnumerateFiles(f.Dir.Path).Order(StringComparer.Ordinal));
        Assert.Single(f.Catalog.Clones());

        var stderr = new StringWriter();
        Assert.Equal(1, Program.Run(["clone", "new", "base", "--count", "3", "--prefix", "x", "--catalog", f.Catalog.Path], new StringWriter(), stderr));
        Assert.Contains("was modified", stderr.ToString(), StringComparison.Ordinal);
        Assert.Single(f.Catalog.Clones());
    }
}
