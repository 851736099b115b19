namespace Prism.Provisioner.HyperV;

/// <summary>A Hyper-V operation failed: the message names the operation, the code and Hyper-V's description.</summary>
public sealed class HyperVOperationException : IOException
{
    internal HyperVOperationException(string operation, HyperVErrorSource source, int code, string? description, Exception? inner = null)
        : base(Compose(operation, source, code, description), inner)
    {
        Operation = operation;
        ErrorSource = source;
        Code = code;
        Description = description;
    }

    /// <summary>What was attempted, e.g. <c>AddResourceSettings (synthetic disk drive)</c>.</summary>
    public string Operation { get; }

    /// <summary>Where <see cref="Code"/> came from.</summary>
    public HyperVErrorSource ErrorSource { get; }

    /// <summary>The return value, job ErrorCode or CIM status; 0 for <see cref="HyperVErrorSource.Prism"/>.</summary>
    public int Code { get; }

    /// <summary>Hyper-V's own text (job ErrorDescription, CIM message), if any.</summary>
    public string? Description { get; }

    private static string Compose(string operation, HyperVErrorSource source, int code, string? description)
    {
        string what = source switch
        {
            HyperVErrorSource.Prism => operation,
            HyperVErrorSource.ReturnValue => $"{operation} returned {code} ({HyperVReturnCodes.Describe(code)})",
            HyperVErrorSource.Job when code == 0 => $"{operation}: job failed",
            HyperVErrorSource.Job => $"{operation}: job failed with error {code} ({HyperVReturnCodes.Describe(code)})",
            HyperVErrorSource.Cim => $"{operation}: CIM error {code}",
            _ => operation,
        };
        return string.IsNullOrWhiteSpace(description) ? what : $"{what}: {description.Trim()}";
    }
}
