using Prism.Disks.IO;

namespace Prism.Disks.Guest;

/// <summary>What one range of a stream's sector map holds.</summary>
public enum GuestExtentKind
{
    /// <summary>Allocated, written content read from <see cref="GuestExtent.DiskOffset"/>.</summary>
    Data = 0,

    /// <summary>Allocated but unwritten (ext4 unwritten extents, NTFS clusters past the initialized size): reads as zeros.</summary>
    Unwritten,

    /// <summary>Not allocated (sparse): reads as zeros; <see cref="GuestExtent.DiskOffset"/> is -1.</summary>
    Hole,

    /// <summary>Stored inside the file record or inode (NTFS resident value, ext4 inline data).</summary>
    Resident,
}

/// <summary>One range of a stream: <see cref="Length"/> bytes at <see cref="FileOffset"/>, lying at <see cref="DiskOffset"/>.</summary>
/// <param name="FileOffset">Offset inside the stream.</param>
/// <param name="Length">Length in bytes.</param>
/// <param name="DiskOffset">Where the bytes lie on the disk; -1 for a hole.</param>
/// <param name="Kind">Data, unwritten, hole or resident.</param>
public readonly record struct GuestExtent(long FileOffset, long Length, long DiskOffset, GuestExtentKind Kind);

/// <summary>One stream's sector map.</summary>
/// <param name="Name">Stream name; empty for the unnamed stream.</param>
/// <param name="Size">Logical size.</param>
/// <param name="IsCompressed">True when the extents are compressed clusters (NTFS LZNT1): they cover the stream's compressed units.</param>
/// <param name="Extents">Ranges in stream order.</param>
public sealed record GuestStreamLayout(string Name, long Size, bool IsCompressed, IReadOnlyList<GuestExtent> Extents);

/// <summary>A file's sector map: where its own metadata lies and where each stream's content lies (disk offsets).</summary>
/// <param name="Metadata">The MFT records, or the inode and its extent-tree / indirect blocks (and, for ext directories, their blocks).</param>
/// <param name="Streams">One entry per stream, as <see cref="GuestFileEntry.Streams"/>.</param>
public sealed record GuestFileLayout(IReadOnlyList<ByteRange> Metadata, IReadOnlyList<GuestStreamLayout> Streams);
