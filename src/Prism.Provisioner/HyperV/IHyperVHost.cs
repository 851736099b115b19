namespace Prism.Provisioner.HyperV;

/// <summary>
/// The Hyper-V WMI v2 calls Prism makes, one member per query or method. The Windows implementation is
/// <see cref="MiHyperVHost"/>; tests use a fake. Methods return raw return values and job handles; waiting,
/// retrying and interpreting codes happen in platform-neutral code (<see cref="HyperVDiskService"/>).
/// </summary>
internal interface IHyperVHost : IHyperVJobSource, IDisposable
{
    /// <summary>Msvm_ComputerSystem instances whose ElementName equals <paramref name="name"/>, with their realized settings.</summary>
    IReadOnlyList<HyperVVirtualMachine> FindVirtualMachines(string name);

    /// <summary>
    /// The VM's resource settings of one class and ResourceSubType (controllers, drives, disks), in the
    /// provider's enumeration order.
    /// </summary>
    IReadOnlyList<HyperVResourceSetting> GetResourceSettings(HyperVVirtualMachine vm, string className, string resourceSubType);

    /// <summary>Msvm_VirtualSystemManagementService.AddResourceSettings(AffectedConfiguration = the VM's settings, ResourceSettings).</summary>
    HyperVMethodResult AddResourceSettings(HyperVVirtualMachine vm, IReadOnlyList<string> embeddedInstances);

    /// <summary>Msvm_VirtualSystemManagementService.RemoveResourceSettings(ResourceSettings = references to the settings at these object paths).</summary>
    HyperVMethodResult RemoveResourceSettings(IReadOnlyList<string> settingPaths);

    /// <summary>Msvm_ImageManagementService.CreateVirtualHardDisk(VirtualDiskSettingData = embedded instance).</summary>
    HyperVMethodResult CreateVirtualHardDisk(string embeddedInstance);
}
