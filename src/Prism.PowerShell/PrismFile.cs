using Prism.Disks.Guest;
using Prism.Fleet.Files;

namespace Prism.PowerShell;

/// <summary>One stream of a <see cref="PrismFile"/>: the unnamed content stream ("") or an NTFS named stream.</summary>
/// <param name="Name">Stream name; empty for the unnamed stream.</param>
/// <param name="Size">Logical size in bytes.</param>
public sealed record PrismFileStream(string Name, long Size);

/// <summary>
/// One path inside a guest volume as Get-PrismFile shows it: the fields of <c>prism fs ls --json</c> (Path, IsDirectory,
/// Type, Size, Inode or MftRecord, Streams) plus where it was found.
/// </summary>
public sealed class PrismFile
{
    private PrismFile(GuestFileEntry entry, GuestFileSystem fileSystem, string disk, int partition)
    {
        Path = entry.Path;
        IsDirectory = entry.IsDirectory;
        Type = GuestFileListing.TypeName(entry.Type);
        Size = entry.Size;
        bool ntfs = fileSystem == GuestFileSystem.Ntfs;
        MftRecord = ntfs ? entry.Id : null;
        Inode = ntfs ? null : entry.Id;
        Streams = [.. entry.Streams.Select(s => new PrismFileStream(s.Name, s.Size))];
        LinkCount = entry.LinkCount;
        ModifiedTime = entry.ModifiedTime;
        FileSystem = GuestFileSystems.DisplayName(fileSystem);
        Disk = disk;
        Partition = partition;
    }

    /// <summary>Path from the volume root with '/' separators, starting with '/'.</summary>
    public string Path { get; }

    /// <summary>True for directories.</summary>
    public bool IsDirectory { get; }

    /// <summary>file, directory, symlink, fifo, chardev, blockdev or socket.</summary>
    public string Type { get; }

    /// <summary>Size of the unnamed stream (ext: of the content, for every type).</summary>
    public long Size { get; }

    /// <summary>The inode number (ext2/3/4), else null.</summary>
    public long? Inode { get; }

    /// <summary>The MFT record number (NTFS), else null.</summary>
    public long? MftRecord { get; }

    /// <summary>The streams holding content (NTFS: every $DATA stream; ext: one for a regular file).</summary>
    public IReadOnlyList<PrismFileStream> Streams { get; }

    /// <summary>Hard link count.</summary>
    public int LinkCount { get; }

    /// <summary>Last content modification time.</summary>
    public DateTimeOffset ModifiedTime { get; }

    /// <summary>The volume's file system: ntfs, ext2, ext3 or ext4.</summary>
    public string FileSystem { get; }

    /// <summary>The disk file (VHDX or raw image) read.</summary>
    public string Disk { get; }

    /// <summary>The partition number (Linux numbering), 0 for an unpartitioned disk.</summary>
    public int Partition { get; }

    /// <summary>The entry of <paramref name="choice"/>'s volume.</summary>
    internal static PrismFile From(GuestFileEntry entry, GuestVolumeChoice choice, string disk) =>
        new(entry, choice.Volume.FileSystem, disk, choice.Partition.Number);

    /// <inheritdoc />
    public override string ToString() => Path;
}
