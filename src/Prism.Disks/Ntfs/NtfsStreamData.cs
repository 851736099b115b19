using System.Collections.Immutable;

namespace Prism.Disks.Ntfs;

/// <summary>
/// A whole attribute stream ($DATA, $INDEX_ALLOCATION, ...) after merging its pieces across extension records:
/// resident bytes, or non-resident runs with sizes.
/// </summary>
internal sealed class NtfsStreamData
{
    public required string Name { get; init; }

    public required bool IsResident { get; init; }

    public ReadOnlyMemory<byte> ResidentValue { get; init; }

    /// <summary>Record holding the resident value and the value's offset inside it.</summary>
    public long ResidentRecordNumber { get; init; }

    public int ResidentValueOffset { get; init; }

    public ImmutableArray<DataRun> Runs { get; init; } = [];

    public long DataSize { get; init; }

    public long AllocatedSize { get; init; }

    public long InitializedSize { get; init; }

    public int CompressionUnitLog2 { get; init; }

    public bool IsCompressed { get; init; }

    public bool IsSparse { get; init; }

    public bool IsEncrypted { get; init; }

    public long MappedClusters => Runs.IsDefaultOrEmpty ? 0 : Runs[^1].NextVcn;
}
