namespace Prism.Provisioner;

/// <summary>An operation was refused or failed; the message says why (sealed golden, clones exist, name taken, ...).</summary>
public class ProvisionerException : IOException
{
    /// <summary>Creates the exception with a stable error id (e.g. "PrismGoldenSealed").</summary>
    public ProvisionerException(string errorId, string message, Exception? inner = null)
        : base(message, inner) => ErrorId = errorId;

    /// <summary>Stable identifier, used as the PowerShell ErrorRecord id.</summary>
    public string ErrorId { get; }
}
