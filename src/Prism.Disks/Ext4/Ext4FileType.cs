namespace Prism.Disks.Ext4;

/// <summary>The type of an inode, from the format bits of i_mode.</summary>
public enum Ext4FileType
{
    /// <summary>A mode this reader does not recognize.</summary>
    Unknown = 0,

    /// <summary>A regular file.</summary>
    File,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A symbolic link.</summary>
    Symlink,

    /// <summary>A named pipe; never read.</summary>
    Fifo,

    /// <summary>A character device; never read.</summary>
    CharacterDevice,

    /// <summary>A block device; never read.</summary>
    BlockDevice,

    /// <summary>A Unix socket; never read.</summary>
    Socket,
}
