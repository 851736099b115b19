using Prism.Cli;
using Prism.Disks.Vhdx;
using Prism.Provisioner.Catalog;
using Prism.Provisioner.Tests.Cloning;

namespace Prism.Cli.Tests.Catalog;

/// <summary>
/// Issue 10, items 5 and 6: "sealed" holds for root too. Every path the CLI writes is refused (exit 2, nothing written)
/// when it is a golden, the parent of a clone, a clone, a sealed VHDX, or a hard or symbolic link to one; a disk that
/// is a parent is never opened for writing, whatever its permission bits. These tests run as root on CI, where the
/// permission bit alone protects nothing.
/// </summary>
public sealed class ProtectedTargetCliTests
{
    private static (int Rc, string Out, string Err) Prism(ProvisionerFixture f, params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int rc = Program.Run([.. args, "--catalog", f.Catalog.Path], o, e);
        return (rc, o.ToString(), e.ToString());
    }

    /// <summary>A golden with a clone, and a clone ("mid") that is itself the parent of a clone ("leaf").</summary>
    private static (GoldenImage Golden, string Clone, string Mid, string Leaf) Fleet(ProvisionerFixture f)
    {
        GoldenImage g = f.MakeGolden("gold", 16 * ProvisionerFixture.MiB);
        f.Manager.NewClones("gold", ["c1", "mid"]);
        f.Manager.NewClones("mid", ["leaf"]);
        return (g, f.File("c1.vhdx"), f.File("mid.vhdx"), f.File("leaf.vhdx"));
    }

    private static void AssertRefused((int Rc, string Out, string Err) r, string protectedFile, string what)
    {
        Assert.True(r.Rc == 2, $"{what}: exit {r.Rc}, expected 2 (refused): {r.Err}{r.Out}");
        Assert.Contains("refusing to write", r.Err, StringComparison.Ordinal);
        Assert.Contains(protectedFile, r.Err, StringComparison.Ordinal);
        Assert.Single(r.Err.TrimEnd().Split('\n'));
    }

    [Fact]
    public void OutputsNamingTheGoldenAreRefusedAndLeaveItUnchanged()
    {
        using var f = new ProvisionerFixture();
        (GoldenImage g, string clone, _, _) = Fleet(f);
        string before = ProvisionerFixture.FileHash(g.Path);
        string sig = f.File("x.ndb");
        File.WriteAllText(sig, "Prism.Test:0:*:0102030405060708090a0b0c0d0e0f10\n");

        AssertRefused(Prism(f, "disk", "export", clone, g.Path), g.Path, "disk export CLONE GOLDEN");
        AssertRefused(Prism(f, "disk", "read", clone, "--offset", "0", "--length", "4096", "--output", g.Path), g.Path, "disk read --output GOLDEN");
        AssertRefused(Prism(f, "disk", "import", clone, g.Path), g.Path, "disk import RAW GOLDEN");
        AssertRefused(Prism(f, "disk", "create", g.Path, "--size", "1MiB"), g.Path, "disk create GOLDEN");
        AssertRefused(Prism(f, "disk", "clone", clone, g.Path), g.Path, "disk clone X GOLDEN");
        AssertRefused(Prism(f, "scan", g.Path, clone, "--signatures", sig, "--json", g.Path, "--quiet"), g.Path, "scan --json GOLDEN");
        AssertRefused(Prism(f, "scan", g.Path, clone, "--signatures", sig, "--store", g.Path, "--quiet"), g.Path, "scan --store GOLDEN");
        AssertRefused(Prism(f, "clone", "promote", "c1", "--name", "p1", "--path", g.Path), g.Path, "clone promote --path GOLDEN");

        Assert.Equal(before, ProvisionerFixture.FileHash(g.Path));
        Assert.True(VhdxDisk.IsSealed(g.Path));
        Assert.DoesNotContain(Directory.EnumerateFiles(f.Dir.Path), p => Path.GetFileName(p).StartsWith("gold.vhdx", StringComparison.Ordinal) && p != g.Path);
    }

    [SkippableFact]
    public void HardAndSymbolicLinksToTheGoldenAreRefused()
    {
        using var f = new ProvisionerFixture();
        Skip.IfNot(OperatingSystem.IsLinux(), "file identity (device and inode) is read with statx on Linux");
        (GoldenImage g, string clone, _, _) = Fleet(f);
        string before = ProvisionerFixture.FileHash(g.Path);
        string hard = f.File("innocent-hard.raw");
        string soft = f.File("innocent-soft.raw");
        string linkedDir = f.File("dirlink");
        Link(g.Path, hard);
        File.CreateSymbolicLink(soft, g.Path);
        Directory.CreateSymbolicLink(linkedDir, f.Dir.Path);

        AssertRefused(Prism(f, "disk", "export", clone, hard), g.Path, "export to a hard link of the golden");
        AssertRefused(Prism(f, "disk", "export", clone, soft), g.Path, "export to a symbolic link to the golden");
        AssertRefused(Prism(f, "disk", "read", clone, "--offset", "0", "--length", "512", "--output", soft), g.Path, "read --output symlink");
        AssertRefused(Prism(f, "disk", "export", clone, Path.Combine(linkedDir, "gold.vhdx")), g.Path, "export through a linked directory");

        Assert.Equal(before, ProvisionerFixture.FileHash(g.Path));
        Assert.Equal(before, ProvisionerFixture.FileHash(hard));
        Assert.Equal(g.Path, new FileInfo(soft).LinkTarget);
    }

    [Fact]
    public void ParentsAndClonesAreProtectedOutputs()
    {
        using var f = new ProvisionerFixture();
        (_, string clone, string mid, string leaf) = Fleet(f);
        string midBefore = ProvisionerFixture.FileHash(mid);
        string cloneBefore = ProvisionerFixture.FileHash(clone);

        AssertRefused(Prism(f, "disk", "export", leaf, mid), mid, "export over the parent of a clone");
        AssertRefused(Prism(f, "disk", "export", leaf, clone), clone, "export over a clone (its guest's data)");
        Assert.Equal(midBefore, ProvisionerFixture.FileHash(mid));
        Assert.Equal(cloneBefore, ProvisionerFixture.FileHash(clone));

        // A new file elsewhere is still an ordinary export.
        var ok = Prism(f, "disk", "export", leaf, f.File("out.raw"));
        Assert.True(ok.Rc == 0, ok.Err);
    }

    [SkippableFact]
    public void ASealedVhdxOutsideTheCatalogIsRefusedAsAnOutput()
    {
        using var f = new ProvisionerFixture();
        (_, string clone, _, _) = Fleet(f);
        if (!OperatingSystem.IsLinux())
        {
            throw new SkipException("permission bits and file identity are checked through statx on Linux");
        }

        string stray = f.MakeDisk("stray", 4 * ProvisionerFixture.MiB);
        File.SetUnixFileMode(stray, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        string before = ProvisionerFixture.FileHash(stray);
        AssertRefused(Prism(f, "disk", "export", clone, stray), stray, "export over a sealed VHDX not in the catalog");
        Assert.Equal(before, ProvisionerFixture.FileHash(stray));
    }

    [Fact]
    public void AParentIsNeverOpenedForWritingWhateverItsPermissionBits()
    {
        using var f = new ProvisionerFixture();
        (GoldenImage g, string clone, string mid, string leaf) = Fleet(f);
        string data = f.File("data.bin");
        File.WriteAllBytes(data, ProvisionerFixture.Pattern(4096, 5));

        // Write bits set behind Prism's back: as root nothing else would stop the write.
        ProvisionerFixture.MakeWritable(mid);
        ProvisionerFixture.MakeWritable(g.Path);
        Assert.False(VhdxDisk.IsSealed(mid));
        string midBefore = ProvisionerFixture.FileHash(mid);
        string goldBefore = ProvisionerFixture.FileHash(g.Path);
        AssertRefused(Prism(f, "disk", "write", mid, "--offset", "0", "--input", data), mid, "disk write PARENT-CLONE");
        AssertRefused(Prism(f, "disk", "write", g.Path, "--offset", "0", "--input", data), g.Path, "disk write GOLDEN (write bits set)");
        Assert.Equal(midBefore, ProvisionerFixture.FileHash(mid));
        Assert.Equal(goldBefore, ProvisionerFixture.FileHash(g.Path));

        // The child still opens (its parent's DataWriteGuid is unchanged), and a leaf clone is written as before.
        using (VhdxDisk d = VhdxDisk.Open(leaf))
        {
            Assert.Equal(3, d.Chain.Count);
        }

        var ok = Prism(f, "disk", "write", clone, "--offset", "0", "--input", data);
        Assert.True(ok.Rc == 0, ok.Err);
    }

    [Fact]
    public void ANonexistentCatalogIsNotCreatedByTheCheck()
    {
        using var f = new ProvisionerFixture();
        string disk = f.MakeDisk("plain", 4 * ProvisionerFixture.MiB);
        string catalog = f.File(Path.Combine("nowhere", "catalog.db"));
        var o = new StringWriter();
        var e = new StringWriter();
        int rc = Program.Run(["disk", "export", disk, f.File("plain.raw"), "--catalog", catalog], o, e);
        Assert.True(rc == 0, e.ToString());
        Assert.False(File.Exists(catalog));
        Assert.False(Directory.Exists(Path.GetDirectoryName(catalog)));
    }

    private static void Link(string existing, string link)
    {
        var r = Testing.Oracle.Run("ln", [existing, link], check: false);
        Assert.True(r.ExitCode == 0, r.StdErr);
    }
}
