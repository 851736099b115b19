namespace Prism.Disks.Errors;

/// <summary>
/// An ext2/ext3/ext4 structure (superblock, group descriptor, inode, extent block, directory block, journal block) is
/// malformed or fails its metadata_csum checksum.
/// </summary>
public sealed class Ext4FormatException : DiskFormatException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="filePath">The volume's name or image path, when known.</param>
    /// <param name="structure">The structure, e.g. "ext4 inode 12".</param>
    /// <param name="fileOffset">Byte offset of the structure inside the volume, when known.</param>
    /// <param name="detail">What was wrong.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public Ext4FormatException(string? filePath, string structure, long? fileOffset, string detail, Exception? inner = null)
        : base(filePath, structure, fileOffset, detail, inner)
    {
    }

    /// <summary>The inode involved, when the error concerns one inode (its own record or a block it owns).</summary>
    public uint? Inode { get; init; }

    /// <summary>The block group involved, when the error concerns a group descriptor.</summary>
    public uint? Group { get; init; }
}
