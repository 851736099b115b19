using System.Runtime.InteropServices;
using Prism.Disks.Ext4;
using Prism.Disks.IO;
using Prism.Disks.Ntfs;

namespace Prism.Disks.Guest;

/// <summary>
/// One path as <see cref="IGuestVolume.Visit"/> passes it to its visitor: the file system's own view, read where its
/// walk left it. Valid only during the visitor's call (the path and the sector map live in buffers the walk reuses);
/// <see cref="ToEntry"/> makes an entry to keep.
/// </summary>
public readonly ref struct GuestFileView
{
    private readonly NtfsFileView _ntfs;
    private readonly Ext4FileView _ext4;
    private readonly GuestMapBuffer? _ext4Map;
    private readonly long _diskOffset;

    internal GuestFileView(NtfsFileView ntfs)
    {
        _ntfs = ntfs;
    }

    internal GuestFileView(Ext4FileView ext4, GuestMapBuffer map, long diskOffset)
    {
        _ext4 = ext4;
        _ext4Map = map;
        _diskOffset = diskOffset;
    }

    /// <summary>Path from the volume root with '/' separators, starting with '/'.</summary>
    public ReadOnlySpan<char> Path => _ext4Map is null ? _ntfs.Path : _ext4.Path;

    /// <summary>The last path component.</summary>
    public ReadOnlySpan<char> Name => Path[(Path.LastIndexOf('/') + 1)..];

    /// <summary>The MFT record number (NTFS) or the inode number (ext).</summary>
    public long Id => _ext4Map is null ? _ntfs.RecordNumber : _ext4.Inode;

    /// <summary>The MFT record's sequence number or the inode's i_generation.</summary>
    public uint Generation => _ext4Map is null ? _ntfs.SequenceNumber : _ext4.Generation;

    /// <summary>What the path names.</summary>
    public GuestFileType Type => _ext4Map is null
        ? (_ntfs.IsDirectory ? GuestFileType.Directory : _ntfs.IsReparsePoint ? GuestFileType.Symlink : GuestFileType.File)
        : _ext4.Type;

    /// <summary>True for directories.</summary>
    public bool IsDirectory => _ext4Map is null ? _ntfs.IsDirectory : _ext4.IsDirectory;

    /// <summary>Size of the unnamed stream (ext: of the content, for every type).</summary>
    public long Size => _ext4Map is null ? _ntfs.Size : _ext4.Size;

    /// <summary>
    /// The directory block holding this path's name (ext; on the disk), empty when the file system keeps names in the
    /// file's own record (NTFS).
    /// </summary>
    public ByteRange NameRange => _ext4Map is null || _ext4.EntryRange.Length == 0 ? default
        : new ByteRange(_ext4.EntryRange.Offset + _diskOffset, _ext4.EntryRange.Length);

    /// <summary>Number of content streams (NTFS: $DATA streams of files and directories; ext: 1 for a regular file, else 0).</summary>
    public int StreamCount => _ext4Map is null ? _ntfs.StreamCount : _ext4.Type == GuestFileType.File ? 1 : 0;

    /// <summary>Name of stream <paramref name="index"/>; empty for the unnamed stream.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not a stream of the file.</exception>
    public string StreamName(int index)
    {
        if (_ext4Map is null)
        {
            return _ntfs.StreamName(index);
        }

        CheckExt4Stream(index);
        return string.Empty;
    }

    /// <summary>Logical size of stream <paramref name="index"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not a stream of the file.</exception>
    public long StreamSize(int index)
    {
        if (_ext4Map is null)
        {
            return _ntfs.StreamSize(index);
        }

        CheckExt4Stream(index);
        return _ext4.Size;
    }

    /// <summary>True when stream <paramref name="index"/> lies inside the file's record (NTFS resident, ext4 inline data).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not a stream of the file.</exception>
    public bool IsStreamResident(int index)
    {
        if (_ext4Map is null)
        {
            return _ntfs.IsStreamResident(index);
        }

        CheckExt4Stream(index);
        return _ext4.HasInlineData;
    }

    /// <summary>
    /// The file's sector map, valid until the visitor returns or calls this again. NTFS needs no I/O for it; ext reads
    /// the extent-tree or indirect blocks of the file.
    /// </summary>
    /// <exception cref="Errors.DiskFormatException">The file's mapping is corrupt.</exception>
    public GuestSectorMap GetSectorMap()
    {
        if (_ext4Map is null)
        {
            return new GuestSectorMap(_ntfs.GetSectorMap());
        }

        GuestMapBuffer b = _ext4Map;
        b.Clear();
        ReadOnlySpan<Ext4Extent> extents = _ext4.GetSectorMap();
        ByteRange inode = _ext4.InodeRange;
        b.Metadata.Add(new ByteRange(inode.Offset + _diskOffset, inode.Length));
        foreach (ByteRange m in _ext4.MetadataBlocks)
        {
            b.Metadata.Add(new ByteRange(m.Offset + _diskOffset, m.Length));
        }

        bool directory = _ext4.IsDirectory;
        foreach (Ext4Extent e in extents)
        {
            if (e.Kind is Ext4ExtentKind.Data or Ext4ExtentKind.Unwritten)
            {
                // Unwritten blocks are kept: writing them changes the extent, but they are the file's from then on.
                (directory ? b.Metadata : b.Content).Add(new ByteRange(e.VolumeOffset + _diskOffset, e.Length));
            }
            else if (e.Kind == Ext4ExtentKind.Inline && !directory)
            {
                b.Content.Add(new ByteRange(e.VolumeOffset + _diskOffset, e.Length));
            }
        }

        b.StreamCount = StreamCount;
        return new GuestSectorMap(b);
    }

    /// <summary>An entry to keep (copies the path and what the entry needs to read the file).</summary>
    public GuestFileEntry ToEntry() => _ext4Map is null ? NtfsVolume.ToGuestEntry(_ntfs.ToEntry()) : Ext4Volume.ToGuestEntry(_ext4.ToEntry());

    private void CheckExt4Stream(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, StreamCount);
    }
}

/// <summary>
/// A file's sector map as <see cref="GuestFileView.GetSectorMap"/> gives it (disk offsets), in a buffer the walk
/// reuses: valid until the visitor returns.
/// </summary>
public readonly ref struct GuestSectorMap
{
    private readonly NtfsSectorMap _ntfs;
    private readonly GuestMapBuffer? _buffer;

    internal GuestSectorMap(NtfsSectorMap ntfs) => _ntfs = ntfs;

    internal GuestSectorMap(GuestMapBuffer buffer) => _buffer = buffer;

    /// <summary>
    /// The file's own metadata: its MFT records (NTFS), or its inode record, extent-tree / indirect blocks and, for a
    /// directory, its directory blocks (ext). A file whose metadata and content did not change is the same file.
    /// </summary>
    public ReadOnlySpan<ByteRange> Metadata => _buffer is null ? _ntfs.MftRecords : CollectionsMarshal.AsSpan(_buffer.Metadata);

    /// <summary>Number of streams (as <see cref="GuestFileView.StreamCount"/>).</summary>
    public int StreamCount => _buffer is null ? _ntfs.StreamCount : _buffer.StreamCount;

    /// <summary>
    /// Where stream <paramref name="index"/>'s content lies, in stream order: allocated ranges (unwritten ones included),
    /// or the value's place inside the record when resident; holes contribute nothing.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not a stream of the file.</exception>
    public ReadOnlySpan<ByteRange> StreamRanges(int index)
    {
        if (_buffer is null)
        {
            return _ntfs.StreamRanges(index);
        }

        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _buffer.StreamCount);
        return CollectionsMarshal.AsSpan(_buffer.Content);
    }
}

/// <summary>The walk's reusable sector-map buffer for file systems that have one stream per file.</summary>
internal sealed class GuestMapBuffer
{
    public List<ByteRange> Metadata { get; } = [];

    public List<ByteRange> Content { get; } = [];

    public int StreamCount { get; set; }

    public void Clear()
    {
        Metadata.Clear();
        Content.Clear();
        StreamCount = 0;
    }
}
