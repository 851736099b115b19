namespace Prism.Disks.Partitions;

/// <summary>How a disk is partitioned.</summary>
public enum PartitionScheme
{
    /// <summary>No partition table: the whole disk is one volume.</summary>
    None,

    /// <summary>Master Boot Record, with primary and extended/logical partitions.</summary>
    Mbr,

    /// <summary>GUID Partition Table (UEFI), behind a protective MBR.</summary>
    Gpt,
}
