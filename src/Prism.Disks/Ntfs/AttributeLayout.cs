using System.Collections.Immutable;

namespace Prism.Disks.Ntfs;

/// <summary>One checked attribute of a <see cref="RecordLayout"/>; offsets are from the start of the record.</summary>
internal struct AttributeLayout
{
    public NtfsAttributeType Type;
    public ushort Flags;

    /// <summary>Where the attribute header starts.</summary>
    public int Position;

    public int NameOffset;

    /// <summary>Name length in UTF-16 code units.</summary>
    public int NameLength;

    public bool IsResident;

    /// <summary>Resident value's offset (its length is <see cref="DataSize"/>).</summary>
    public int ValueOffset;

    public long StartVcn;
    public long LastVcn;
    public int CompressionUnitLog2;
    public long AllocatedSize;

    /// <summary>Logical size; for a resident value its length.</summary>
    public long DataSize;

    public long InitializedSize;
    public ImmutableArray<DataRun> Runs;

    public readonly bool IsCompressed => (Flags & NtfsAttribute.FlagCompressed) != 0 && !IsResident;

    public readonly long MappedClusters => Runs.IsDefaultOrEmpty ? 0 : Runs[^1].NextVcn;
}
