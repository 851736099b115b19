namespace Prism.Provisioner.HyperV;

/// <summary>Attach a VHDX to a VM: which VM, which file, and where.</summary>
public sealed record HyperVAttachRequest
{
    /// <summary>The VM's display name (Msvm_ComputerSystem.ElementName).</summary>
    public required string VmName { get; init; }

    /// <summary>Full path of the VHDX, as the Hyper-V host sees it.</summary>
    public required string DiskPath { get; init; }

    /// <summary>Controller kind. Default SCSI.</summary>
    public HyperVControllerType Controller { get; init; } = HyperVControllerType.Scsi;

    /// <summary>Zero-based controller number among the VM's controllers of that kind. Default 0.</summary>
    public int ControllerNumber { get; init; }

    /// <summary>Location on the controller (AddressOnParent); null takes the first free one.</summary>
    public int? Location { get; init; }
}
