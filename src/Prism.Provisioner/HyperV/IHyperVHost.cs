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

/// <summary>Reads the current state of a job a method started.</summary>
internal interface IHyperVJobSource
{
    /// <summary>The job's current JobState, ErrorCode and ErrorDescription.</summary>
    HyperVJobStatus GetJob(HyperVJobHandle job);
}

/// <summary>A VM (Msvm_ComputerSystem Name = GUID, ElementName) and the object path of its realized Msvm_VirtualSystemSettingData.</summary>
internal sealed record HyperVVirtualMachine(string Id, string Name, string SettingsPath);

/// <summary>One resource allocation setting of a VM (RASD or SASD) with its object path and placement properties.</summary>
internal sealed record HyperVResourceSetting(
    string Path, string InstanceId, string ResourceSubType, string? Parent, string? Address, string? AddressOnParent,
    IReadOnlyList<string> HostResource);

/// <summary>A job reference from a method's Job out-parameter: its class (Msvm_ConcreteJob, Msvm_StorageJob...) and key.</summary>
internal sealed record HyperVJobHandle(string ClassName, string InstanceId);

/// <summary>A method's ReturnValue, its Job out-parameter (when 4096) and ResultingResourceSettings paths (when any).</summary>
internal sealed record HyperVMethodResult(int ReturnValue, HyperVJobHandle? Job, IReadOnlyList<string> ResultingPaths)
{
    public static HyperVMethodResult Completed(params string[] resultingPaths) => new(HyperVReturnCodes.Completed, null, resultingPaths);
}

/// <summary>A snapshot of a CIM_ConcreteJob: JobState, ErrorCode, ErrorDescription and PercentComplete.</summary>
internal sealed record HyperVJobStatus(ushort JobState, int ErrorCode = 0, string? ErrorDescription = null, int? PercentComplete = null);
