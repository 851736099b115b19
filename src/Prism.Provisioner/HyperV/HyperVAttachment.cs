namespace Prism.Provisioner.HyperV;

/// <summary>Where a VHDX ended up: VM, controller, location and the object paths of the new drive and disk settings.</summary>
/// <param name="VmName">The VM's display name.</param>
/// <param name="VmId">The VM's GUID (Msvm_ComputerSystem.Name).</param>
/// <param name="DiskPath">The VHDX path.</param>
/// <param name="Controller">Controller kind.</param>
/// <param name="ControllerNumber">Zero-based controller number.</param>
/// <param name="Location">Location on the controller.</param>
/// <param name="DrivePath">WMI object path of the synthetic disk drive setting.</param>
/// <param name="DiskSettingPath">WMI object path of the virtual hard disk setting, when Hyper-V reported it.</param>
public sealed record HyperVAttachment(
    string VmName, string VmId, string DiskPath, HyperVControllerType Controller, int ControllerNumber, int Location,
    string DrivePath, string? DiskSettingPath);
