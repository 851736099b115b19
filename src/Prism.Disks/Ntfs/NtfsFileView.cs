namespace Prism.Disks.Ntfs;

/// <summary>
/// One file or directory as <see cref="NtfsVolume.Visit"/> passes it to its visitor: what an <see cref="NtfsFileEntry"/>
/// says of it, read where the walk left it. Valid only during the visitor's call (the path and the sector map live in
/// buffers the walk reuses); <see cref="ToEntry"/> makes an entry to keep, to read streams from or to look up later.
/// </summary>
public readonly ref struct NtfsFileView
{
    // A file made from an entry reads its fields there; a plain file's are in the walk's slot (not copied).
    private static readonly PlainFile s_noPlainFile;
    private readonly NtfsVolume _volume;
    private readonly SectorMapBuffer _map;
    private readonly NtfsFileEntry? _entry;
    private readonly ref readonly PlainFile _plain;

    internal NtfsFileView(NtfsVolume volume, SectorMapBuffer map, ReadOnlySpan<char> path, ref readonly PlainFile plain)
    {
        _volume = volume;
        _map = map;
        _plain = ref plain;
        Path = path;
    }

    internal NtfsFileView(NtfsVolume volume, SectorMapBuffer map, NtfsFileEntry entry)
    {
        _volume = volume;
        _map = map;
        _entry = entry;
        _plain = ref s_noPlainFile;
        Path = entry.Path;
    }

    /// <summary>Path from the volume root with '/' separators, starting with '/' (as <see cref="NtfsFileEntry.Path"/>).</summary>
    public ReadOnlySpan<char> Path { get; }

    /// <summary>The last path component.</summary>
    public ReadOnlySpan<char> Name => Path[(Path.LastIndexOf('/') + 1)..];

    /// <summary>True for directories.</summary>
    public bool IsDirectory => _entry is { IsDirectory: true };

    /// <summary>True when the file carries a $REPARSE_POINT attribute.</summary>
    public bool IsReparsePoint => _entry is { IsReparsePoint: true };

    /// <summary>MFT record number of the base file record.</summary>
    public long RecordNumber => _entry?.RecordNumber ?? _plain.RecordNumber;

    /// <summary>Sequence number of the base file record.</summary>
    public ushort SequenceNumber => _entry?.SequenceNumber ?? _plain.SequenceNumber;

    /// <summary>MFT record number of the directory this name lives in.</summary>
    public long ParentRecordNumber => _entry?.ParentRecordNumber ?? _plain.ParentRecordNumber;

    /// <summary>Flags from $STANDARD_INFORMATION.</summary>
    public NtfsFileAttributes Attributes => _entry?.Attributes ?? _plain.Times.Attributes;

    /// <summary>Last content modification time (UTC).</summary>
    public DateTime LastWriteTime => _entry?.LastWriteTime ?? StandardInformation.ToDateTime(_plain.Times.Modified);

    /// <summary>Size of the unnamed $DATA stream (0 for directories and files without one).</summary>
    public long Size => _entry?.Size ?? (_plain.HasStream ? _plain.Stream.DataSize : 0);

    /// <summary>Number of $DATA streams (as <see cref="NtfsFileEntry.Streams"/>).</summary>
    public int StreamCount => _entry?.StreamCount ?? (_plain.HasStream ? 1 : 0);

    /// <summary>Name of stream <paramref name="index"/>; empty for the unnamed stream.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not a stream of the file.</exception>
    public string StreamName(int index)
    {
        CheckStream(index);
        return _entry is null ? string.Empty : _entry.StreamData(index).Name;
    }

    /// <summary>Logical size of stream <paramref name="index"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not a stream of the file.</exception>
    public long StreamSize(int index)
    {
        CheckStream(index);
        return _entry is null ? _plain.Stream.DataSize : _entry.StreamData(index).DataSize;
    }

    /// <summary>True when stream <paramref name="index"/> is stored inside its MFT record.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not a stream of the file.</exception>
    public bool IsStreamResident(int index)
    {
        CheckStream(index);
        return _entry is null ? _plain.Stream.IsResident : _entry.StreamData(index).IsResident;
    }

    /// <summary>The file's sector map (as <see cref="NtfsVolume.GetExtents"/> gives it), valid until the visitor returns. Needs no I/O.</summary>
    public NtfsSectorMap GetSectorMap()
    {
        if (_entry is null)
        {
            _volume.Map(_plain, _map);
        }
        else
        {
            _volume.Map(_entry, _map);
        }

        return new NtfsSectorMap(_map);
    }

    /// <summary>The file as an <see cref="NtfsFileEntry"/> (a new one per call for most files), to keep or to read streams from.</summary>
    public NtfsFileEntry ToEntry() => _entry ?? NtfsVolume.CreateEntry(_plain, Path.ToString());

    private void CheckStream(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, StreamCount);
    }
}
