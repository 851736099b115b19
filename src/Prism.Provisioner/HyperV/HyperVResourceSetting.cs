namespace Prism.Provisioner.HyperV;

/// <summary>One resource allocation setting of a VM (RASD or SASD) with its object path and placement properties.</summary>
internal sealed record HyperVResourceSetting(
    string Path, string InstanceId, string ResourceSubType, string? Parent, string? Address, string? AddressOnParent,
    IReadOnlyList<string> HostResource);
