using System.Collections.Immutable;

namespace Prism.Disks.Ntfs;

/// <summary>A file or directory found on an NTFS volume, under one of its names (a hard-linked file appears once per name).</summary>
public sealed class NtfsFileEntry
{
    private readonly NtfsAttribute? _soleStream;
    private IReadOnlyList<NtfsStreamInfo>? _streams;
    private string? _name;

    internal NtfsFileEntry(NtfsFile file, string path, long parentRecordNumber, IReadOnlyList<NtfsStreamInfo> streams,
        in StandardInformation times, uint? reparseTag)
        : this(path, parentRecordNumber, file.Base.RecordNumber, file.Base.SequenceNumber, file.Base.LinkCount, file.Base.IsDirectory,
            times, reparseTag)
    {
        ExtensionRecordNumbers = file.Extensions.IsEmpty ? [] : [.. file.Extensions.Select(x => x.RecordNumber)];
        Directory = IsDirectory ? file : null;
        _streams = streams;
    }

    // A plain file (see PlainFile): one record, no directory, at most one (unnamed) stream, whose
    // NtfsStreamInfo list is made when first asked for.
    internal NtfsFileEntry(in PlainFile file, string path, NtfsAttribute? soleStream)
        : this(path, file.ParentRecordNumber, file.RecordNumber, file.SequenceNumber, file.LinkCount, isDirectory: false, file.Times,
            reparseTag: null)
    {
        ExtensionRecordNumbers = [];
        _soleStream = soleStream;
    }

    // times: $STANDARD_INFORMATION's, or the directory entry's copy (see StandardInformation.ToDateTime for the conversion).
    private NtfsFileEntry(string path, long parentRecordNumber, long recordNumber, ushort sequenceNumber, int linkCount, bool isDirectory,
        in StandardInformation times, uint? reparseTag)
    {
        RecordNumber = recordNumber;
        SequenceNumber = sequenceNumber;
        HardLinkCount = linkCount;
        IsDirectory = isDirectory;
        Path = path;
        ParentRecordNumber = parentRecordNumber;
        Attributes = times.Attributes;
        CreationTime = StandardInformation.ToDateTime(times.Created);
        LastWriteTime = StandardInformation.ToDateTime(times.Modified);
        MftChangeTime = StandardInformation.ToDateTime(times.MftChanged);
        LastAccessTime = StandardInformation.ToDateTime(times.Accessed);
        ReparseTag = reparseTag;
    }

    /// <summary>Path from the volume root with '/' separators, starting with '/'.</summary>
    public string Path { get; }

    /// <summary>The last path component.</summary>
    public string Name => _name ??= Path[(Path.LastIndexOf('/') + 1)..];

    /// <summary>True for directories.</summary>
    public bool IsDirectory { get; }

    /// <summary>Size of the unnamed $DATA stream (0 for directories and files without one).</summary>
    public long Size
    {
        get
        {
            for (int i = 0; i < StreamCount; i++)
            {
                NtfsAttribute s = StreamData(i);
                if (s.Name.Length == 0)
                {
                    return s.DataSize;
                }
            }

            return 0;
        }
    }

    /// <summary>MFT record number of the base file record.</summary>
    public long RecordNumber { get; }

    /// <summary>Sequence number of the base file record.</summary>
    public ushort SequenceNumber { get; }

    /// <summary>Number of hard links (names) the record declares.</summary>
    public int HardLinkCount { get; }

    /// <summary>MFT record number of the directory this name lives in.</summary>
    public long ParentRecordNumber { get; }

    /// <summary>The $DATA streams (unnamed first when present, then alternate data streams).</summary>
    public IReadOnlyList<NtfsStreamInfo> Streams
    {
        get
        {
            if (_streams is null)
            {
                // Entries may be shared between threads: every caller gets the list published first.
                IReadOnlyList<NtfsStreamInfo> made = _soleStream is null ? [] : [new NtfsStreamInfo(_soleStream)];
                Interlocked.CompareExchange(ref _streams, made, null);
            }

            return _streams;
        }
    }

    /// <summary>Flags from $STANDARD_INFORMATION.</summary>
    public NtfsFileAttributes Attributes { get; }

    /// <summary>Creation time (UTC) from $STANDARD_INFORMATION.</summary>
    public DateTime CreationTime { get; }

    /// <summary>Last content modification time (UTC).</summary>
    public DateTime LastWriteTime { get; }

    /// <summary>Last MFT record change time (UTC).</summary>
    public DateTime MftChangeTime { get; }

    /// <summary>Last access time (UTC).</summary>
    public DateTime LastAccessTime { get; }

    /// <summary>The reparse tag when the file is a reparse point (symlink, junction, ...); reparse points are not followed.</summary>
    public uint? ReparseTag { get; }

    /// <summary>True when the file carries a $REPARSE_POINT attribute.</summary>
    public bool IsReparsePoint => ReparseTag is not null;

    /// <summary>The extension records holding the rest of the file's attributes (base record's $ATTRIBUTE_LIST order).</summary>
    internal ImmutableArray<long> ExtensionRecordNumbers { get; }

    /// <summary>A directory's records and attributes, for walking its index; null for files.</summary>
    internal NtfsFile? Directory { get; }

    /// <summary>How many $DATA streams the file has (as <see cref="Streams"/>, without making that list).</summary>
    internal int StreamCount => _streams?.Count ?? (_soleStream is null ? 0 : 1);

    /// <summary>$DATA stream <paramref name="index"/> in <see cref="Streams"/> order.</summary>
    internal NtfsAttribute StreamData(int index) => _streams is { } streams ? streams[index].Data : _soleStream!;

    /// <inheritdoc />
    public override string ToString() => $"{Path} ({(IsDirectory ? "dir" : Size + " bytes")}, record {RecordNumber})";
}
