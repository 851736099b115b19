namespace Prism.Provisioner.HyperV;

/// <summary>Msvm_VirtualHardDiskSettingData.Type: the kind of virtual hard disk to create.</summary>
public enum VirtualHardDiskType
{
    /// <summary>Fixed size: all blocks allocated up front (Type 2).</summary>
    Fixed = 2,

    /// <summary>Dynamically expanding (Type 3).</summary>
    Dynamic = 3,

    /// <summary>Differencing: a child of <see cref="VirtualHardDiskSettings.ParentPath"/> (Type 4).</summary>
    Differencing = 4,
}
