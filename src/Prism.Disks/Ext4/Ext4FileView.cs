using Prism.Disks.Guest;
using Prism.Disks.IO;

namespace Prism.Disks.Ext4;

/// <summary>
/// One path as <see cref="Ext4Volume.Visit"/> passes it to its visitor. Valid only during the visitor's call (the path,
/// the inode and the sector map live in buffers the walk reuses); <see cref="ToEntry"/> makes an entry to keep.
/// </summary>
public readonly ref struct Ext4FileView
{
    private readonly Ext4Volume _volume;
    private readonly Ext4Inode _inode;
    private readonly Ext4Volume.MapScratch _map;

    internal Ext4FileView(Ext4Volume volume, Ext4Inode inode, Ext4Volume.MapScratch map, ReadOnlySpan<char> path, uint parentInode, ByteRange entryRange)
    {
        _volume = volume;
        _inode = inode;
        _map = map;
        Path = path;
        ParentInode = parentInode;
        EntryRange = entryRange;
    }

    /// <summary>Path from the volume root, starting with '/' (as <see cref="Ext4FileEntry.Path"/>).</summary>
    public ReadOnlySpan<char> Path { get; }

    /// <summary>The last path component.</summary>
    public ReadOnlySpan<char> Name => Path[(Path.LastIndexOf('/') + 1)..];

    /// <summary>Inode number.</summary>
    public uint Inode => _inode.Number;

    /// <summary>Inode number of the directory holding this name.</summary>
    public uint ParentInode { get; }

    /// <summary>File type.</summary>
    public GuestFileType Type => _inode.Type.GetValueOrDefault(); // ReadInode rejects a mode with no file type

    /// <summary>True for directories.</summary>
    public bool IsDirectory => _inode.Type == GuestFileType.Directory;

    /// <summary>Size in bytes.</summary>
    public long Size => (long)_inode.Size;

    /// <summary>Hard link count.</summary>
    public int LinkCount => _inode.LinksCount;

    /// <summary>Where the inode record lies.</summary>
    public ByteRange InodeRange => new(_inode.VolumeOffset, _inode.RecordSize);

    /// <summary>The directory block (or inline directory inode) holding this name.</summary>
    public ByteRange EntryRange { get; }

    /// <summary>
    /// The sector map (as <see cref="Ext4Volume.GetSectorMap"/>), decoded into the walk's buffer: valid until the visitor
    /// returns or calls this again.
    /// </summary>
    /// <exception cref="Errors.Ext4FormatException">The file's extent tree or block map is corrupt.</exception>
    public ReadOnlySpan<Ext4Extent> GetSectorMap()
    {
        _volume.Map(_inode, _map);
        return System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_map.Extents);
    }

    /// <summary>
    /// The extent-tree or indirect blocks of the file, decoded with the last <see cref="GetSectorMap"/> call (call that
    /// first); valid as long as its result.
    /// </summary>
    public ReadOnlySpan<ByteRange> MetadataBlocks => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_map.MetadataBlocks);

    internal uint Generation => _inode.Generation;

    internal bool HasInlineData => _inode.HasInlineData;

    /// <summary>An entry to keep (copies the path and the inode record).</summary>
    public Ext4FileEntry ToEntry() => new(Path.ToString(), ParentInode, EntryRange, _inode.Clone());
}
