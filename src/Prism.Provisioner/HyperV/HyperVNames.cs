namespace Prism.Provisioner.HyperV;

/// <summary>WMI namespace, class, method, parameter and property names of the Hyper-V WMI v2 provider (one place for all of them).</summary>
internal static class HyperVNames
{
    public const string Namespace = @"root\virtualization\v2";
    public const string QueryDialect = "WQL";

    /// <summary>Class names (learn.microsoft.com, "Hyper-V WMI provider (V2)").</summary>
    public static class Classes
    {
        public const string ComputerSystem = "Msvm_ComputerSystem";
        public const string VirtualSystemSettingData = "Msvm_VirtualSystemSettingData";
        public const string VirtualSystemSettingDataComponent = "Msvm_VirtualSystemSettingDataComponent";
        public const string ResourceAllocationSettingData = "Msvm_ResourceAllocationSettingData";
        public const string StorageAllocationSettingData = "Msvm_StorageAllocationSettingData";
        public const string VirtualHardDiskSettingData = "Msvm_VirtualHardDiskSettingData";
        public const string VirtualSystemManagementService = "Msvm_VirtualSystemManagementService";
        public const string ImageManagementService = "Msvm_ImageManagementService";
        public const string ConcreteJob = "Msvm_ConcreteJob";
    }

    /// <summary>Method names.</summary>
    public static class Methods
    {
        public const string AddResourceSettings = "AddResourceSettings";
        public const string RemoveResourceSettings = "RemoveResourceSettings";
        public const string CreateVirtualHardDisk = "CreateVirtualHardDisk";
    }

    /// <summary>Method parameter names.</summary>
    public static class Parameters
    {
        public const string AffectedConfiguration = "AffectedConfiguration";
        public const string ResourceSettings = "ResourceSettings";
        public const string ResultingResourceSettings = "ResultingResourceSettings";
        public const string VirtualDiskSettingData = "VirtualDiskSettingData";
        public const string Job = "Job";
    }

    /// <summary>Property names used in queries, settings and jobs.</summary>
    public static class Properties
    {
        public const string InstanceId = "InstanceID";
        public const string Name = "Name";
        public const string ElementName = "ElementName";
        public const string VirtualSystemIdentifier = "VirtualSystemIdentifier";
        public const string VirtualSystemType = "VirtualSystemType";
        public const string ResourceType = "ResourceType";
        public const string ResourceSubType = "ResourceSubType";
        public const string Parent = "Parent";
        public const string Address = "Address";
        public const string AddressOnParent = "AddressOnParent";
        public const string HostResource = "HostResource";
        public const string JobState = "JobState";
        public const string ErrorCode = "ErrorCode";
        public const string ErrorDescription = "ErrorDescription";
        public const string PercentComplete = "PercentComplete";

        // Msvm_VirtualHardDiskSettingData (all read/write): Type uint16, Format uint16, Path string, ParentPath string,
        // MaxInternalSize uint64, BlockSize uint32, LogicalSectorSize uint32, PhysicalSectorSize uint32.
        public const string Type = "Type";
        public const string Format = "Format";
        public const string Path = "Path";
        public const string ParentPath = "ParentPath";
        public const string MaxInternalSize = "MaxInternalSize";
        public const string BlockSize = "BlockSize";
        public const string LogicalSectorSize = "LogicalSectorSize";
        public const string PhysicalSectorSize = "PhysicalSectorSize";
    }

    /// <summary>ResourceSubType values of the resource allocation settings we touch.</summary>
    public static class SubTypes
    {
        public const string IdeController = "Microsoft:Hyper-V:Emulated IDE Controller";
        public const string ScsiController = "Microsoft:Hyper-V:Synthetic SCSI Controller";
        public const string SyntheticDiskDrive = "Microsoft:Hyper-V:Synthetic Disk Drive";
        public const string VirtualHardDisk = "Microsoft:Hyper-V:Virtual Hard Disk";
    }

    /// <summary>CIM_ResourceAllocationSettingData.ResourceType values (DMTF): 17 Disk Drive, 31 Logical Disk.</summary>
    public static class ResourceTypes
    {
        public const ushort DiskDrive = 17;
        public const ushort LogicalDisk = 31;
    }

    /// <summary>Msvm_VirtualSystemSettingData.VirtualSystemType of a VM's active (realized) configuration.</summary>
    public const string RealizedVirtualSystemType = "Microsoft:Hyper-V:System:Realized";
}
