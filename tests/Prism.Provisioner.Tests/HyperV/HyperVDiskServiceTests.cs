using Prism.Provisioner.HyperV;

namespace Prism.Provisioner.Tests.HyperV;

public sealed class HyperVDiskServiceTests
{
    private const string Clone = @"C:\Clones\web01 a&b.vhdx";

    private static readonly HyperVRetryOptions s_fast = new()
    {
        BaseDelay = TimeSpan.Zero,
        MaxDelay = TimeSpan.Zero,
        UseJitter = false,
        JobPollInterval = TimeSpan.Zero,
    };

    private static HyperVDiskService Service(FakeHyperVHost host) => new(host, s_fast, TimeProvider.System);

    [Fact]
    public async Task AttachAsync_Scsi_AddsDriveOnControllerThenDiskInDrive()
    {
        var host = new FakeHyperVHost();
        using var service = Service(host);

        HyperVAttachment a = await service.AttachAsync(new HyperVAttachRequest { VmName = "web01", DiskPath = Clone });

        Assert.Equal(
        [
            "FindVirtualMachines web01",
            $"GetResourceSettings {HyperVNames.SubTypes.ScsiController}",
            $"GetResourceSettings {HyperVNames.SubTypes.VirtualHardDisk}",
            $"GetResourceSettings {HyperVNames.SubTypes.SyntheticDiskDrive}",
            $"AddResourceSettings {HyperVNames.SubTypes.SyntheticDiskDrive}",
            $"AddResourceSettings {HyperVNames.SubTypes.VirtualHardDisk}",
        ], host.Calls);

        var drive = CimXml.Properties(CimXml.Parse(host.EmbeddedInstances[0]));
        Assert.Equal(host.Scsi0.Path, drive["Parent"].Values![0]);
        Assert.Equal("0", drive["AddressOnParent"].Values![0]);
        var disk = CimXml.Properties(CimXml.Parse(host.EmbeddedInstances[1]));
        Assert.Equal(a.DrivePath, disk["Parent"].Values![0]);
        Assert.Equal([Clone], disk["HostResource"].Values!);

        Assert.Equal(("web01", HyperVControllerType.Scsi, 0, 0, Clone), (a.VmName, a.Controller, a.ControllerNumber, a.Location, a.DiskPath));
        Assert.NotNull(a.DiskSettingPath);
    }

    [Fact]
    public async Task AttachAsync_NoLocation_TakesFirstFreeOnThatController()
    {
        var host = new FakeHyperVHost();
        host.Add("Msvm_ResourceAllocationSettingData", HyperVNames.SubTypes.SyntheticDiskDrive, host.Scsi0.Path, "0");
        host.Add("Msvm_ResourceAllocationSettingData", HyperVNames.SubTypes.SyntheticDiskDrive, host.Scsi0.Path, "1");
        host.Add("Msvm_ResourceAllocationSettingData", HyperVNames.SubTypes.SyntheticDiskDrive, host.Ide0.Path, "2");
        using var service = Service(host);

        HyperVAttachment a = await service.AttachAsync(new HyperVAttachRequest { VmName = "web01", DiskPath = Clone });

        Assert.Equal(2, a.Location);
    }

    [Fact]
    public async Task AttachAsync_Ide_UsesIdeControllerAndLocation()
    {
        var host = new FakeHyperVHost();
        using var service = Service(host);

        HyperVAttachment a = await service.AttachAsync(new HyperVAttachRequest
        {
            VmName = "web01",
            DiskPath = Clone,
            Controller = HyperVControllerType.Ide,
            Location = 1,
        });

        var drive = CimXml.Properties(CimXml.Parse(host.EmbeddedInstances[0]));
        Assert.Equal(host.Ide0.Path, drive["Parent"].Values![0]);
        Assert.Equal("1", drive["AddressOnParent"].Values![0]);
        Assert.Equal(1, a.Location);
    }

    [Fact]
    public async Task AttachAsync_LocationTaken_FailsBeforeAnyChange()
    {
        var host = new FakeHyperVHost();
        host.Add("Msvm_ResourceAllocationSettingData", HyperVNames.SubTypes.SyntheticDiskDrive, host.Scsi0.Path, "3");
        using var service = Service(host);

        var e = await Assert.ThrowsAsync<HyperVOperationException>(
            () => service.AttachAsync(new HyperVAttachRequest { VmName = "web01", DiskPath = Clone, Location = 3 }));

        Assert.Contains("location 3 on SCSI controller 0 of VM 'web01' is in use", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(host.Calls, c => c.StartsWith("AddResourceSettings", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AttachAsync_ControllerMissing_Fails()
    {
        var host = new FakeHyperVHost();
        using var service = Service(host);

        var e = await Assert.ThrowsAsync<HyperVOperationException>(
            () => service.AttachAsync(new HyperVAttachRequest { VmName = "web01", DiskPath = Clone, ControllerNumber = 1 }));

        Assert.Equal("VM 'web01' has 1 SCSI controller(s); there is no controller 1", e.Message);
    }

    [Fact]
    public async Task AttachAsync_VmMissingOrAmbiguous_Fails()
    {
        var host = new FakeHyperVHost();
        using var service = Service(host);

        var missing = await Assert.ThrowsAsync<HyperVOperationException>(
            () => service.AttachAsync(new HyperVAttachRequest { VmName = "db01", DiskPath = Clone }));
        host.Vms.Add(host.Vm with { Id = "other" });
        var twice = await Assert.ThrowsAsync<HyperVOperationException>(
            () => service.AttachAsync(new HyperVAttachRequest { VmName = "web01", DiskPath = Clone }));

        Assert.Equal("no virtual machine named 'db01'", missing.Message);
        Assert.StartsWith("2 virtual machines are named 'web01'", twice.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AttachAsync_AlreadyAttached_Fails()
    {
        var host = new FakeHyperVHost();
        HyperVResourceSetting drive = host.Add("Msvm_ResourceAllocationSettingData", HyperVNames.SubTypes.SyntheticDiskDrive, host.Scsi0.Path, "0");
        host.Add("Msvm_StorageAllocationSettingData", HyperVNames.SubTypes.VirtualHardDisk, drive.Path, null, null, Clone.ToUpperInvariant());
        using var service = Service(host);

        var e = await Assert.ThrowsAsync<HyperVOperationException>(
            () => service.AttachAsync(new HyperVAttachRequest { VmName = "web01", DiskPath = Clone }));

        Assert.Contains("already attached", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AttachAsync_ResultingSettingsNotReported_FindsNewDriveByLocation()
    {
        var host = new FakeHyperVHost { ReportResultingPaths = false };
        using var service = Service(host);

        HyperVAttachment a = await service.AttachAsync(new HyperVAttachRequest { VmName = "web01", DiskPath = Clone, Location = 7 });

        HyperVResourceSetting drive = host.Settings.Single(s => s.ResourceSubType == HyperVNames.SubTypes.SyntheticDiskDrive);
        Assert.Equal(drive.Path, a.DrivePath);
        Assert.Equal(drive.Path, CimXml.Properties(CimXml.Parse(host.EmbeddedInstances[1]))["Parent"].Values![0]);
        Assert.Null(a.DiskSettingPath);
    }

    [Fact]
    public async Task AttachAsync_JobsStarted_AreAwaited()
    {
        var host = new FakeHyperVHost();
        host.Jobs["j1"] = new([new(HyperVJobState.Starting), new(HyperVJobState.Running), new(HyperVJobState.Completed)]);
        host.AddOverride = subType =>
        {
            if (subType != HyperVNames.SubTypes.SyntheticDiskDrive)
            {
                return null;
            }

            HyperVResourceSetting drive = host.Add("Msvm_ResourceAllocationSettingData", subType, host.Scsi0.Path, "0");
            return new HyperVMethodResult(4096, new HyperVJobHandle("Msvm_ConcreteJob", "j1"), [drive.Path]);
        };
        using var service = Service(host);

        HyperVAttachment a = await service.AttachAsync(new HyperVAttachRequest { VmName = "web01", DiskPath = Clone });

        Assert.Equal(3, host.Calls.Count(c => c == "GetJob j1"));
        int lastPoll = host.Calls.LastIndexOf("GetJob j1");
        Assert.Equal($"AddResourceSettings {HyperVNames.SubTypes.VirtualHardDisk}", host.Calls[lastPoll + 1]);
        Assert.Equal(a.DrivePath, CimXml.Properties(CimXml.Parse(host.EmbeddedInstances[1]))["Parent"].Values![0]);
    }

    [Fact]
    public async Task AttachAsync_TransientFailure_IsRetriedThenSucceeds()
    {
        var host = new FakeHyperVHost();
        host.Responses.Enqueue(new HyperVMethodResult(32774, null, []));
        host.Responses.Enqueue(new HyperVOperationException("AddResourceSettings", HyperVErrorSource.Cim, 28, "shutting down"));
        using var service = Service(host);

        await service.AttachAsync(new HyperVAttachRequest { VmName = "web01", DiskPath = Clone });

        Assert.Equal(3, host.Calls.Count(c => c == $"AddResourceSettings {HyperVNames.SubTypes.SyntheticDiskDrive}"));
    }

    [Fact]
    public async Task AttachAsync_PermanentFailure_IsNotRetried()
    {
        var host = new FakeHyperVHost();
        host.Responses.Enqueue(new HyperVMethodResult(4, null, []));
        using var service = Service(host);

        var e = await Assert.ThrowsAsync<HyperVOperationException>(
            () => service.AttachAsync(new HyperVAttachRequest { VmName = "web01", DiskPath = Clone }));

        Assert.Equal("AddResourceSettings (synthetic disk drive) returned 4 (invalid parameter)", e.Message);
        Assert.Single(host.Calls, c => c.StartsWith("AddResourceSettings", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AttachAsync_DiskInsertFails_RemovesTheNewDrive()
    {
        var host = new FakeHyperVHost();
        host.Jobs["j2"] = new([new(HyperVJobState.Exception, 32768, "The chain of virtual hard disks is broken.")]);
        host.AddOverride = subType => subType == HyperVNames.SubTypes.VirtualHardDisk
            ? new HyperVMethodResult(4096, new HyperVJobHandle("Msvm_ConcreteJob", "j2"), [])
            : null;
        using var service = Service(host);

        var e = await Assert.ThrowsAsync<HyperVOperationException>(
            () => service.AttachAsync(new HyperVAttachRequest { VmName = "web01", DiskPath = Clone }));

        Assert.Equal(HyperVErrorSource.Job, e.ErrorSource);
        Assert.Equal("AddResourceSettings (virtual hard disk): job failed with error 32768 (failed): The chain of virtual hard disks is broken.", e.Message);
        Assert.Equal("RemoveResourceSettings drive@0", host.Calls[^1]);
        Assert.Single(host.Calls, c => c.StartsWith($"AddResourceSettings {HyperVNames.SubTypes.VirtualHardDisk}", StringComparison.Ordinal));
        Assert.DoesNotContain(host.Settings, s => s.ResourceSubType == HyperVNames.SubTypes.SyntheticDiskDrive);
    }

    [Fact]
    public async Task AttachAsync_DiskInsertAndRollbackFail_ReportsBoth()
    {
        var host = new FakeHyperVHost();
        host.AddOverride = subType =>
        {
            if (subType != HyperVNames.SubTypes.VirtualHardDisk)
            {
                return null;
            }

            host.Responses.Enqueue(new HyperVMethodResult(32773, null, [])); // for the rollback's RemoveResourceSettings
            return new HyperVMethodResult(32769, null, []);
        };
        using var service = Service(host);

        var e = await Assert.ThrowsAsync<HyperVOperationException>(
            () => service.AttachAsync(new HyperVAttachRequest { VmName = "web01", DiskPath = Clone }));

        Assert.StartsWith("AddResourceSettings (virtual hard disk) returned 32769 (access denied); removing the new empty disk drive", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("returned 32773 (invalid parameter)", e.Message, StringComparison.Ordinal);
        Assert.IsType<HyperVOperationException>(e.InnerException);
    }

    [Fact]
    public async Task DetachAsync_RemovesDiskThenItsDrive()
    {
        var host = new FakeHyperVHost();
        HyperVResourceSetting drive = host.Add("Msvm_ResourceAllocationSettingData", HyperVNames.SubTypes.SyntheticDiskDrive, host.Scsi0.Path, "4");
        host.Add("Msvm_StorageAllocationSettingData", HyperVNames.SubTypes.VirtualHardDisk, drive.Path, null, null, Clone);
        HyperVResourceSetting otherDrive = host.Add("Msvm_ResourceAllocationSettingData", HyperVNames.SubTypes.SyntheticDiskDrive, host.Scsi0.Path, "5");
        host.Add("Msvm_StorageAllocationSettingData", HyperVNames.SubTypes.VirtualHardDisk, otherDrive.Path, null, null, @"C:\other.vhdx");
        using var service = Service(host);

        int removed = await service.DetachAsync("web01", Clone.ToLowerInvariant());

        Assert.Equal(1, removed);
        Assert.Equal(["RemoveResourceSettings disk@", "RemoveResourceSettings drive@4"], host.Calls.Where(c => c.StartsWith("Remove", StringComparison.Ordinal)));
        Assert.Equal(2, host.Settings.Count(s => s.ResourceSubType is HyperVNames.SubTypes.SyntheticDiskDrive or HyperVNames.SubTypes.VirtualHardDisk));
    }

    [Fact]
    public async Task DetachAsync_NotAttached_Fails()
    {
        var host = new FakeHyperVHost();
        using var service = Service(host);

        var e = await Assert.ThrowsAsync<HyperVOperationException>(() => service.DetachAsync("web01", Clone));

        Assert.Equal($"'{Clone}' is not attached to VM 'web01'", e.Message);
    }

    [Fact]
    public async Task CreateDiskAsync_SendsEmbeddedSettingsAndWaitsForJob()
    {
        var host = new FakeHyperVHost();
        host.Responses.Enqueue(new HyperVMethodResult(4096, new HyperVJobHandle("Msvm_StorageJob", "j3"), []));
        host.Jobs["j3"] = new([new(HyperVJobState.Running), new(HyperVJobState.Completed)]);
        using var service = Service(host);

        await service.CreateDiskAsync(new VirtualHardDiskSettings
        {
            Path = @"C:\Clones\c.vhdx",
            Type = VirtualHardDiskType.Differencing,
            ParentPath = @"C:\Golden\g.vhdx",
        });

        Assert.Equal(["CreateVirtualHardDisk", "GetJob j3", "GetJob j3"], host.Calls);
        var p = CimXml.Properties(CimXml.Parse(host.EmbeddedInstances[0]));
        Assert.Equal(("4", "3", @"C:\Golden\g.vhdx"), (p["Type"].Values![0], p["Format"].Values![0], p["ParentPath"].Values![0]));
    }

    [Fact]
    public async Task CreateDiskAsync_FileInUse_RetriedUpToBoundThenFails()
    {
        var host = new FakeHyperVHost();
        for (int i = 0; i < 10; i++)
        {
            host.Responses.Enqueue(new HyperVMethodResult(32774, null, []));
        }

        using var service = new HyperVDiskService(host, s_fast with { MaxRetryAttempts = 2 }, TimeProvider.System);

        var e = await Assert.ThrowsAsync<HyperVOperationException>(() => service.CreateDiskAsync(
            new VirtualHardDiskSettings { Path = @"C:\d.vhdx", MaxInternalSize = 1 << 20 }));

        Assert.Equal(32774, e.Code);
        Assert.Equal(3, host.Calls.Count(c => c == "CreateVirtualHardDisk"));
    }

    [Fact]
    public void Dispose_DisposesHost()
    {
        var host = new FakeHyperVHost();
        Service(host).Dispose();

        Assert.True(host.Disposed);
    }
}
