using Prism.Disks.Guest;
using Prism.Disks.IO;

namespace Prism.Disks.Ext4;

/// <summary>
/// One path to an inode (a hard-linked file has one entry per path, all with the same <see cref="Inode"/>).
/// Immutable; read its content with <see cref="Ext4Volume.OpenFile"/>.
/// </summary>
public sealed class Ext4FileEntry
{
    internal Ext4FileEntry(string path, uint parentInode, ByteRange entryRange, Ext4Inode record)
    {
        Path = path;
        ParentInode = parentInode;
        EntryRange = entryRange;
        Record = record;
        Type = record.Type.GetValueOrDefault(); // ReadInode rejects a mode with no file type
        Size = (long)Math.Min(record.Size, long.MaxValue);
    }

    internal Ext4Inode Record { get; }

    /// <summary>Path from the volume root with '/' separators, starting with '/'; "/" for the root.</summary>
    public string Path { get; }

    /// <summary>The last path component (empty for the root).</summary>
    public string Name => Path[(Path.LastIndexOf('/') + 1)..];

    /// <summary>Inode number.</summary>
    public uint Inode => Record.Number;

    /// <summary>
    /// Inode number of the directory this path's name lives in (the root's own for the root); 0 for an entry made from a
    /// walk's path by <see cref="Guest.IGuestVolume.FindEntry"/>, which reads only the file's inode.
    /// </summary>
    public uint ParentInode { get; }

    /// <summary>File type from i_mode.</summary>
    public GuestFileType Type { get; }

    /// <summary>True for directories.</summary>
    public bool IsDirectory => Type == GuestFileType.Directory;

    /// <summary>Size in bytes (i_size); 0 for devices, FIFOs and sockets.</summary>
    public long Size { get; }

    /// <summary>Hard link count.</summary>
    public int LinkCount => Record.LinksCount;

    /// <summary>Permission and special bits of i_mode (the low 12 bits).</summary>
    public int Permissions => Record.Mode & 0xFFF;

    /// <summary>Owner user id.</summary>
    public uint Uid => Record.Uid;

    /// <summary>Owner group id.</summary>
    public uint Gid => Record.Gid;

    /// <summary>Last content modification time.</summary>
    public DateTimeOffset ModifiedTime => Record.ModifiedTime;

    /// <summary>Where the inode record lies, in bytes from the volume start.</summary>
    public ByteRange InodeRange => new(Record.VolumeOffset, Record.RecordSize);

    /// <summary>
    /// The directory block (or, for an inline directory, the parent's inode record) that holds this path's name; empty
    /// for the root.
    /// </summary>
    public ByteRange EntryRange { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Path} (inode {Inode}, {Type}, {Size} bytes)";
}
