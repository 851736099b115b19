using Prism.Scanner.Fleet;

namespace Prism.Fleet.Reports;

/// <summary>What the scan of one disk found and what it cost (one entry of <see cref="FleetScanReport"/>).</summary>
public sealed class DiskScanReport
{
    /// <summary>The disk's path.</summary>
    public required string Path { get; init; }

    /// <summary>Findings, sorted by path, stream, signature.</summary>
    public required IReadOnlyList<FindingReport> Findings { get; init; }

    /// <summary>Bytes read through the disk (metadata and content).</summary>
    public long BytesRead { get; init; }

    /// <summary>Bytes whose verdict came from the parent without being read.</summary>
    public long BytesInherited { get; init; }

    /// <summary>Bytes of this disk's own divergent ranges.</summary>
    public long DivergentBytes { get; init; }

    /// <summary>File streams scanned (read).</summary>
    public int StreamsScanned { get; init; }

    /// <summary>File streams whose verdict was inherited.</summary>
    public int StreamsInherited { get; init; }

    /// <summary>Wall-clock seconds.</summary>
    public double Seconds { get; init; }

    /// <summary>For a clone: skipped because it and the signatures are unchanged since a clean scan. For the parent:
    /// its verdicts came from the verdict store.</summary>
    public bool Cached { get; init; }

    /// <summary>Files or structures that could not be scanned.</summary>
    public required IReadOnlyList<string> Errors { get; init; }

    /// <summary>One line per partition: the file system found and how it was read (file by file, walk reused, or raw).</summary>
    public IReadOnlyList<string> Volumes { get; init; } = [];

    internal static DiskScanReport From(DiskReport d, bool cached) => new()
    {
        Path = d.Path,
        Findings = [.. d.Findings.Select(f => new FindingReport(f.Path, f.Stream, f.Signature, f.Offset, f.Partition) { DiskOffset = f.DiskOffset })],
        BytesRead = d.BytesRead,
        BytesInherited = d.BytesInherited,
        DivergentBytes = d.DivergentBytes,
        StreamsScanned = d.StreamsScanned,
        StreamsInherited = d.StreamsInherited,
        Seconds = d.Seconds,
        Cached = cached,
        Errors = [.. d.Errors],
        Volumes = [.. d.Volumes],
    };
}
