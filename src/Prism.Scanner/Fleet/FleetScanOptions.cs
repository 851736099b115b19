namespace Prism.Scanner.Fleet;

/// <summary>How to scan a fleet.</summary>
public sealed record FleetScanOptions
{
    /// <summary>Scan every clone in full, independently (the baseline to compare against).</summary>
    public bool Full { get; init; }

    /// <summary>Clones scanned at once (default: processor count).</summary>
    public int MaxParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Reuse parent verdicts and skip unchanged clones across runs.</summary>
    public IVerdictStore? Store { get; init; }

    /// <summary>Receives progress.</summary>
    public IProgress<FleetProgress>? Progress { get; init; }

    /// <summary>Follow UNC parent paths.</summary>
    public bool AllowRemoteParents { get; init; }
}
