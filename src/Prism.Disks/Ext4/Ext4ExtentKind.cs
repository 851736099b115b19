namespace Prism.Disks.Ext4;

/// <summary>What one range of a file's sector map holds.</summary>
public enum Ext4ExtentKind
{
    /// <summary>Allocated, written blocks: the content is read from <see cref="Ext4Extent.VolumeOffset"/>.</summary>
    Data = 0,

    /// <summary>Allocated but unwritten (preallocated) blocks: the content reads as zeros.</summary>
    Unwritten,

    /// <summary>Not allocated (a sparse hole): the content reads as zeros and <see cref="Ext4Extent.VolumeOffset"/> is -1.</summary>
    Hole,

    /// <summary>Inline data: the content lies inside the inode record (i_block or the system.data attribute).</summary>
    Inline,
}
