using Prism.Disks.Guest;
using Prism.Disks.IO;

namespace Prism.Disks.Ext4;

/// <summary>ext2/3/4 as a <see cref="IGuestVolume"/>.</summary>
public sealed partial class Ext4Volume : IGuestVolume
{
    private IReadOnlyList<ByteRange>? _guestMetadata;
    private IReadOnlyList<ByteRange>? _replayed;

    /// <summary>ext2, ext3 or ext4, by the volume's features (as blkid names them).</summary>
    public GuestFileSystem FileSystem => GuestFileSystems.ClassifyExt(CompatibleFeatures, IncompatibleFeatures, ReadOnlyCompatibleFeatures);

    /// <summary><see cref="MetadataRanges"/> on the disk, sorted and coalesced.</summary>
    IReadOnlyList<ByteRange> IGuestVolume.MetadataRanges =>
        _guestMetadata ??= ByteRanges.Coalesce(MetadataRanges.Select(m => new ByteRange(m.Range.Offset + DiskOffset, m.Range.Length)));

    /// <summary>The blocks the in-memory journal replay rewrote, on the disk.</summary>
    public IReadOnlyList<ByteRange> ReplayedRanges =>
        _replayed ??= ByteRanges.Coalesce(_overlay.Keys.Select(b => new ByteRange(DiskOffset + (b * BlockSize), BlockSize)));

    /// <inheritdoc />
    void IGuestVolume.Visit(GuestFileVisitor visitor, string directory, bool recursive, Action<GuestEnumerationError>? onError,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(visitor);
        var map = new GuestMapBuffer();
        long at = DiskOffset;
        Visit((in Ext4FileView f) => visitor(new GuestFileView(f, map, at)), directory, recursive,
            onError is null ? null : e => onError(new GuestEnumerationError(e.Path, e.Inode, e.Exception)), cancellationToken);
    }

    /// <inheritdoc />
    GuestFileEntry? IGuestVolume.Find(string path) => Find(path) is { } e ? ToGuestEntry(e) : null;

    /// <inheritdoc />
    GuestFileEntry? IGuestVolume.FindEntry(GuestWalkFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (file.Id is < 1 or > uint.MaxValue || file.Id > InodeCount)
        {
            return null;
        }

        var inode = new Ext4Inode();
        ReadInode((uint)file.Id, inode, new byte[InodeSize]);
        if (inode.Generation != file.Generation || inode.Type.GetValueOrDefault() != file.Type)
        {
            return null;
        }

        ByteRange name = file.NameRange.Length == 0 ? default : new ByteRange(file.NameRange.Offset - DiskOffset, file.NameRange.Length);
        return ToGuestEntry(new Ext4FileEntry(file.Path, 0, name, inode));
    }

    /// <inheritdoc />
    IDiskSource IGuestVolume.OpenStream(GuestFileEntry entry, string stream)
    {
        Ext4FileEntry e = Native(entry);
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.Length > 0)
        {
            throw new FileNotFoundException($"{e.Path} has no stream \"{stream}\" (ext files have only their content)", e.Path);
        }

        return OpenFile(e);
    }

    /// <inheritdoc />
    byte[] IGuestVolume.ReadBytes(ByteRange range)
    {
        if (range.Offset < DiskOffset || range.End > DiskOffset + _source.Length || range.Length > 16 << 20 || range.Length < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(range), range, $"not inside the volume at 0x{DiskOffset:X} (or longer than 16 MiB)");
        }

        byte[] data = new byte[range.Length];
        ReadBytes(range.Offset - DiskOffset, data);
        return data;
    }

    /// <inheritdoc />
    GuestFileLayout IGuestVolume.GetLayout(GuestFileEntry entry)
    {
        Ext4FileEntry e = Native(entry);
        var map = new MapScratch();
        Map(e.Record, map);
        var metadata = new List<ByteRange> { new(e.InodeRange.Offset + DiskOffset, e.InodeRange.Length) };
        metadata.AddRange(map.MetadataBlocks.Select(b => new ByteRange(b.Offset + DiskOffset, b.Length)));
        var extents = map.Extents.Select(x => new GuestExtent(x.FileOffset, x.Length, x.Kind == Ext4ExtentKind.Hole ? -1 : x.VolumeOffset + DiskOffset,
            x.Kind switch
            {
                Ext4ExtentKind.Unwritten => GuestExtentKind.Unwritten,
                Ext4ExtentKind.Hole => GuestExtentKind.Hole,
                Ext4ExtentKind.Inline => GuestExtentKind.Resident,
                _ => GuestExtentKind.Data,
            })).ToArray();
        if (e.IsDirectory)
        {
            metadata.AddRange(extents.Where(x => x.Kind is GuestExtentKind.Data or GuestExtentKind.Unwritten).Select(x => new ByteRange(x.DiskOffset, x.Length)));
        }

        GuestStreamLayout[] streams = e.Type == GuestFileType.File ? [new GuestStreamLayout(string.Empty, e.Size, false, extents)] : [];
        return new GuestFileLayout(metadata, streams);
    }

    internal static GuestFileEntry ToGuestEntry(Ext4FileEntry e) =>
        new(e, e.Path, e.Inode, e.Record.Generation, e.Type, e.Size, e.LinkCount,
            e.Type == GuestFileType.File ? [new GuestStreamInfo(string.Empty, e.Size)] : [], e.ModifiedTime);

    private static Ext4FileEntry Native(GuestFileEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return entry.Native as Ext4FileEntry ?? throw new ArgumentException($"{entry.Path} was not listed by an ext2/3/4 volume", nameof(entry));
    }
}
