namespace Prism.Disks.Guest;

/// <summary>The file system (or container) found at the start of a partition or an unpartitioned disk.</summary>
public enum GuestFileSystem
{
    /// <summary>No magic Prism recognizes (free space, an unknown file system, or zeros).</summary>
    Unknown = 0,

    /// <summary>NTFS (read file by file).</summary>
    Ntfs,

    /// <summary>ext2 (no journal, no ext4 features; read file by file).</summary>
    Ext2,

    /// <summary>ext3 (a journal, no ext4 features; read file by file).</summary>
    Ext3,

    /// <summary>ext4 (read file by file).</summary>
    Ext4,

    /// <summary>XFS: recognized, not supported (scanned raw).</summary>
    Xfs,

    /// <summary>btrfs: recognized, not supported (scanned raw).</summary>
    Btrfs,

    /// <summary>An LVM2 physical volume: recognized, not supported (scanned raw).</summary>
    Lvm2,

    /// <summary>Linux swap: recognized, not supported (scanned raw).</summary>
    Swap,

    /// <summary>A BitLocker-encrypted volume: recognized, not supported (scanned raw, which sees only ciphertext).</summary>
    BitLocker,

    /// <summary>A LUKS-encrypted volume: recognized, not supported (scanned raw, which sees only ciphertext).</summary>
    Luks,

    /// <summary>ReFS: recognized, not supported (scanned raw).</summary>
    ReFS,
}
