using Prism.Scanner.Fleet;
using Prism.Scanner.Signatures;

namespace Prism.Fleet.Reports;

/// <summary>
/// The report of one parent and its clones, as both front ends emit it: <c>prism scan --json</c> serializes it through
/// <see cref="FleetJsonContext"/>, <c>Invoke-PrismFleetScan</c> writes it to the pipeline. Property order is the JSON
/// order (the shape of issues #2–#5).
/// </summary>
public sealed class FleetScanReport
{
    /// <summary>"fleet" (parent once, then each clone's divergence) or "full" (every clone independently).</summary>
    public required string Mode { get; init; }

    /// <summary>Engine name and version.</summary>
    public required string Engine { get; init; }

    /// <summary>Wall-clock seconds of the whole scan.</summary>
    public double Seconds { get; init; }

    /// <summary>The shared parent; <see cref="DiskScanReport.Cached"/> is true when its verdicts came from the store.</summary>
    public required DiskScanReport Parent { get; init; }

    /// <summary>One entry per clone, in the order given.</summary>
    public required IReadOnlyList<DiskScanReport> Clones { get; init; }

    /// <summary>What the built-in engine loaded (counts per database type, like <c>prism sigs info</c>); null with clamd.</summary>
    public SignatureCountsReport? Signatures { get; init; }

    /// <summary>Number of findings in the parent and every clone.</summary>
    public int FindingCount() => Parent.Findings.Count + Clones.Sum(c => c.Findings.Count);

    /// <summary>True when the parent or a clone has an error.</summary>
    public bool HasErrors() => Parent.Errors.Count > 0 || Clones.Any(c => c.Errors.Count > 0);

    /// <summary>The report model of a scanner result; <paramref name="signatures"/> is the built-in engine's database, if that was the engine.</summary>
    public static FleetScanReport From(FleetReport report, SignatureDatabase? signatures = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        return new FleetScanReport
        {
            Mode = report.Mode,
            Engine = report.Engine,
            Seconds = report.Seconds,
            Parent = DiskScanReport.From(report.Parent, report.ParentFromStore),
            Clones = [.. report.Clones.Select(c => DiskScanReport.From(c, c.Cached))],
            Signatures = signatures is null ? null : SignatureCountsReport.From(signatures),
        };
    }
}
