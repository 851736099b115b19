namespace Prism.Provisioner.HyperV;

/// <summary>This host cannot run Hyper-V operations: not Windows, no Hyper-V WMI namespace, or no access to it.</summary>
public sealed class HyperVUnavailableException : NotSupportedException
{
    internal const string Prefix = "Hyper-V is not available on this host: ";

    internal HyperVUnavailableException(string reason, Exception? inner = null)
        : base(Prefix + reason, inner)
    {
    }
}
