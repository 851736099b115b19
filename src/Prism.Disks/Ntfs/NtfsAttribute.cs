using System.Collections.Immutable;

namespace Prism.Disks.Ntfs;

/// <summary>
/// An attribute stream: one attribute record as found in a file record (NTFS "attribute header" + resident value or
/// non-resident run list), or a non-resident stream merged from the pieces several records hold (see
/// <see cref="NtfsFile.GetStream"/>; a stream of one piece is that piece itself).
/// </summary>
internal sealed class NtfsAttribute
{
    public const ushort FlagCompressed = 0x0001;
    public const ushort FlagEncrypted = 0x4000;
    public const ushort FlagSparse = 0x8000;

    public required NtfsAttributeType Type { get; init; }

    public required string Name { get; init; }

    public required ushort Flags { get; init; }

    /// <summary>The record holding the attribute (for a merged stream: its first piece's).</summary>
    public required long RecordNumber { get; init; }

    /// <summary>Sequence number of that record when it was read.</summary>
    public required ushort RecordSequence { get; init; }

    /// <summary>Where the attribute starts inside its (fixed-up) record.</summary>
    public required int RecordOffset { get; init; }

    public required bool IsResident { get; init; }

    /// <summary>
    /// Resident value, copied out of the record; empty when <see cref="IsValueDeferred"/> (the value is then read from
    /// its record when the stream is opened: <see cref="MasterFileTable.OpenStream"/>).
    /// </summary>
    public ReadOnlyMemory<byte> Value { get; init; }

    /// <summary>Offset of the resident value inside the record.</summary>
    public int ValueOffset { get; init; }

    public long StartVcn { get; init; }

    public long LastVcn { get; init; }

    public int CompressionUnitLog2 { get; init; }

    /// <summary>Allocated bytes; for a resident value its length.</summary>
    public long AllocatedSize { get; init; }

    /// <summary>Logical size in bytes; for a resident value its length.</summary>
    public long DataSize { get; init; }

    /// <summary>Bytes written so far (the rest reads as zeros); for a resident value its length.</summary>
    public long InitializedSize { get; init; }

    public ImmutableArray<DataRun> Runs { get; init; } = [];

    /// <summary>
    /// Resident $DATA values are not copied when a record is parsed: a directory walk meets one per small file and
    /// rarely reads it. Every other resident value is (index roots, attribute lists, labels, reparse data).
    /// </summary>
    public bool IsValueDeferred => IsResident && Type == NtfsAttributeType.Data;

    public bool IsCompressed => (Flags & FlagCompressed) != 0 && !IsResident;

    // A resident value is never compressed, sparse or encrypted, whatever its flags say.
    public bool IsSparse => (Flags & FlagSparse) != 0 && !IsResident;

    public bool IsEncrypted => (Flags & FlagEncrypted) != 0 && !IsResident;

    public long MappedClusters => Runs.IsDefaultOrEmpty ? 0 : Runs[^1].NextVcn;

    /// <summary>
    /// The attribute laid out in <paramref name="a"/>, of record <paramref name="recordNumber"/> with sequence number
    /// <paramref name="sequence"/>: a resident one with <paramref name="value"/> (empty for a deferred $DATA value).
    /// </summary>
    public static NtfsAttribute FromLayout(in AttributeLayout a, long recordNumber, ushort sequence, string name, ReadOnlyMemory<byte> value) =>
        new()
        {
            Type = a.Type,
            Name = name,
            Flags = a.Flags,
            RecordNumber = recordNumber,
            RecordSequence = sequence,
            RecordOffset = a.Position,
            IsResident = a.IsResident,
            ValueOffset = a.ValueOffset,
            Value = value,
            // A resident layout has no VCNs or compression unit; its sizes are the value's length.
            StartVcn = a.StartVcn,
            LastVcn = a.LastVcn,
            CompressionUnitLog2 = a.CompressionUnitLog2,
            AllocatedSize = a.IsResident ? a.DataSize : a.AllocatedSize,
            DataSize = a.DataSize,
            InitializedSize = a.IsResident ? a.DataSize : a.InitializedSize,
            Runs = a.IsResident || a.Runs.IsDefault ? [] : a.Runs,
        };
}
