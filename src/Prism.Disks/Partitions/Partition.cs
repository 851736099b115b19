using Prism.Disks.IO;

namespace Prism.Disks.Partitions;

/// <summary>One partition of a disk: where it lies, its type, and a source over its bytes.</summary>
public sealed class Partition
{
    internal Partition(IDiskSource disk, int number, long startSector, long sectorCount, int sectorSize,
        byte mbrType, Guid typeGuid, Guid uniqueGuid, string name, ulong attributes, bool isLogical)
    {
        Number = number;
        StartSector = startSector;
        SectorCount = sectorCount;
        Start = startSector * sectorSize;
        Length = sectorCount * sectorSize;
        MbrType = mbrType;
        TypeGuid = typeGuid;
        UniqueGuid = uniqueGuid;
        Name = name;
        Attributes = attributes;
        IsLogical = isLogical;
        Source = new SubRangeSource(disk, Start, Length);
    }

    /// <summary>
    /// Partition number as Linux names it: MBR primaries 1-4 by slot, logical partitions from 5 in chain order;
    /// GPT entries by their 1-based index in the entry array.
    /// </summary>
    public int Number { get; }

    /// <summary>First sector (in units of the table's sector size).</summary>
    public long StartSector { get; }

    /// <summary>Number of sectors.</summary>
    public long SectorCount { get; }

    /// <summary>Byte offset of the partition on the disk.</summary>
    public long Start { get; }

    /// <summary>Length in bytes.</summary>
    public long Length { get; }

    /// <summary>MBR partition type byte (0 for GPT partitions).</summary>
    public byte MbrType { get; }

    /// <summary>GPT partition type GUID (<see cref="Guid.Empty"/> for MBR partitions).</summary>
    public Guid TypeGuid { get; }

    /// <summary>GPT unique partition GUID (<see cref="Guid.Empty"/> for MBR partitions).</summary>
    public Guid UniqueGuid { get; }

    /// <summary>GPT partition name (empty for MBR partitions).</summary>
    public string Name { get; }

    /// <summary>GPT attribute bits (0 for MBR partitions).</summary>
    public ulong Attributes { get; }

    /// <summary>True for an MBR logical partition (inside the extended partition).</summary>
    public bool IsLogical { get; }

    /// <summary>The partition's bytes.</summary>
    public IDiskSource Source { get; }

    /// <summary>The partition as a byte range of the disk.</summary>
    public ByteRange Range => new(Start, Length);

    /// <inheritdoc />
    public override string ToString() =>
        $"#{Number} start {StartSector} sectors {SectorCount} type {(TypeGuid == Guid.Empty ? $"0x{MbrType:X2}" : TypeGuid.ToString())}";
}
