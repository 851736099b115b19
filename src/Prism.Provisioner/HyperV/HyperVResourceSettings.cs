using System.Globalization;

namespace Prism.Provisioner.HyperV;

/// <summary>The embedded resource-allocation instances AddResourceSettings takes to attach a VHDX to a VM.</summary>
internal static class HyperVResourceSettings
{
    /// <summary>A Msvm_ResourceAllocationSettingData for a synthetic disk drive at <paramref name="location"/> on a controller.</summary>
    public static CimXmlInstance DiskDrive(string controllerPath, int location)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(controllerPath);
        ArgumentOutOfRangeException.ThrowIfNegative(location);
        return new CimXmlInstance(HyperVNames.Classes.ResourceAllocationSettingData)
            .Set(HyperVNames.Properties.ResourceType, HyperVNames.ResourceTypes.DiskDrive)
            .Set(HyperVNames.Properties.ResourceSubType, HyperVNames.SubTypes.SyntheticDiskDrive)
            .Set(HyperVNames.Properties.Parent, controllerPath)
            .Set(HyperVNames.Properties.AddressOnParent, location.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>A Msvm_StorageAllocationSettingData that inserts the virtual hard disk file into a drive.</summary>
    public static CimXmlInstance VirtualHardDisk(string drivePath, string diskPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(drivePath);
        ArgumentException.ThrowIfNullOrWhiteSpace(diskPath);
        return new CimXmlInstance(HyperVNames.Classes.StorageAllocationSettingData)
            .Set(HyperVNames.Properties.ResourceType, HyperVNames.ResourceTypes.LogicalDisk)
            .Set(HyperVNames.Properties.ResourceSubType, HyperVNames.SubTypes.VirtualHardDisk)
            .Set(HyperVNames.Properties.Parent, drivePath)
            .SetArray(HyperVNames.Properties.HostResource, [diskPath]);
    }
}
