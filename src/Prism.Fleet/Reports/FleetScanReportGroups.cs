namespace Prism.Fleet.Reports;

/// <summary>The JSON document of a scan over several parents (<c>--dir</c>, <c>--catalog</c>): <c>{"groups": [...]}</c>.
/// A scan of one parent is written as that parent's <see cref="FleetScanReport"/> alone.</summary>
/// <param name="Groups">One report per parent.</param>
public sealed record FleetScanReportGroups(IReadOnlyList<FleetScanReport> Groups);
