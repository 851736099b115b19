using System.Collections.Immutable;
using Prism.Disks.IO;

namespace Prism.Disks.Ntfs;

/// <summary>
/// A file or directory of an <see cref="NtfsWalkSnapshot"/> under one of its names (a hard-linked file appears once per
/// name): what <see cref="NtfsVolume.Visit"/> says of it, with its sector map.
/// </summary>
public sealed class NtfsSnapshotFile
{
    private readonly NtfsWalkSnapshot.Record _record;

    internal NtfsSnapshotFile(string path, NtfsWalkSnapshot.Record record, long parentRecordNumber)
    {
        Path = path;
        _record = record;
        ParentRecordNumber = parentRecordNumber;
    }

    /// <summary>Path from the volume root with '/' separators, starting with '/'.</summary>
    public string Path { get; }

    /// <summary>MFT record number of the base file record.</summary>
    public long RecordNumber => _record.Number;

    /// <summary>Sequence number of the base file record.</summary>
    public ushort SequenceNumber => _record.Sequence;

    /// <summary>MFT record number of the directory this name lives in.</summary>
    public long ParentRecordNumber { get; }

    /// <summary>True for directories.</summary>
    public bool IsDirectory => _record.IsDirectory;

    /// <summary>True when the file carries a $REPARSE_POINT attribute.</summary>
    public bool IsReparsePoint => _record.IsReparsePoint;

    /// <summary>Size of the unnamed $DATA stream (0 for directories and files without one).</summary>
    public long Size
    {
        get
        {
            foreach (NtfsSnapshotStream s in _record.Streams)
            {
                if (s.Name.Length == 0)
                {
                    return s.Size;
                }
            }

            return 0;
        }
    }

    /// <summary>Byte ranges (on the underlying disk) of the base and extension file records.</summary>
    public ImmutableArray<ByteRange> MftRecords => _record.MftRecords;

    /// <summary>The $DATA streams, unnamed first then by ordinal name, with their sector maps.</summary>
    public ImmutableArray<NtfsSnapshotStream> Streams => _record.Streams;

    /// <inheritdoc />
    public override string ToString() =>
        $"{Path} record {RecordNumber}/{SequenceNumber} parent {ParentRecordNumber}{(IsDirectory ? " dir" : "")}{(IsReparsePoint ? " reparse" : "")} "
        + $"mft [{string.Join(' ', MftRecords)}] {string.Join("; ", Streams)}";
}
