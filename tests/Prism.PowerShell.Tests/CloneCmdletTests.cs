using System.Management.Automation;
using Prism.Disks.Vhdx;
using Prism.Provisioner.Catalog;
using Prism.Testing;

namespace Prism.PowerShell.Tests;

public sealed class CloneCmdletTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly PrismShell _shell;
    private readonly string _golden;

    public CloneCmdletTests()
    {
        _shell = new PrismShell(_dir);
        _golden = PrismShell.CreateDisk(_dir.File("base.vhdx"));
        PrismShell.WriteDisk(_golden, 0, PrismShell.Pattern(256 * 1024, 10));
    }

    public void Dispose()
    {
        _shell.Dispose();
        _dir.Dispose();
    }

    private PrismGolden AddGolden() => _shell.Single<PrismGolden>("Add-PrismGolden base.vhdx");

    private List<CloneRecord> CatalogClones()
    {
        using PrismCatalog catalog = PrismCatalog.Open(_shell.CatalogPath);
        return catalog.Clones().OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
    }

    private List<GoldenImage> CatalogGoldens()
    {
        using PrismCatalog catalog = PrismCatalog.Open(_shell.CatalogPath);
        return catalog.Goldens().ToList();
    }

    [Fact]
    public void AddPrismGolden_SealsAndRegisters_GetPrismGoldenListsIt()
    {
        PrismGolden added = _shell.Single<PrismGolden>("Add-PrismGolden -Path base.vhdx -Name win11");
        _shell.Run("New-PrismClone win11 -Name a, b");

        PrismGolden listed = _shell.Single<PrismGolden>("Get-PrismGolden win*");
        using VhdxDisk disk = VhdxDisk.Open(_golden);
        Assert.Equal("win11", added.Name);
        Assert.Equal(_golden, added.Path);
        Assert.True(added.Sealed);
        Assert.True(VhdxDisk.IsSealed(_golden));
        Assert.Equal(disk.DiskId, listed.DiskIdentifier);
        Assert.Equal(disk.DataWriteGuid, listed.DataWriteGuid);
        Assert.Equal(disk.VirtualSize, listed.VirtualSize);
        Assert.Equal(2, listed.CloneCount);
        Assert.Equal("win11", Assert.Single(CatalogGoldens()).Name);
    }

    [Fact]
    public void AddPrismGolden_Twice_ResourceExists()
    {
        AddGolden();

        _shell.Run("Add-PrismGolden base.vhdx");

        PrismShell.AssertError(Assert.Single(_shell.Errors), "PrismGoldenExists", ErrorCategory.ResourceExists);
        Assert.Single(CatalogGoldens());
        Assert.True(VhdxDisk.IsSealed(_golden));
    }

    [Fact]
    public void AddPrismGolden_Differencing_InvalidDataAndNotSealed()
    {
        VhdxDisk.CreateDifferencing(_dir.File("child.vhdx"), _golden);

        _shell.Run("Add-PrismGolden child.vhdx");

        PrismShell.AssertError(Assert.Single(_shell.Errors), "PrismGoldenIsDifferencing", ErrorCategory.InvalidData);
        Assert.Empty(CatalogGoldens());
        Assert.False(VhdxDisk.IsSealed(_dir.File("child.vhdx")));
    }

    [Fact]
    public void AddPrismGolden_WhatIf_NeitherSealsNorRegisters()
    {
        Assert.Empty(_shell.Run("Add-PrismGolden base.vhdx -WhatIf"));

        Assert.Empty(_shell.Errors);
        Assert.False(VhdxDisk.IsSealed(_golden));
        Assert.Empty(CatalogGoldens());
    }

    [Fact]
    public void NewPrismClone_Names_CreatesRegisteredChildren()
    {
        AddGolden();
        Directory.CreateDirectory(_dir.File("clones"));

        List<PrismClone> clones = _shell.All<PrismClone>("New-PrismClone -Golden base -Name web1, web2 -Directory clones -Owner alice");

        Assert.Equal(["web1", "web2"], clones.Select(c => c.Name));
        foreach (PrismClone c in clones)
        {
            Assert.Equal(Path.Combine(_dir.File("clones"), c.Name + ".vhdx"), c.Path);
            Assert.Equal("alice", c.Owner);
            Assert.Equal("base", c.Golden);
            Assert.Equal(_golden, c.ParentPath);
            Assert.True(c.Exists);
            using VhdxDisk disk = VhdxDisk.Open(c.Path);
            Assert.Equal(_golden, disk.Parent?.Path);
            Assert.Equal(disk.VirtualSize, c.VirtualSize);
        }

        Assert.Equal(["web1", "web2"], CatalogClones().Select(c => c.Name));
    }

    [Fact]
    public void NewPrismClone_GoldenByRelativePath_ResolvesAgainstPowerShellLocation()
    {
        AddGolden();

        PrismClone clone = _shell.Single<PrismClone>("New-PrismClone -Golden base.vhdx -Name p1");

        Assert.Equal("base", clone.Golden);
        Assert.Equal(_dir.File("p1.vhdx"), clone.Path);
        Assert.Equal(_golden, clone.ParentPath);
    }

    [Fact]
    public void NewPrismClone_Count20_EmitsProgressPerClone()
    {
        AddGolden();

        List<PrismClone> clones = _shell.All<PrismClone>("New-PrismClone base -Count 20 -Prefix vm");

        Assert.Equal(Enumerable.Range(1, 20).Select(i => $"vm-{i:0000}"), clones.Select(c => c.Name));
        Assert.All(clones, c => Assert.True(File.Exists(c.Path)));
        List<ProgressRecord> processing = _shell.Progress.Where(p => p.RecordType == ProgressRecordType.Processing).ToList();
        Assert.Equal(20, processing.Count);
        Assert.Equal(Enumerable.Range(1, 20).Select(i => i * 100 / 20), processing.Select(p => p.PercentComplete));
        Assert.Contains("20 of 20", processing[^1].StatusDescription, StringComparison.Ordinal);
        Assert.Equal(ProgressRecordType.Completed, _shell.Progress[^1].RecordType);
        Assert.Equal(20, CatalogClones().Count);

        List<PrismClone> more = _shell.All<PrismClone>("New-PrismClone base -Count 2 -Prefix vm");
        Assert.Equal(["vm-0021", "vm-0022"], more.Select(c => c.Name));
    }

    [Fact]
    public void NewPrismClone_WhatIf_CreatesNoFileAndLeavesCatalogUnchanged()
    {
        AddGolden();
        _shell.Run("New-PrismClone base -Name keep");
        string[] filesBefore = Directory.GetFiles(_dir.Path).Order(StringComparer.Ordinal).ToArray();

        Assert.Empty(_shell.Run("New-PrismClone base -Count 5 -Prefix what -WhatIf; New-PrismClone base -Name w1, w2 -WhatIf"));

        Assert.Empty(_shell.Errors);
        Assert.Empty(_shell.Progress);
        Assert.Equal(filesBefore, Directory.GetFiles(_dir.Path).Order(StringComparer.Ordinal));
        Assert.Equal(["keep"], CatalogClones().Select(c => c.Name));
    }

    [Fact]
    public void NewPrismClone_UnknownGolden_TerminatingObjectNotFound()
    {
        ErrorRecord e = _shell.RunTerminating("New-PrismClone nope -Name x");

        PrismShell.AssertError(e, "PrismGoldenNotFound", ErrorCategory.ObjectNotFound);
        Assert.False(File.Exists(_dir.File("x.vhdx")));
    }

    [Fact]
    public void NewPrismClone_NameTaken_ResourceExistsAndNoNewFiles()
    {
        AddGolden();
        _shell.Run("New-PrismClone base -Name a");
        Directory.CreateDirectory(_dir.File("other"));

        ErrorRecord e = _shell.RunTerminating("New-PrismClone base -Name b, a -Directory other");

        PrismShell.AssertError(e, "PrismCloneExists", ErrorCategory.ResourceExists);
        Assert.Empty(Directory.GetFiles(_dir.File("other")));
        Assert.Equal(["a"], CatalogClones().Select(c => c.Name));
    }

    [Fact]
    public void NewPrismClone_GoldenModifiedAfterSealing_PermissionDenied()
    {
        AddGolden();
        if (OperatingSystem.IsWindows())
        {
            File.SetAttributes(_golden, File.GetAttributes(_golden) & ~FileAttributes.ReadOnly);
        }
        else
        {
            File.SetUnixFileMode(_golden, File.GetUnixFileMode(_golden) | UnixFileMode.UserWrite);
        }

        PrismShell.WriteDisk(_golden, 1 << 20, PrismShell.Pattern(4096, 11));

        ErrorRecord e = _shell.RunTerminating("New-PrismClone base -Name late");

        PrismShell.AssertError(e, "PrismGoldenModified", ErrorCategory.PermissionDenied);
        Assert.Contains("was modified", e.Exception.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("late.vhdx")));
    }

    [Fact]
    public void GetPrismClone_ShowsDivergence_WildcardsAndNotFound()
    {
        AddGolden();
        _shell.Run("New-PrismClone base -Name web1, web2, db1");
        byte[] data = PrismShell.Pattern(1 << 20, 12);
        PrismShell.WriteDisk(_dir.File("web2.vhdx"), 0, data);

        List<PrismClone> web = _shell.All<PrismClone>("Get-PrismClone web*");
        Assert.Equal(["web1", "web2"], web.Select(c => c.Name).Order(StringComparer.Ordinal));
        PrismClone web2 = web.Single(c => c.Name == "web2");
        using (VhdxDisk d = VhdxDisk.Open(web2.Path))
        {
            Assert.Equal(d.GetAllocatedBytes(), web2.AllocatedBytes);
        }

        Assert.True(web2.AllocatedBytes >= data.Length);
        Assert.True(web2.DivergencePercent > 0);
        Assert.Equal(0, web.Single(c => c.Name == "web1").AllocatedBytes);
        Assert.Equal(3, _shell.All<PrismClone>("Get-PrismClone").Count);

        Assert.Empty(_shell.Run("Get-PrismClone ghost"));
        PrismShell.AssertError(Assert.Single(_shell.Errors), "PrismCloneNotFound", ErrorCategory.ObjectNotFound);
    }

    [Fact]
    public void ResetPrismClone_DiscardsChanges_WhatIfKeepsThem()
    {
        AddGolden();
        _shell.Run("New-PrismClone base -Name r1");
        string clone = _dir.File("r1.vhdx");
        PrismShell.WriteDisk(clone, 0, PrismShell.Pattern(4096, 13));

        _shell.Run("Reset-PrismClone r1 -WhatIf");
        Assert.Equal(PrismShell.Pattern(4096, 13), PrismShell.ReadDisk(clone, 0, 4096));

        PrismClone reset = _shell.Single<PrismClone>("Reset-PrismClone -Name r1 -Confirm:$false -PassThru");
        Assert.Equal(0, reset.AllocatedBytes);
        Assert.Equal(PrismShell.Pattern(256 * 1024, 10).AsSpan(0, 4096).ToArray(), PrismShell.ReadDisk(clone, 0, 4096));
        Assert.Equal(["r1"], CatalogClones().Select(c => c.Name));
    }

    [Fact]
    public void RemovePrismClone_PipelineRemovesFilesAndRecords_WhatIfKeepsThem()
    {
        AddGolden();
        _shell.Run("New-PrismClone base -Name web1, web2, db1");

        _shell.Run("Get-PrismClone web* | Remove-PrismClone -WhatIf");
        Assert.Equal(3, CatalogClones().Count);
        Assert.True(File.Exists(_dir.File("web1.vhdx")));

        _shell.Run("Get-PrismClone web* | Remove-PrismClone -Confirm:$false");
        Assert.Empty(_shell.Errors);
        Assert.Equal(["db1"], CatalogClones().Select(c => c.Name));
        Assert.False(File.Exists(_dir.File("web1.vhdx")));
        Assert.False(File.Exists(_dir.File("web2.vhdx")));
        Assert.True(File.Exists(_dir.File("db1.vhdx")));
        Assert.True(File.Exists(_golden));

        // A relative file path resolves against the PowerShell location ($dir), not the test process's directory.
        Assert.NotEqual(_dir.Path, Environment.CurrentDirectory);
        _shell.Run("Remove-PrismClone db1.vhdx -Confirm:$false");
        Assert.Empty(_shell.Errors);
        Assert.Empty(CatalogClones());
        Assert.False(File.Exists(_dir.File("db1.vhdx")));
    }

    [Fact]
    public void RemovePrismClone_UnknownAndParentOfOthers_ErrorPerItem()
    {
        AddGolden();
        _shell.Run("New-PrismClone base -Name mid; New-PrismClone mid -Name leaf, x");

        _shell.Run("Remove-PrismClone ghost, mid, x -Confirm:$false");

        Assert.Equal(2, _shell.Errors.Count);
        PrismShell.AssertError(_shell.Errors[0], "PrismCloneNotFound", ErrorCategory.ObjectNotFound);
        PrismShell.AssertError(_shell.Errors[1], "PrismCloneHasChildren", ErrorCategory.InvalidOperation);
        Assert.Equal(["leaf", "mid"], CatalogClones().Select(c => c.Name));
        Assert.False(File.Exists(_dir.File("x.vhdx")));
    }

    [Fact]
    public void SealedGolden_MergeResetRemove_RefusedWithWhyAndGoldenUnchanged()
    {
        AddGolden();
        _shell.Run("New-PrismClone base -Name c1");
        PrismShell.WriteDisk(_dir.File("c1.vhdx"), 0, PrismShell.Pattern(4096, 14));
        string goldenHash = PrismShell.Sha256(_golden);

        _shell.Run("Merge-PrismDisk c1.vhdx -Confirm:$false");
        ErrorRecord merge = Assert.Single(_shell.Errors);
        PrismShell.AssertError(merge, "PrismGoldenSealed", ErrorCategory.PermissionDenied);
        Assert.Contains("sealed golden", merge.Exception.Message, StringComparison.Ordinal);

        _shell.Run("Merge-PrismDisk base.vhdx -Confirm:$false");
        PrismShell.AssertError(Assert.Single(_shell.Errors), "PrismGoldenSealed", ErrorCategory.PermissionDenied);

        _shell.Run("Reset-PrismClone base -Confirm:$false");
        ErrorRecord reset = Assert.Single(_shell.Errors);
        PrismShell.AssertError(reset, "PrismGoldenSealed", ErrorCategory.PermissionDenied);
        Assert.Contains("never modified", reset.Exception.Message, StringComparison.Ordinal);

        _shell.Run("Remove-PrismClone base -Confirm:$false");
        PrismShell.AssertError(Assert.Single(_shell.Errors), "PrismGoldenSealed", ErrorCategory.PermissionDenied);

        Assert.Equal(goldenHash, PrismShell.Sha256(_golden));
        Assert.True(VhdxDisk.IsSealed(_golden));
        Assert.Equal(PrismShell.Pattern(4096, 14), PrismShell.ReadDisk(_dir.File("c1.vhdx"), 0, 4096));
        Assert.Equal(["c1"], CatalogClones().Select(c => c.Name));
    }

    [Fact]
    public void MergePrismDisk_CloneOfClone_MergesIntoParentClone_WhatIfDoesNot()
    {
        AddGolden();
        _shell.Run("New-PrismClone base -Name mid; New-PrismClone mid -Name top");
        byte[] data = PrismShell.Pattern(128 * 1024, 15);
        PrismShell.WriteDisk(_dir.File("top.vhdx"), 1 << 20, data);
        string goldenHash = PrismShell.Sha256(_golden);

        _shell.Run("Merge-PrismDisk top.vhdx -WhatIf");
        Assert.True(File.Exists(_dir.File("top.vhdx")));
        Assert.Equal(["mid", "top"], CatalogClones().Select(c => c.Name));

        PrismDiskInfo merged = _shell.Single<PrismDiskInfo>("Merge-PrismDisk -Path top.vhdx -Confirm:$false -PassThru");

        Assert.Equal(_dir.File("mid.vhdx"), merged.Path);
        Assert.False(File.Exists(_dir.File("top.vhdx")));
        Assert.Equal(["mid"], CatalogClones().Select(c => c.Name));
        Assert.Equal(data, PrismShell.ReadDisk(_dir.File("mid.vhdx"), 1 << 20, data.Length));
        Assert.Equal(goldenHash, PrismShell.Sha256(_golden));
    }

    [Fact]
    public void MergePrismDisk_ACloneThatIsAParent_IsRefusedWhateverItsPermissionBits()
    {
        AddGolden();
        _shell.Run("New-PrismClone base -Name a1; New-PrismClone a1 -Name b1; New-PrismClone a1 -Name b2");
        string a1 = _dir.File("a1.vhdx");
        File.SetAttributes(a1, File.GetAttributes(a1) & ~FileAttributes.ReadOnly);
        string before = PrismShell.Sha256(a1);

        _shell.Run("Merge-PrismDisk a1.vhdx -Confirm:$false");
        ErrorRecord e = Assert.Single(_shell.Errors);
        PrismShell.AssertError(e, "PrismProtectedPath", ErrorCategory.PermissionDenied);
        Assert.Contains("the parent of clone", e.Exception.Message, StringComparison.Ordinal);
        Assert.Equal(before, PrismShell.Sha256(a1));
        Assert.Equal(["a1", "b1", "b2"], CatalogClones().Select(c => c.Name));
    }

    [Fact]
    public void AddPrismCloneToVM_NoHyperV_TerminatingResourceUnavailable()
    {
        AddGolden();
        _shell.Run("New-PrismClone base -Name vmdisk");

        ErrorRecord e = _shell.RunTerminating("Add-PrismCloneToVM -Name vmdisk -VMName test-vm -ControllerType Ide");

        PrismShell.AssertError(e, "PrismHyperVUnavailable", ErrorCategory.ResourceUnavailable);
        Assert.Contains("Hyper-V is not available on this host", e.Exception.Message, StringComparison.Ordinal);
        Assert.Equal(_dir.File("vmdisk.vhdx"), e.TargetObject);

        ErrorRecord missing = _shell.RunTerminating("Add-PrismCloneToVM -Name ghost -VMName test-vm");
        PrismShell.AssertError(missing, "PrismCloneNotFound", ErrorCategory.ObjectNotFound);
    }
}
