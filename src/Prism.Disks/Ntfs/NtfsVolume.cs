using System.Buffers.Binary;
using System.Collections.Immutable;
using Prism.Disks.Errors;
using Prism.Disks.IO;
using Prism.Disks.Partitions;

namespace Prism.Disks.Ntfs;

/// <summary>
/// A read-only NTFS volume over any <see cref="IDiskSource"/> (a partition or a raw volume image).
/// Thread-safe for concurrent reads: it keeps no position and no mutable state after opening.
/// </summary>
public sealed partial class NtfsVolume
{
    /// <summary>MFT record number of the root directory.</summary>
    public const long RootRecordNumber = 5;

    private const long UpCaseRecordNumber = 10;
    private const long VolumeRecordNumber = 3;
    private const long FirstUserRecordNumber = 24;
    private const int MaxDirectoryDepth = 1024;

    private readonly IDiskSource _source;
    private readonly BootSector _boot;
    private readonly MasterFileTable _mft;
    private readonly Lazy<(UpCaseTable Table, bool FromVolume)> _upCase;

    private NtfsVolume(IDiskSource source, string? name, long diskOffset, BootSector boot, bool usedBackup)
    {
        _source = source;
        _boot = boot;
        Name = name;
        DiskOffset = diskOffset;
        UsedBackupBootSector = usedBackup;
        _mft = MasterFileTable.Open(source, boot, name);
        // Only lookups by name need $UpCase (256 KiB once decoded): loaded on the first.
        // An I/O failure is not cached: the next lookup tries again.
        _upCase = new Lazy<(UpCaseTable, bool)>(LoadUpCase, LazyThreadSafetyMode.PublicationOnly);
        VolumeLabel = LoadLabel();
    }

    /// <summary>Name used in error messages (image path, partition), when given.</summary>
    public string? Name { get; }

    /// <summary>Offset of the volume on the underlying disk; added to every range of <see cref="GetExtents"/>.</summary>
    public long DiskOffset { get; }

    /// <summary>True when the primary boot sector was damaged and the backup (last sector of the volume) was used.</summary>
    public bool UsedBackupBootSector { get; }

    /// <summary>True when case-insensitive lookups use the volume's own $UpCase table (false: invariant fallback).</summary>
    public bool UpCaseFromVolume => _upCase.Value.FromVolume;

    /// <summary>Bytes per sector from the boot sector.</summary>
    public int BytesPerSector => _boot.BytesPerSector;

    /// <summary>Bytes per cluster.</summary>
    public int ClusterSize => _boot.ClusterSize;

    /// <summary>Bytes per MFT file record.</summary>
    public int MftRecordSize => _boot.MftRecordSize;

    /// <summary>Bytes per directory index block.</summary>
    public int IndexBlockSize => _boot.IndexBlockSize;

    /// <summary>Volume size in bytes according to the boot sector.</summary>
    public long Size => _boot.TotalSectors * _boot.BytesPerSector;

    /// <summary>Volume serial number.</summary>
    public ulong SerialNumber => _boot.SerialNumber;

    /// <summary>Number of records $MFT has room for.</summary>
    public long MftRecordCount => _mft.RecordCount;

    /// <summary>The volume label ($VOLUME_NAME of $Volume), empty when none.</summary>
    public string VolumeLabel { get; }

    /// <summary>Opens the volume in <paramref name="volume"/>.</summary>
    /// <param name="volume">The volume's bytes (a partition or a raw volume image).</param>
    /// <param name="name">Name for error messages.</param>
    /// <param name="diskOffset">Where the volume starts on the underlying disk (for sector maps); 0 for a bare volume.</param>
    /// <exception cref="NtfsFormatException">Neither boot sector is NTFS, or $MFT cannot be read.</exception>
    public static NtfsVolume Open(IDiskSource volume, string? name = null, long diskOffset = 0)
    {
        ArgumentNullException.ThrowIfNull(volume);
        ArgumentOutOfRangeException.ThrowIfNegative(diskOffset);
        byte[] sector = new byte[BootSector.Size];
        string problem = "volume shorter than one sector";
        if (volume.Length >= BootSector.Size)
        {
            volume.ReadExactly(sector, 0);
            if (BootSector.TryRead(sector, out BootSector boot, out problem) && FitsIn(boot, volume))
            {
                return new NtfsVolume(volume, name, diskOffset, boot, usedBackup: false);
            }
        }

        // The backup boot sector is the volume's last sector; its size is unknown when the primary is damaged.
        foreach (int sectorSize in (ReadOnlySpan<int>)[512, 1024, 2048, 4096])
        {
            long at = volume.Length - sectorSize;
            if (at <= 0 || volume.Length % sectorSize != 0)
            {
                continue;
            }

            volume.ReadExactly(sector, at);
            if (BootSector.TryRead(sector, out BootSector backup, out _) && backup.BytesPerSector == sectorSize && FitsIn(backup, volume))
            {
                return new NtfsVolume(volume, name, diskOffset, backup, usedBackup: true);
            }
        }

        throw new NtfsFormatException(name, "NTFS boot sector", 0, $"not an NTFS volume ({problem}; no usable backup boot sector)");
    }

    /// <summary>Opens the NTFS volume of a partition; sector maps are then relative to the disk.</summary>
    /// <exception cref="NtfsFormatException">The partition holds no readable NTFS volume.</exception>
    public static NtfsVolume Open(Partition partition, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(partition);
        return Open(partition.Source, name ?? $"partition {partition.Number}", partition.Start);
    }

    /// <summary>True when <paramref name="volume"/> starts with an NTFS boot sector (no further checks).</summary>
    public static bool IsNtfs(IDiskSource volume)
    {
        ArgumentNullException.ThrowIfNull(volume);
        Span<byte> sector = stackalloc byte[BootSector.Size];
        return volume.Length >= BootSector.Size && volume.Read(sector, 0) == BootSector.Size && BootSector.TryRead(sector, out _, out _);
    }

    private static bool FitsIn(BootSector boot, IDiskSource volume) =>
        (boot.MftLcn + 1) * boot.ClusterSize <= volume.Length;

    /// <summary>
    /// Enumerates <paramref name="directory"/>'s entries through the $I30 indexes, depth-first and lazily.
    /// A corrupt record or index is reported to <paramref name="onError"/> and skipped; the walk goes on.
    /// </summary>
    /// <param name="directory">Start directory ("/" for the root).</param>
    /// <param name="recursive">Descend into subdirectories (reparse points are reported, not followed).</param>
    /// <param name="includeSystemFiles">Include the metadata files ($MFT, $Extend, ...) of the root directory.</param>
    /// <param name="onError">Receives each skipped entry; null ignores them.</param>
    /// <param name="cancellationToken">Checked once per entry.</param>
    /// <exception cref="FileNotFoundException"><paramref name="directory"/> does not exist or is not a directory.</exception>
    public IEnumerable<NtfsFileEntry> Enumerate(string directory = "/", bool recursive = true, bool includeSystemFiles = false,
        Action<NtfsEnumerationError>? onError = null, CancellationToken cancellationToken = default)
    {
        (NtfsFile start, string startPath) = StartOf(directory);
        return EnumerateCore(start, startPath, recursive, includeSystemFiles, onError, cancellationToken);
    }

    /// <summary>
    /// Walks as <see cref="Enumerate"/> does (the same files in the same order, the same errors to <paramref name="onError"/>)
    /// and hands each file to <paramref name="visitor"/> as an <see cref="NtfsFileView"/>, without an object per file: the
    /// way to go over a whole volume. A view lives until the visitor returns; <see cref="NtfsFileView.ToEntry"/> keeps one.
    /// </summary>
    /// <param name="visitor">Called once per file, on the calling thread; what it throws ends the walk.</param>
    /// <param name="directory">Start directory ("/" for the root).</param>
    /// <param name="recursive">Descend into subdirectories (reparse points are reported, not followed).</param>
    /// <param name="includeSystemFiles">Include the metadata files ($MFT, $Extend, ...) of the root directory.</param>
    /// <param name="onError">Receives each skipped entry; null ignores them.</param>
    /// <param name="cancellationToken">Checked once per entry.</param>
    /// <exception cref="FileNotFoundException"><paramref name="directory"/> does not exist or is not a directory.</exception>
    public void Visit(NtfsFileVisitor visitor, string directory = "/", bool recursive = true, bool includeSystemFiles = false,
        Action<NtfsEnumerationError>? onError = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(visitor);
        (NtfsFile start, string startPath) = StartOf(directory);
        VisitCore(visitor, start, startPath, recursive, includeSystemFiles, onError, cancellationToken);
    }

    // The directory a walk starts in, and its path ("" for the root).
    private (NtfsFile Start, string Path) StartOf(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (IsRoot(directory))
        {
            return (_mft.LoadFile(RootRecordNumber), string.Empty);
        }

        NtfsFileEntry dir = Find(directory) ?? throw new FileNotFoundException($"no such directory: {directory}", directory);
        if (!dir.IsDirectory)
        {
            throw new FileNotFoundException($"not a directory: {directory}", directory);
        }

        return (dir.Directory!, dir.Path);
    }

    /// <summary>
    /// Lays the base record in <paramref name="layout"/> out as a <see cref="PlainFile"/> when it is one; false when it is
    /// not (the caller then goes through <see cref="MasterFileTable.LoadFile(FileRecord, ushort?)"/>, which fails or not as
    /// that record deserves). A plain file's entry is the one the <see cref="NtfsFile"/> path would make, and a plain
    /// file fails here exactly as it would there.
    /// </summary>
    private bool TryReadPlain(RecordLayout layout, ushort expectedSequence, long parent, in StandardInformation keyTimes, out PlainFile plain)
    {
        plain = default;
        if (!layout.InUse || layout.BaseRecordNumber != 0 || layout.IsDirectory
            || (expectedSequence != 0 && expectedSequence != layout.SequenceNumber))
        {
            return false;
        }

        for (int i = 0; i < layout.Count; i++)
        {
            ref readonly AttributeLayout a = ref layout[i];
            if (a.Type is NtfsAttributeType.AttributeList or NtfsAttributeType.ReparsePoint
                || (a.Type == NtfsAttributeType.Data && (plain.HasStream || a.NameLength != 0 || (!a.IsResident && a.StartVcn != 0))))
            {
                return false;
            }

            if (a.Type == NtfsAttributeType.Data)
            {
                plain.HasStream = true;
                plain.Stream = a;
            }
        }

        if (plain.HasStream)
        {
            ref readonly AttributeLayout a = ref plain.Stream;
            NtfsStreamSource.Validate(string.Empty, a.IsResident, a.IsCompressed, a.CompressionUnitLog2, a.MappedClusters, a.DataSize, ClusterSize,
                Name, layout.RecordNumber);
        }

        plain.RecordNumber = layout.RecordNumber;
        plain.SequenceNumber = layout.SequenceNumber;
        plain.LinkCount = layout.LinkCount;
        plain.ParentRecordNumber = parent;
        plain.Times = layout.StandardInformation ?? keyTimes;
        return true;
    }

    // The entry of a plain file.
    internal static NtfsFileEntry CreateEntry(in PlainFile plain, string path)
    {
        NtfsAttribute? stream = plain.HasStream
            ? NtfsAttribute.FromLayout(plain.Stream, plain.RecordNumber, plain.SequenceNumber, string.Empty, ReadOnlyMemory<byte>.Empty) : null;
        return new NtfsFileEntry(plain, path, stream);
    }

    // keyTimes: the directory entry's copy of the times, used when the record has no usable $STANDARD_INFORMATION.
    private NtfsFileEntry CreateEntry(NtfsFile file, string path, long parent, in StandardInformation keyTimes)
    {
        NtfsStreamInfo[] streams = DataStreams(file);
        // $STANDARD_INFORMATION lives in the base record.
        StandardInformation times = file.Base.StandardInformation ?? keyTimes;
        uint? reparseTag = null;
        NtfsAttribute? reparse = file.First(NtfsAttributeType.ReparsePoint);
        if (reparse is not null)
        {
            reparseTag = 0;
            if (reparse.IsResident && reparse.Value.Length >= 4)
            {
                reparseTag = BinaryPrimitives.ReadUInt32LittleEndian(reparse.Value.Span);
            }
        }

        return new NtfsFileEntry(file, path, parent, streams, times, reparseTag);
    }

    // The $DATA streams, unnamed first then by ordinal name; sizes are checked against runs so a corrupt record is
    // skipped here, not when read.
    private NtfsStreamInfo[] DataStreams(NtfsFile file)
    {
        NtfsAttribute? only = null;
        int count = 0;
        foreach (NtfsAttribute a in file.Attributes)
        {
            if (a.Type == NtfsAttributeType.Data)
            {
                only = a;
                count++;
            }
        }

        if (only is null)
        {
            return [];
        }

        if (count == 1)
        {
            return [DataStream(file, only.Name)];
        }

        List<string> names = file.StreamNames(NtfsAttributeType.Data);
        var streams = new NtfsStreamInfo[names.Count];
        for (int i = 0; i < streams.Length; i++)
        {
            streams[i] = DataStream(file, names[i]);
        }

        return streams;
    }

    private NtfsStreamInfo DataStream(NtfsFile file, string streamName)
    {
        NtfsAttribute data = file.GetStream(NtfsAttributeType.Data, streamName, Name)!;
        if (!data.IsResident)
        {
            NtfsStreamSource.Validate(data, ClusterSize, Name, file.RecordNumber);
        }

        return new NtfsStreamInfo(data);
    }


    private static bool IsRoot(string path) => path.Trim('/').Length == 0;

    /// <summary>Looks a path up case-insensitively (via $UpCase); null when a component is missing.</summary>
    /// <exception cref="NtfsFormatException">A directory on the way is corrupt.</exception>
    public NtfsFileEntry? Find(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        NtfsFile current = _mft.LoadFile(RootRecordNumber);
        if (IsRoot(path))
        {
            return CreateEntry(current, "/", RootRecordNumber, default);
        }

        string resolved = string.Empty;
        string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var found = new IndexEntryList();
        for (int i = 0; i < parts.Length; i++)
        {
            if (!current.Base.IsDirectory
                || !new DirectoryIndex(_source, current, ClusterSize, Name, _mft.RecordOffset(current.RecordNumber)).Find(parts[i], _upCase.Value.Table, found))
            {
                return null;
            }

            current = _mft.LoadFile(found[0].RecordNumber, found[0].SequenceNumber);
            resolved = PathOf(resolved, found, found[0]);
        }

        return CreateEntry(current, resolved, found[0].ParentRecordNumber, found[0].Times);
    }

    /// <summary>
    /// The content of one $DATA stream (decompressed, zeros for sparse and uninitialized parts) as a positional source.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file has no stream of that name.</exception>
    /// <exception cref="NtfsFormatException">The stream's mapping is corrupt (or is found to be while reading).</exception>
    public IDiskSource OpenStream(NtfsFileEntry entry, string streamName = "")
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(streamName);
        NtfsStreamInfo stream = entry.Streams.FirstOrDefault(s => string.Equals(s.Name, streamName, StringComparison.Ordinal))
            ?? throw new FileNotFoundException($"{entry.Path} has no stream \"{streamName}\"", entry.Path);
        return _mft.OpenStream(stream.Data, entry.RecordNumber);
    }

    /// <summary>A read-only seekable stream over one $DATA stream.</summary>
    /// <exception cref="FileNotFoundException">The file has no stream of that name.</exception>
    public Stream OpenRead(NtfsFileEntry entry, string streamName = "") => new DiskStream(OpenStream(entry, streamName));

    private (UpCaseTable Table, bool FromVolume) LoadUpCase()
    {
        try
        {
            NtfsFile file = _mft.LoadFile(UpCaseRecordNumber);
            NtfsAttribute? data = file.GetStream(NtfsAttributeType.Data, string.Empty, Name);
            if (data is null || data.DataSize != UpCaseTable.ByteLength)
            {
                return (UpCaseTable.Invariant, false);
            }

            byte[] bytes = new byte[UpCaseTable.ByteLength];
            _mft.OpenStream(data, UpCaseRecordNumber).ReadExactly(bytes, 0);
            return (UpCaseTable.FromBytes(bytes), true);
        }
        catch (Exception ex) when (ex is DiskFormatException or EndOfStreamException)
        {
            // A damaged $UpCase only weakens case-insensitive lookup; enumeration and reads do not need it.
            return (UpCaseTable.Invariant, false);
        }
    }

    private string LoadLabel()
    {
        try
        {
            NtfsFile file = _mft.LoadFile(VolumeRecordNumber);
            NtfsAttribute? label = file.First(NtfsAttributeType.VolumeName);
            return label is { IsResident: true } ? System.Text.Encoding.Unicode.GetString(label.Value.Span) : string.Empty;
        }
        catch (Exception ex) when (ex is DiskFormatException or EndOfStreamException)
        {
            return string.Empty;
        }
    }
}
