namespace Prism.Provisioner.HyperV;

/// <summary>WMI namespace, class and method names of the Hyper-V WMI v2 provider (one place for all of them).</summary>
internal static class HyperVNames
{
    public const string Namespace = @"root\virtualization\v2";
}
