namespace Prism.Provisioner.HyperV;

/// <summary>A VM (Msvm_ComputerSystem Name = GUID, ElementName) and the object path of its realized Msvm_VirtualSystemSettingData.</summary>
internal sealed record HyperVVirtualMachine(string Id, string Name, string SettingsPath);
