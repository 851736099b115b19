namespace Prism.Disks.Ext4;

/// <summary>The kind of a volume-wide metadata range (see <see cref="Ext4Volume.MetadataRanges"/>).</summary>
public enum Ext4MetadataKind
{
    /// <summary>The primary superblock or a backup.</summary>
    Superblock = 0,

    /// <summary>Group descriptor blocks (primary, backups, and the reserved blocks for growth).</summary>
    GroupDescriptors,

    /// <summary>A group's block bitmap.</summary>
    BlockBitmap,

    /// <summary>A group's inode bitmap.</summary>
    InodeBitmap,

    /// <summary>A group's inode table.</summary>
    InodeTable,

    /// <summary>Blocks of the internal jbd2 journal (its inode's content).</summary>
    Journal,
}
