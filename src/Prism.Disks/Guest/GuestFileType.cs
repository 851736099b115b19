namespace Prism.Disks.Guest;

/// <summary>What a path names, in any supported file system.</summary>
public enum GuestFileType
{
    /// <summary>A regular file (its streams can be read).</summary>
    File = 0,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A symbolic link (NTFS reparse points that are not directories count as files).</summary>
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
