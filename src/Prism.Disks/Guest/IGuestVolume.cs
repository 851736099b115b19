using Prism.Disks.IO;

namespace Prism.Disks.Guest;

/// <summary>
/// A read-only guest file system (NTFS, ext2/3/4) as the fleet scan, <c>prism fs</c> and <c>prism diff</c> see it:
/// every path with its identity, streams and sector map; the metadata whose change may change the file list or a
/// file's layout; stream content. All ranges are in bytes of the underlying disk (volume offset + <see cref="DiskOffset"/>).
/// Implementations are thread-safe for concurrent reads.
/// </summary>
public interface IGuestVolume
{
    /// <summary>The file system.</summary>
    GuestFileSystem FileSystem { get; }

    /// <summary>Name used in error messages (image path, partition), when given.</summary>
    string? Name { get; }

    /// <summary>Offset of the volume on the disk.</summary>
    long DiskOffset { get; }

    /// <summary>Length of the volume in bytes.</summary>
    long Size { get; }

    /// <summary>
    /// Volume-wide metadata, sorted and coalesced: NTFS's boot sector and $MFT; ext's superblocks, group descriptors,
    /// bitmaps, inode tables and journal. With every file's <see cref="GuestSectorMap.Metadata"/> (records, inodes,
    /// extent-tree, indirect and directory blocks) it covers everything whose change can change the file list, a name
    /// or a file's layout.
    /// </summary>
    IReadOnlyList<ByteRange> MetadataRanges { get; }

    /// <summary>
    /// Ranges that read differently from the disk's bytes (blocks an in-memory journal replay rewrote), sorted: a
    /// comparison of raw disk bytes says nothing about them. Empty when nothing was replayed.
    /// </summary>
    IReadOnlyList<ByteRange> ReplayedRanges { get; }

    /// <summary>
    /// Walks every path under <paramref name="directory"/> and hands each to <paramref name="visitor"/> as a
    /// <see cref="GuestFileView"/>, without an object per file. A hard-linked file is visited once per path (NTFS:
    /// once per directory it is named in). File-system metadata files (NTFS's $MFT, ...) are not visited.
    /// </summary>
    /// <param name="visitor">Called once per path on the calling thread; what it throws ends the walk.</param>
    /// <param name="directory">Start directory ("/" for the root; the start itself is not visited).</param>
    /// <param name="recursive">Descend into subdirectories.</param>
    /// <param name="onError">Receives each entry that could not be read (it is skipped); null ignores them.</param>
    /// <param name="cancellationToken">Checked once per entry.</param>
    /// <exception cref="FileNotFoundException"><paramref name="directory"/> does not exist or is not a directory.</exception>
    /// <exception cref="Errors.DiskFormatException">The start directory itself cannot be read.</exception>
    void Visit(GuestFileVisitor visitor, string directory = "/", bool recursive = true, Action<GuestEnumerationError>? onError = null,
        CancellationToken cancellationToken = default);

    /// <summary>Looks a path up (NTFS case-insensitively, ext byte-wise); null when a component is missing.</summary>
    /// <exception cref="Errors.DiskFormatException">A directory on the way is corrupt.</exception>
    GuestFileEntry? Find(string path);

    /// <summary>
    /// The entry of <paramref name="file"/>, a path of a walk of this volume (or of a clone's walk patched from it),
    /// to read with <see cref="OpenStream"/>; null when the path no longer names that file. The default looks the path
    /// up (<see cref="Find"/>); ext reads only the file's inode, not the directories on its path.
    /// </summary>
    /// <exception cref="Errors.DiskFormatException">The file's record (or a directory on the way) is corrupt.</exception>
    GuestFileEntry? FindEntry(GuestWalkFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return Find(file.Path) is { } e && e.Id == file.Id && e.Generation == file.Generation ? e : null;
    }

    /// <summary>The content of one stream of <paramref name="entry"/> (the unnamed one by default) as a positional source.</summary>
    /// <exception cref="FileNotFoundException">The file has no stream of that name.</exception>
    /// <exception cref="NotSupportedException">The entry is a device, FIFO or socket (never read).</exception>
    /// <exception cref="Errors.DiskFormatException">The stream's mapping is corrupt.</exception>
    IDiskSource OpenStream(GuestFileEntry entry, string stream = "");

    /// <summary>
    /// Reads <paramref name="range"/> (disk offsets, inside the volume) as the file system sees it: through an in-memory
    /// journal replay where there is one. For comparing records and inodes between two disks.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="range"/> is not inside the volume or longer than 16 MiB.</exception>
    byte[] ReadBytes(ByteRange range);

    /// <summary>The sector map of <paramref name="entry"/>: its metadata and, per stream, extents with holes and unwritten parts marked.</summary>
    /// <exception cref="Errors.DiskFormatException">The file's mapping is corrupt.</exception>
    GuestFileLayout GetLayout(GuestFileEntry entry);

    /// <summary>
    /// The walk of a clone of the volume <paramref name="parent"/> was walked on, given the clone's divergent ranges
    /// (sorted, coalesced; disk offsets): <paramref name="parent"/> itself, patched from what diverged, or null with the
    /// reason when a full <see cref="Visit"/> is needed. The default patches nothing: it reuses the parent's walk when no
    /// metadata range it depends on diverged (and no journal replay differs), else asks for a full walk.
    /// </summary>
    /// <param name="parent">The parent's walk (<see cref="GuestWalk.Builder"/>).</param>
    /// <param name="divergent">The clone's divergent ranges.</param>
    GuestWalkResult PatchWalk(GuestWalk parent, IReadOnlyList<ByteRange> divergent) => GuestWalk.ReuseUnlessTouched(this, parent, divergent);

    /// <summary>
    /// A whole walk the file system makes itself, keeping the state its <see cref="PatchWalk"/> patches clones from
    /// (<see cref="GuestWalk.State"/>), or null when it has none: then the caller walks with <see cref="Visit"/> and a
    /// <see cref="GuestWalk.Builder"/>. Entries that cannot be read are skipped and listed in <see cref="GuestWalk.Errors"/>.
    /// </summary>
    /// <param name="cancellationToken">Checked while walking.</param>
    /// <exception cref="Errors.DiskFormatException">The root directory cannot be read.</exception>
    GuestWalk? CaptureWalk(CancellationToken cancellationToken = default) => null;

    /// <summary>
    /// The content of one stream of a file of a walk of this volume (its own, or one <see cref="PatchWalk"/> gave). The
    /// default finds the file with <see cref="FindEntry"/> (ext: its inode only); a file system may open it from the file's
    /// identity directly.
    /// </summary>
    /// <exception cref="FileNotFoundException">The path or the stream is gone.</exception>
    /// <exception cref="Errors.DiskFormatException">The file's record or mapping is corrupt.</exception>
    IDiskSource OpenWalkStream(GuestWalkFile file, string stream = "")
    {
        ArgumentNullException.ThrowIfNull(file);
        GuestFileEntry entry = FindEntry(file) ?? throw new FileNotFoundException($"{file.Path} is not on the volume", file.Path);
        return OpenStream(entry, stream);
    }
}

/// <summary>Receives one path from <see cref="IGuestVolume.Visit"/>; <paramref name="file"/> is valid only during the call.</summary>
/// <param name="file">The file, its streams and (on request) its sector map.</param>
public delegate void GuestFileVisitor(in GuestFileView file);
