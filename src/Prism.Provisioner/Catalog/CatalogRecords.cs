namespace Prism.Provisioner.Catalog;

/// <summary>A registered golden image.</summary>
/// <param name="Name">Catalog name.</param>
/// <param name="Path">Full path of the VHDX file.</param>
/// <param name="DiskId">Virtual Disk ID.</param>
/// <param name="DataWriteGuid">Identity its clones link to; a change means the golden was modified.</param>
/// <param name="VirtualSize">Virtual size in bytes.</param>
/// <param name="SealedAt">When it was sealed (UTC).</param>
public sealed record GoldenImage(string Name, string Path, Guid DiskId, Guid DataWriteGuid, long VirtualSize, DateTime SealedAt);

/// <summary>A registered clone (a differencing child of a golden or of another clone).</summary>
/// <param name="Name">Catalog name.</param>
/// <param name="Path">Full path of the VHDX file.</param>
/// <param name="Golden">Name of the golden image at the root of its chain.</param>
/// <param name="ParentPath">Its immediate parent file.</param>
/// <param name="Owner">Owner or VM name, when set.</param>
/// <param name="Created">When it was created (UTC).</param>
public sealed record CloneRecord(string Name, string Path, string Golden, string ParentPath, string? Owner, DateTime Created)
{
    /// <summary>The host that created (or adopted) it; null in a catalog older than hosts (schema version 1).</summary>
    public string? Host { get; init; }
}

/// <summary>A host that works on the catalog (<see cref="CatalogHost"/>).</summary>
/// <param name="Name">Host name ($PRISM_HOST, else the machine name).</param>
/// <param name="Roots">The directories where it made clones, in order.</param>
/// <param name="Registered">First seen (UTC).</param>
/// <param name="Seen">Last seen (UTC).</param>
public sealed record HostRecord(string Name, IReadOnlyList<string> Roots, DateTime Registered, DateTime Seen);

/// <summary>One fleet-scan run recorded in the catalog.</summary>
/// <param name="Started">Start (UTC).</param>
/// <param name="Finished">End (UTC).</param>
/// <param name="ReportPath">JSON report written.</param>
/// <param name="Clones">Clones scanned.</param>
/// <param name="Findings">Findings in all.</param>
public sealed record ScanRun(DateTime Started, DateTime Finished, string? ReportPath, int Clones, int Findings);
