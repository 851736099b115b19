using System.Text.Json;

namespace Prism.Fleet.Reports;

/// <summary>Writes a scan's reports as the JSON document both front ends produce.</summary>
public static class ReportJson
{
    /// <summary>One report alone, several as <c>{"groups": [...]}</c>.</summary>
    public static string Serialize(IReadOnlyList<FleetScanReport> reports)
    {
        ArgumentNullException.ThrowIfNull(reports);
        return reports.Count == 1
            ? JsonSerializer.Serialize(reports[0], FleetJsonContext.Default.FleetScanReport)
            : JsonSerializer.Serialize(new FleetScanReportGroups(reports), FleetJsonContext.Default.FleetScanReportGroups);
    }

    /// <summary>Writes <see cref="Serialize"/> to <paramref name="path"/> (created or replaced).</summary>
    public static void Write(string path, IReadOnlyList<FleetScanReport> reports)
    {
        ArgumentNullException.ThrowIfNull(path);
        using FileStream fs = File.Create(path);
        if (reports.Count == 1)
        {
            JsonSerializer.Serialize(fs, reports[0], FleetJsonContext.Default.FleetScanReport);
        }
        else
        {
            JsonSerializer.Serialize(fs, new FleetScanReportGroups(reports), FleetJsonContext.Default.FleetScanReportGroups);
        }
    }
}
