namespace Prism.Disks.Guest;

/// <summary>One stream of a file: the unnamed (default) stream or an NTFS named stream.</summary>
/// <param name="Name">Stream name; empty for the unnamed stream.</param>
/// <param name="Size">Logical size in bytes.</param>
public sealed record GuestStreamInfo(string Name, long Size);

/// <summary>
/// One path of a guest file system, kept after a walk: read its streams with <see cref="IGuestVolume.OpenStream"/> on
/// the volume that made it. Immutable.
/// </summary>
public sealed class GuestFileEntry
{
    internal GuestFileEntry(object native, string path, long id, uint generation, GuestFileType type, long size, int linkCount,
        IReadOnlyList<GuestStreamInfo> streams, DateTimeOffset modifiedTime)
    {
        Native = native;
        Path = path;
        Id = id;
        Generation = generation;
        Type = type;
        Size = size;
        LinkCount = linkCount;
        Streams = streams;
        ModifiedTime = modifiedTime;
    }

    // The file system's own entry (NtfsFileEntry, Ext4FileEntry): only the volume that made it reads it.
    internal object Native { get; }

    /// <summary>Path from the volume root with '/' separators, starting with '/'.</summary>
    public string Path { get; }

    /// <summary>The last path component.</summary>
    public string Name => Path[(Path.LastIndexOf('/') + 1)..];

    /// <summary>Identity in the file system: the MFT record number (NTFS) or the inode number (ext).</summary>
    public long Id { get; }

    /// <summary>Reuse counter of <see cref="Id"/>: the MFT record's sequence number or the inode's i_generation.</summary>
    public uint Generation { get; }

    /// <summary>What the path names.</summary>
    public GuestFileType Type { get; }

    /// <summary>True for directories.</summary>
    public bool IsDirectory => Type == GuestFileType.Directory;

    /// <summary>Size of the unnamed stream (of the content for ext directories and symlinks).</summary>
    public long Size { get; }

    /// <summary>Hard link count.</summary>
    public int LinkCount { get; }

    /// <summary>The streams that hold file content (NTFS: every $DATA stream, of files and directories; ext: one for regular files).</summary>
    public IReadOnlyList<GuestStreamInfo> Streams { get; }

    /// <summary>Last content modification time.</summary>
    public DateTimeOffset ModifiedTime { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Path} ({Type}, {Size} bytes, id {Id})";
}
