using System.Text.Json.Serialization;

namespace Prism.Fleet.Reports;

/// <summary>Source-generated JSON for the report model: camelCase names, nulls written, indented.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(FleetScanReport))]
[JsonSerializable(typeof(FleetScanReportGroups))]
[JsonSerializable(typeof(DiskScanReport))]
public sealed partial class FleetJsonContext : JsonSerializerContext;
