using System.Management.Automation;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.PowerShell.Tests;

public sealed class DiskCmdletTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly PrismShell _shell;

    public DiskCmdletTests() => _shell = new PrismShell(_dir);

    public void Dispose()
    {
        _shell.Dispose();
        _dir.Dispose();
    }

    private static void AssertMatchesLibrary(PrismDiskInfo info)
    {
        using VhdxDisk disk = VhdxDisk.Open(info.Path);
        Assert.Equal("VHDX", info.VhdFormat);
        Assert.Equal(disk.Type, info.VhdType);
        Assert.Equal(disk.VirtualSize, info.Size);
        Assert.Equal(disk.FileSize, info.FileSize);
        Assert.Equal(disk.BlockSize, info.BlockSize);
        Assert.Equal(disk.LogicalSectorSize, info.LogicalSectorSize);
        Assert.Equal(disk.PhysicalSectorSize, info.PhysicalSectorSize);
        Assert.Equal(disk.DiskId, info.DiskIdentifier);
        Assert.Equal(disk.DataWriteGuid, info.DataWriteGuid);
        Assert.Equal(disk.Parent?.Path, info.ParentPath);
        Assert.Equal(disk.Chain.Select(d => d.Path), info.Chain);
        Assert.Equal(disk.GetAllocatedBytes(), info.AllocatedBytes);
        Assert.False(info.Attached);
    }

    [Fact]
    public void NewPrismDisk_Dynamic_CreatesTheGeometryAsked()
    {
        PrismDiskInfo info = _shell.Single<PrismDiskInfo>(
            "New-PrismDisk -Path dyn.vhdx -SizeBytes 64MB -BlockSizeBytes 8MB -LogicalSectorSizeBytes 4096 -PhysicalSectorSizeBytes 512");

        Assert.Equal(_dir.File("dyn.vhdx"), info.Path);
        Assert.Equal(VhdxDiskType.Dynamic, info.VhdType);
        Assert.Equal(64L << 20, info.Size);
        Assert.Equal(8L << 20, info.BlockSize);
        Assert.Equal(4096, info.LogicalSectorSize);
        Assert.Equal(512, info.PhysicalSectorSize);
        Assert.Null(info.ParentPath);
        AssertMatchesLibrary(info);
    }

    [Fact]
    public void NewPrismDisk_Fixed_AllocatesEveryBlock()
    {
        PrismDiskInfo info = _shell.Single<PrismDiskInfo>("New-PrismDisk fixed.vhdx 8MB -Fixed -BlockSizeBytes 1MB");

        Assert.Equal(VhdxDiskType.Fixed, info.VhdType);
        Assert.True(info.FileSize >= 8L << 20, $"file size {info.FileSize}");
        AssertMatchesLibrary(info);
    }

    [Fact]
    public void NewPrismDisk_BadSectorSize_IsRejectedByValidation()
    {
        ErrorRecord e = _shell.RunTerminating("New-PrismDisk bad.vhdx 8MB -LogicalSectorSizeBytes 1024");

        PrismShell.AssertError(e, "ParameterArgumentValidationError", ErrorCategory.InvalidData);
        Assert.False(File.Exists(_dir.File("bad.vhdx")));
    }

    [Fact]
    public void NewPrismDisk_BadSize_WritesInvalidArgumentAndLeavesNothing()
    {
        _shell.Run("New-PrismDisk odd.vhdx 1000");

        PrismShell.AssertError(Assert.Single(_shell.Errors), "PrismInvalidArgument", ErrorCategory.InvalidArgument);
        Assert.False(File.Exists(_dir.File("odd.vhdx")));
    }

    [Fact]
    public void NewPrismDisk_ExistingFile_ResourceExistsAndFileUntouched()
    {
        string path = PrismShell.CreateDisk(_dir.File("a.vhdx"));
        string before = PrismShell.Sha256(path);

        _shell.Run("New-PrismDisk a.vhdx 16MB -Fixed");

        PrismShell.AssertError(Assert.Single(_shell.Errors), "PrismDiskExists", ErrorCategory.ResourceExists);
        Assert.Equal(before, PrismShell.Sha256(path));
    }

    [Fact]
    public void NewPrismDisk_WhatIf_CreatesNothing()
    {
        PrismShell.CreateDisk(_dir.File("parent.vhdx"));

        var output = _shell.Run("New-PrismDisk w1.vhdx 16MB -WhatIf; New-PrismDisk w2.vhdx -Differencing -ParentPath parent.vhdx -WhatIf");

        Assert.Empty(output);
        Assert.Empty(_shell.Errors);
        Assert.False(File.Exists(_dir.File("w1.vhdx")));
        Assert.False(File.Exists(_dir.File("w2.vhdx")));
    }

    [Fact]
    public void NewPrismDisk_Differencing_ChildWritesAsideAndParentIsUntouched()
    {
        string parent = PrismShell.CreateDisk(_dir.File("golden.vhdx"));
        PrismShell.WriteDisk(parent, 0, PrismShell.Pattern(1 << 20, 1));
        _shell.Run("Add-PrismGolden golden.vhdx");
        Assert.Empty(_shell.Errors);
        Assert.True(VhdxDisk.IsSealed(parent));
        string parentHash = PrismShell.Sha256(parent);

        PrismDiskInfo child = _shell.Single<PrismDiskInfo>("New-PrismDisk -Path child.vhdx -Differencing -ParentPath golden.vhdx");
        byte[] data = PrismShell.Pattern(64 * 1024, 2);
        PrismShell.WriteDisk(child.Path, 4096, data);

        Assert.Equal(VhdxDiskType.Differencing, child.VhdType);
        Assert.Equal(parent, child.ParentPath);
        Assert.Equal(parentHash, PrismShell.Sha256(parent));
        Assert.Equal(data, PrismShell.ReadDisk(child.Path, 4096, data.Length));
        Assert.Equal(PrismShell.Pattern(1 << 20, 1).AsSpan(0, 4096).ToArray(), PrismShell.ReadDisk(child.Path, 0, 4096));
        PrismDiskInfo after = _shell.Single<PrismDiskInfo>("Get-PrismDisk child.vhdx");
        Assert.True(after.AllocatedBytes >= data.Length);
        Assert.Equal([child.Path, parent], after.Chain);
        AssertMatchesLibrary(after);
    }

    [Fact]
    public void FileInfoPipeline_ToGetPrismDisk_OneObjectPerFileWithLibraryValues()
    {
        string a = PrismShell.CreateDisk(_dir.File("a.vhdx"), 32L << 20);
        VhdxDisk.Create(_dir.File("b.vhdx"), new VhdxCreateOptions
        {
            VirtualSize = 4L << 20,
            Type = VhdxDiskType.Fixed,
            BlockSize = 1L << 20,
            LogicalSectorSize = 4096,
        });
        VhdxDisk.CreateDifferencing(_dir.File("c.vhdx"), a);
        PrismShell.WriteDisk(_dir.File("c.vhdx"), 1 << 20, PrismShell.Pattern(8192, 3));
        File.WriteAllText(_dir.File("notes.txt"), "not a disk");

        List<PrismDiskInfo> disks = _shell.All<PrismDiskInfo>("[IO.DirectoryInfo]::new($dir).GetFiles('*.vhdx') | Get-PrismDisk");

        Assert.Equal(["a.vhdx", "b.vhdx", "c.vhdx"], disks.Select(d => Path.GetFileName(d.Path)).Order(StringComparer.Ordinal));
        Assert.Equal([VhdxDiskType.Dynamic, VhdxDiskType.Fixed, VhdxDiskType.Differencing],
            disks.OrderBy(d => d.Path, StringComparer.Ordinal).Select(d => d.VhdType));
        foreach (PrismDiskInfo d in disks)
        {
            AssertMatchesLibrary(d);
        }
    }

    [Fact]
    public void GetPrismDisk_MissingFile_ErrorPerItemAndOtherItemsStillOutput()
    {
        PrismShell.CreateDisk(_dir.File("a.vhdx"));

        var output = _shell.Run("Get-PrismDisk nothere.vhdx, a.vhdx");

        Assert.Equal(_dir.File("a.vhdx"), Assert.IsType<PrismDiskInfo>(Assert.Single(output).BaseObject).Path);
        PrismShell.AssertError(Assert.Single(_shell.Errors), "PrismFileNotFound", ErrorCategory.ObjectNotFound);
    }

    [Fact]
    public void GetPrismDisk_NotAVhdx_InvalidData()
    {
        File.WriteAllBytes(_dir.File("junk.vhdx"), PrismShell.Pattern(2 << 20, 4));

        Assert.Empty(_shell.Run("Get-PrismDisk junk.vhdx"));

        PrismShell.AssertError(Assert.Single(_shell.Errors), "PrismDiskFormat", ErrorCategory.InvalidData);
    }

    [Fact]
    public void GetPrismDisk_ParentDeleted_ParentMissingError()
    {
        string parent = PrismShell.CreateDisk(_dir.File("p.vhdx"));
        VhdxDisk.CreateDifferencing(_dir.File("orphan.vhdx"), parent);
        File.Delete(parent);

        _shell.Run("Get-PrismDisk orphan.vhdx");

        ErrorRecord e = Assert.Single(_shell.Errors);
        PrismShell.AssertError(e, "PrismDiskParentMissing", ErrorCategory.ObjectNotFound);
        Assert.Equal(_dir.File("orphan.vhdx"), e.TargetObject);
    }

    [Fact]
    public void TestPrismDisk_ValidAndCorrupt()
    {
        PrismShell.CreateDisk(_dir.File("good.vhdx"));
        File.WriteAllBytes(_dir.File("bad.vhdx"), PrismShell.Pattern(2 << 20, 5));

        var results = _shell.Run("Test-PrismDisk good.vhdx, bad.vhdx");
        Assert.Empty(_shell.Errors);
        Assert.Equal([true, false], results.Select(r => (bool)r.BaseObject));

        Assert.DoesNotContain(_shell.All<PrismDiskIssue>("Test-PrismDisk good.vhdx -Detailed"), i => i.Severity == VhdxCheckSeverity.Error);
        PrismDiskIssue issue = _shell.Single<PrismDiskIssue>("Test-PrismDisk bad.vhdx -Detailed");
        Assert.Equal(VhdxCheckSeverity.Error, issue.Severity);
        Assert.Equal(_dir.File("bad.vhdx"), issue.Path);
        Assert.False(string.IsNullOrWhiteSpace(issue.Message));
    }

    [Fact]
    public void TestPrismDisk_OrphanedChild_FalseWithWhy()
    {
        string parent = PrismShell.CreateDisk(_dir.File("p.vhdx"));
        VhdxDisk.CreateDifferencing(_dir.File("orphan.vhdx"), parent);
        File.Delete(parent);

        Assert.False(_shell.Single<bool>("Test-PrismDisk orphan.vhdx"));
        Assert.Contains("p.vhdx", _shell.Single<PrismDiskIssue>("Test-PrismDisk orphan.vhdx -Detailed").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TestPrismDisk_MissingFile_ObjectNotFound()
    {
        Assert.Empty(_shell.Run("Test-PrismDisk none.vhdx"));
        PrismShell.AssertError(Assert.Single(_shell.Errors), "PrismFileNotFound", ErrorCategory.ObjectNotFound);
    }
}
