namespace Prism.Provisioner.HyperV;

/// <summary>The kind of storage controller a disk drive is attached to.</summary>
public enum HyperVControllerType
{
    /// <summary>Synthetic SCSI controller (64 locations, hot-add on running VMs).</summary>
    Scsi,

    /// <summary>Emulated IDE controller (generation 1 VMs; 2 locations; VM must be off).</summary>
    Ide,
}
