namespace Prism.Scanner.Clamd;

/// <summary>clamd's verdict on one stream: "stream: OK" or "stream: Name FOUND".</summary>
/// <param name="SignatureName">The signature clamd reported (clamd reports the first match only), or null when clean.</param>
/// <param name="Reply">clamd's full reply line without the trailing NUL.</param>
public sealed record ClamdScanResult(string? SignatureName, string Reply)
{
    /// <summary>True when clamd reported a signature.</summary>
    public bool IsInfected => SignatureName is not null;
}
