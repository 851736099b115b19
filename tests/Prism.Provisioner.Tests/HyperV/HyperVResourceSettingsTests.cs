using Prism.Provisioner.HyperV;

namespace Prism.Provisioner.Tests.HyperV;

public sealed class HyperVResourceSettingsTests
{
    private const string Controller = @"\\HOST\root\virtualization\v2:Msvm_ResourceAllocationSettingData.InstanceID=""Microsoft:1\\83F8638B-8DCA-4152-9EDA-2CA8B33039B4\\0\\0\\D""";

    [Fact]
    public void DiskDrive_IsSyntheticDiskDriveOnController()
    {
        var root = CimXml.Parse(HyperVResourceSettings.DiskDrive(Controller, 5).ToXml());

        Assert.Equal("Msvm_ResourceAllocationSettingData", (string)root.Attribute("CLASSNAME")!);
        var p = CimXml.Properties(root);
        Assert.Equal(("uint16", "17"), (p["ResourceType"].Type, p["ResourceType"].Values![0]));
        Assert.Equal(("string", "Microsoft:Hyper-V:Synthetic Disk Drive"), (p["ResourceSubType"].Type, p["ResourceSubType"].Values![0]));
        Assert.Equal(("string", Controller), (p["Parent"].Type, p["Parent"].Values![0]));
        Assert.Equal(("string", "5"), (p["AddressOnParent"].Type, p["AddressOnParent"].Values![0]));
    }

    [Fact]
    public void VirtualHardDisk_IsStorageSettingWithHostResourceArray()
    {
        var root = CimXml.Parse(HyperVResourceSettings.VirtualHardDisk("drive-path", @"C:\VMs\a&b <x>.vhdx").ToXml());

        Assert.Equal("Msvm_StorageAllocationSettingData", (string)root.Attribute("CLASSNAME")!);
        var p = CimXml.Properties(root);
        Assert.Equal(("uint16", "31"), (p["ResourceType"].Type, p["ResourceType"].Values![0]));
        Assert.Equal("Microsoft:Hyper-V:Virtual Hard Disk", p["ResourceSubType"].Values![0]);
        Assert.Equal("drive-path", p["Parent"].Values![0]);
        Assert.Equal(("PROPERTY.ARRAY", "string"), (p["HostResource"].Element, p["HostResource"].Type));
        Assert.Equal([@"C:\VMs\a&b <x>.vhdx"], p["HostResource"].Values!);
    }
}
