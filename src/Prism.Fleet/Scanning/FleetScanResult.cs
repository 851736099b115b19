using Prism.Fleet.Reports;

namespace Prism.Fleet.Scanning;

/// <summary>The outcome of a <see cref="FleetScanJob"/>: the reports and what the front end must still say.</summary>
public sealed class FleetScanResult
{
    /// <summary>One report per parent, in scan order.</summary>
    public required IReadOnlyList<FleetScanReport> Reports { get; init; }

    /// <summary>Disks whose chain could not be opened (<c>--dir</c>): each "path: reason".</summary>
    public IReadOnlyList<string> Unscannable { get; init; } = [];

    /// <summary>The timestamped report written into the report folder, if any.</summary>
    public string? ReportPath { get; init; }

    /// <summary>Problems the verdict store had during the run (errors unless the store was optional).</summary>
    public IReadOnlyList<string> StoreProblems { get; init; } = [];

    /// <summary>True when store problems are warnings (<c>--store-optional</c>).</summary>
    public bool StoreOptional { get; init; }

    /// <summary>Set when there was nothing to scan (a catalog without goldens): the message to print.</summary>
    public string? NothingToScan { get; init; }

    /// <summary>The distributed run this host worked on (<see cref="FleetScanRequest.Host"/>), as assembled when it stopped.</summary>
    public FleetRunReport? Run { get; init; }

    /// <summary>Findings in all reports.</summary>
    public int FindingCount => Reports.Sum(r => r.FindingCount());

    /// <summary>clamscan's convention: 0 clean, 1 found, 2 an error (a store problem that is not optional, a disk that
    /// could not be opened or read).</summary>
    public int ExitCode
    {
        get
        {
            bool errors = (!StoreOptional && StoreProblems.Count > 0) || Unscannable.Count > 0 || Reports.Any(r => r.HasErrors());
            return errors ? 2 : FindingCount > 0 ? 1 : 0;
        }
    }
}
