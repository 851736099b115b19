using Prism.Disks.Guest;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;

namespace Prism.Fleet.Files;

/// <summary>The volume a file command reads, and the other readable volumes it could have read instead.</summary>
/// <param name="Volume">The chosen volume.</param>
/// <param name="Partition">Its partition (number 0 for an unpartitioned disk).</param>
/// <param name="Readable">Every readable volume of the disk, in partition order (more than one without an explicit choice: say which was used).</param>
/// <param name="Chosen">True when the caller named the partition.</param>
public sealed record GuestVolumeChoice(IGuestVolume Volume, GuestPartition Partition, IReadOnlyList<GuestPartition> Readable, bool Chosen)
{
    /// <summary>True when the disk holds several readable volumes and none was named: the first one was taken.</summary>
    public bool Ambiguous => !Chosen && Readable.Count > 1;
}

/// <summary>
/// What <c>prism fs ls</c> and <c>Get-PrismFile</c> share: opening a disk (VHDX chain or raw image), choosing its volume,
/// listing a directory through <see cref="IGuestVolume"/> and naming file types and ids as both print them.
/// </summary>
public static class GuestFileListing
{
    /// <summary>
    /// Opens <paramref name="path"/>: a VHDX with its parent chain when it starts with the VHDX signature, else the file as a
    /// raw image. Dispose the result when it is <see cref="IDisposable"/>.
    /// </summary>
    /// <exception cref="IOException">The file cannot be opened, or a VHDX (or its chain) is unreadable.</exception>
    public static IDiskSource OpenDisk(string path)
    {
        // FileDiskSource opens without blocking and only regular files, so a FIFO named here cannot hang the command.
        var raw = new FileDiskSource(path);
        Span<byte> sig = stackalloc byte[8];
        if (raw.Read(sig, 0) < 8 || !sig.SequenceEqual("vhdxfile"u8))
        {
            return raw;
        }

        raw.Dispose();
        return VhdxDisk.Open(path);
    }

    /// <summary>
    /// The volume of <paramref name="layout"/> to read: partition <paramref name="partition"/> when given, else the only
    /// readable one, else the first readable one (<see cref="GuestVolumeChoice.Ambiguous"/>).
    /// </summary>
    /// <param name="layout">The disk's partitions.</param>
    /// <param name="diskName">The disk's name for messages.</param>
    /// <param name="partition">Partition number (1, 2, ...), or null to choose.</param>
    /// <exception cref="ArgumentException">The disk has no partition <paramref name="partition"/>.</exception>
    /// <exception cref="IOException">The partition (or the disk) holds no volume Prism reads.</exception>
    public static GuestVolumeChoice SelectVolume(GuestDisk layout, string diskName, int? partition)
    {
        ArgumentNullException.ThrowIfNull(layout);
        List<GuestPartition> readable = [.. layout.Partitions.Where(p => p.Volume is not null)];
        bool partitioned = layout.Partitions is not [{ Number: 0 }];
        if (partition is int number)
        {
            if (!partitioned)
            {
                throw new ArgumentException($"{diskName} has no partition table, so there is no partition {number}");
            }

            GuestPartition p = layout.Partitions.FirstOrDefault(x => x.Number == number)
                ?? throw new ArgumentException($"{diskName} has no partition {number} (partitions: {Describe(layout)})");
            return p.Volume is null ? throw new IOException($"{diskName} {p}") : new GuestVolumeChoice(p.Volume, p, readable, true);
        }

        if (readable.Count == 0)
        {
            throw new IOException($"{diskName} has no NTFS or ext2/3/4 volume ({Describe(layout)})");
        }

        return new GuestVolumeChoice(readable[0].Volume!, readable[0], readable, false);
    }

    /// <summary>"partition 1 ext4, partition 2 ntfs": the readable volumes as a note names them.</summary>
    public static string DescribeReadable(GuestVolumeChoice choice)
    {
        ArgumentNullException.ThrowIfNull(choice);
        return string.Join(", ", choice.Readable.Select(p => $"partition {p.Number} {GuestFileSystems.DisplayName(p.FileSystem)}"));
    }

    /// <summary>
    /// <paramref name="path"/> itself when it names a file, else every path under the directory (every path of a
    /// hard-linked file), in walk order.
    /// </summary>
    /// <param name="volume">The volume.</param>
    /// <param name="path">A file or directory inside the volume ("/" for the root).</param>
    /// <param name="recursive">Descend into subdirectories.</param>
    /// <param name="onError">Receives each entry that could not be read (it is skipped).</param>
    /// <param name="cancellationToken">Checked once per entry.</param>
    /// <exception cref="FileNotFoundException"><paramref name="path"/> does not exist.</exception>
    /// <exception cref="Disks.Errors.DiskFormatException">The directory itself (or one on its path) cannot be read.</exception>
    public static IReadOnlyList<GuestFileEntry> List(IGuestVolume volume, string path, bool recursive, Action<GuestEnumerationError>? onError,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(volume);
        ArgumentNullException.ThrowIfNull(path);
        GuestFileEntry target = volume.Find(path) ?? throw new FileNotFoundException($"no such file or directory: {path}", path);
        if (!target.IsDirectory)
        {
            return [target];
        }

        var entries = new List<GuestFileEntry>();
        volume.Visit((in GuestFileView f) => entries.Add(f.ToEntry()), target.Path, recursive, onError, cancellationToken);
        return entries;
    }

    /// <summary>The type as <c>prism fs ls --json</c> writes it: file, directory, symlink, fifo, chardev, blockdev or socket.</summary>
    public static string TypeName(GuestFileType type) => type switch
    {
        GuestFileType.Directory => "directory",
        GuestFileType.Symlink => "symlink",
        GuestFileType.Fifo => "fifo",
        GuestFileType.CharacterDevice => "chardev",
        GuestFileType.BlockDevice => "blockdev",
        GuestFileType.Socket => "socket",
        _ => "file",
    };

    /// <summary>The name of a file's id: "mftRecord" on NTFS, "inode" on ext2/3/4.</summary>
    public static string IdName(GuestFileSystem fileSystem) => fileSystem == GuestFileSystem.Ntfs ? "mftRecord" : "inode";

    private static string Describe(GuestDisk layout) => string.Join("; ", layout.Partitions.Select(p => p.ToString()));
}
