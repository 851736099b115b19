namespace Prism.Disks.Ntfs;

/// <summary>A file or directory found on an NTFS volume, under one of its names (a hard-linked file appears once per name).</summary>
public sealed class NtfsFileEntry
{
    internal NtfsFileEntry(NtfsFile file, string path, string name, long parentRecordNumber, IReadOnlyList<NtfsStreamInfo> streams,
        NtfsFileAttributes attributes, DateTime created, DateTime modified, DateTime mftChanged, DateTime accessed, uint? reparseTag)
    {
        File = file;
        Path = path;
        Name = name;
        ParentRecordNumber = parentRecordNumber;
        Streams = streams;
        Attributes = attributes;
        CreationTime = created;
        LastWriteTime = modified;
        MftChangeTime = mftChanged;
        LastAccessTime = accessed;
        ReparseTag = reparseTag;
    }

    /// <summary>Path from the volume root with '/' separators, starting with '/'.</summary>
    public string Path { get; }

    /// <summary>The last path component.</summary>
    public string Name { get; }

    /// <summary>True for directories.</summary>
    public bool IsDirectory => File.Base.IsDirectory;

    /// <summary>Size of the unnamed $DATA stream (0 for directories and files without one).</summary>
    public long Size
    {
        get
        {
            foreach (NtfsStreamInfo s in Streams)
            {
                if (s.Name.Length == 0)
                {
                    return s.Size;
                }
            }

            return 0;
        }
    }

    /// <summary>MFT record number of the base file record.</summary>
    public long RecordNumber => File.RecordNumber;

    /// <summary>Sequence number of the base file record.</summary>
    public ushort SequenceNumber => File.Base.SequenceNumber;

    /// <summary>Number of hard links (names) the record declares.</summary>
    public int HardLinkCount => File.Base.LinkCount;

    /// <summary>MFT record number of the directory this name lives in.</summary>
    public long ParentRecordNumber { get; }

    /// <summary>The $DATA streams (unnamed first when present, then alternate data streams).</summary>
    public IReadOnlyList<NtfsStreamInfo> Streams { get; }

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

    internal NtfsFile File { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Path} ({(IsDirectory ? "dir" : Size + " bytes")}, record {RecordNumber})";
}
