using System.Collections.Immutable;

namespace Prism.Disks.Ntfs;

/// <summary>
/// One attribute record (NTFS "attribute header" + resident value or non-resident run list) as found in a file record.
/// <see cref="RecordOffset"/> is where the attribute starts inside its (fixed-up) record.
/// </summary>
internal sealed class NtfsAttribute
{
    public const ushort FlagCompressed = 0x0001;
    public const ushort FlagEncrypted = 0x4000;
    public const ushort FlagSparse = 0x8000;

    public required NtfsAttributeType Type { get; init; }

    public required string Name { get; init; }

    public required ushort Flags { get; init; }

    public required ushort Id { get; init; }

    public required long RecordNumber { get; init; }

    public required int RecordOffset { get; init; }

    public required bool IsResident { get; init; }

    /// <summary>Resident value (a slice of the record buffer).</summary>
    public ReadOnlyMemory<byte> Value { get; init; }

    /// <summary>Offset of the resident value inside the record.</summary>
    public int ValueOffset { get; init; }

    public long StartVcn { get; init; }

    public long LastVcn { get; init; }

    public int CompressionUnitLog2 { get; init; }

    public long AllocatedSize { get; init; }

    public long DataSize { get; init; }

    public long InitializedSize { get; init; }

    public ImmutableArray<DataRun> Runs { get; init; } = [];

    public bool IsCompressed => (Flags & FlagCompressed) != 0 && !IsResident;

    public bool IsSparse => (Flags & FlagSparse) != 0;

    public long Length => IsResident ? Value.Length : DataSize;
}
