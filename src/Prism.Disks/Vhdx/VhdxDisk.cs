using System.Buffers.Binary;
using Prism.Disks.Errors;
using Prism.Disks.IO;

namespace Prism.Disks.Vhdx;

/// <summary>
/// An open VHDX file (fixed, dynamic or differencing) with its resolved parent chain.
/// Reads go through the chain; writes touch only this file. Concurrent reads are thread-safe;
/// writes are serialized. Parents are always opened read-only.
/// </summary>
public sealed partial class VhdxDisk : IDiskSource, IDisposable
{
    /// <summary>Structure named when the first 8 bytes are not "vhdxfile" (the file is not a VHDX).</summary>
    internal const string FileIdentifierStructure = "VHDX file identifier";

    /// <summary>Structure named when the path is not a regular file (FIFO, device, directory, socket).</summary>
    internal const string FileTypeStructure = "VHDX file";

    private static readonly byte[] s_fileSignature = "vhdxfile"u8.ToArray();

    private readonly IVhdxStorage _storage;
    private readonly VhdxOpenOptions _options;
    private readonly VhdxMetadata _metadata;
    private readonly RegionTable _regions;
    private readonly bool _ownsParent;
    private VhdxHeader _header;
    private int _currentHeaderSlot;
    private bool _disposed;

    private VhdxDisk(IVhdxStorage storage, VhdxOpenOptions options, VhdxHeader header, int headerSlot, RegionTable regions,
        VhdxMetadata metadata, VhdxDisk? parent, bool ownsParent, bool replayedInMemory, int headerCopiesValid)
    {
        _storage = storage;
        _options = options;
        _header = header;
        _currentHeaderSlot = headerSlot;
        _regions = regions;
        _metadata = metadata;
        Parent = parent;
        _ownsParent = ownsParent;
        LogReplayedInMemory = replayedInMemory;
        ValidHeaderCopies = headerCopiesValid;
        Path = storage.Path;
        BlockSize = metadata.BlockSize;
        LogicalSectorSize = metadata.LogicalSectorSize;
        VirtualSize = metadata.VirtualSize;
        ChunkRatio = VhdxLayout.SectorsPerChunk * LogicalSectorSize / BlockSize;
        DataBlockCount = VhdxLayout.CeilDiv(VirtualSize, BlockSize);
        SectorsPerBlock = (int)(BlockSize / LogicalSectorSize);
        long bitmapBlocks = VhdxLayout.CeilDiv(DataBlockCount, ChunkRatio);
        BatEntryCount = metadata.HasParent
            ? bitmapBlocks * (ChunkRatio + 1)
            : DataBlockCount + ((DataBlockCount - 1) / ChunkRatio);
        InitBat();
    }

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>Dynamic, fixed or differencing.</summary>
    public VhdxDiskType Type => _metadata.HasParent ? VhdxDiskType.Differencing
        : _metadata.LeaveBlockAllocated ? VhdxDiskType.Fixed : VhdxDiskType.Dynamic;

    /// <summary>Virtual disk size in bytes.</summary>
    public long VirtualSize { get; }

    /// <inheritdoc />
    long IDiskSource.Length => VirtualSize;

    /// <summary>Payload block size in bytes.</summary>
    public long BlockSize { get; }

    /// <summary>Logical sector size (512 or 4096).</summary>
    public int LogicalSectorSize { get; }

    /// <summary>Physical sector size (512 or 4096).</summary>
    public int PhysicalSectorSize => _metadata.PhysicalSectorSize;

    /// <summary>Virtual Disk ID (shared by a parent and its children).</summary>
    public Guid DiskId => _metadata.DiskId;

    /// <summary>The header DataWriteGuid: the identity children link to; changes whenever the visible data changes.</summary>
    public Guid DataWriteGuid => _header.DataWriteGuid;

    /// <summary>The header FileWriteGuid: changes on the first write of each session.</summary>
    public Guid FileWriteGuid => _header.FileWriteGuid;

    /// <summary>The header LogGuid (zero when the log is clean).</summary>
    public Guid LogGuid => _header.LogGuid;

    /// <summary>Size of the container file in bytes.</summary>
    public long FileSize => _storage.Length;

    /// <summary>True when opened for writing.</summary>
    public bool IsWritable => _storage.CanWrite;

    /// <summary>True when a dirty log was replayed into memory because the file was opened read-only.</summary>
    public bool LogReplayedInMemory { get; }

    /// <summary>The parent disk for a differencing disk (null for base disks or when opened with SkipParent).</summary>
    public VhdxDisk? Parent { get; }

    /// <summary>parent_linkage from the locator (the parent's expected DataWriteGuid), or null.</summary>
    public Guid? ParentLinkage => _metadata.ParentLocator?.ParentLinkage(Path, 0);

    /// <summary>The parent locator's key/value pairs (empty for base disks).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ParentLocatorEntries =>
        _metadata.ParentLocator is { } pl ? pl.Entries : [];

    /// <summary>This disk first, then its parent, grandparent, ... (the whole resolved chain).</summary>
    public IReadOnlyList<VhdxDisk> Chain
    {
        get
        {
            var list = new List<VhdxDisk>();
            for (VhdxDisk? d = this; d is not null; d = d.Parent)
            {
                list.Add(d);
            }

            return list;
        }
    }

    internal int ValidHeaderCopies { get; }

    internal long ChunkRatio { get; }

    internal long DataBlockCount { get; }

    internal long BatEntryCount { get; }

    internal int SectorsPerBlock { get; }

    internal VhdxHeader Header => _header;

    internal RegionTable Regions => _regions;

    internal VhdxMetadata Metadata => _metadata;

    /// <summary>Opens a VHDX file and resolves its parent chain.</summary>
    /// <exception cref="VhdxFormatException">The file is not a valid VHDX file.</exception>
    /// <exception cref="DiskChainException">The parent chain cannot be resolved.</exception>
    public static VhdxDisk Open(string path, VhdxOpenOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new VhdxOpenOptions();
        return Open(path, options, new ChainContext(options.MaxChainDepth));
    }

    /// <summary>True when the file carries the read-only attribute (Windows) or no write permission bit (Unix).</summary>
    public static bool IsSealed(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return (File.GetAttributes(path) & FileAttributes.ReadOnly) != 0;
        }

        return (File.GetUnixFileMode(path) & (UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) == 0;
    }

    internal static VhdxDisk Open(string path, VhdxOpenOptions options, ChainContext chain)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"{full}: no such file", full);
        }

        if (options.Writable && IsSealed(full))
        {
            throw new UnauthorizedAccessException(
                $"{full} is read-only (sealed golden image or write-protected file); Prism refuses to write to it: "
                + "every clone of a golden reads its sectors, and a write would silently break them all");
        }

        IVhdxStorage storage = FileStorage.Open(full, options.Writable);
        try
        {
            return Open(storage, options, chain);
        }
        catch
        {
            storage.Dispose();
            throw;
        }
    }

    internal const string NotVhdxDetail = "not a VHDX file (no 'vhdxfile' identifier at offset 0)";

    /// <summary>Opens a VHDX over any storage (tests: memory, fault injection). Takes ownership of <paramref name="storage"/> on success.</summary>
    internal static VhdxDisk Open(IVhdxStorage storage, VhdxOpenOptions options, ChainContext chain)
    {
        string path = storage.Path;
        Span<byte> ident = stackalloc byte[8];
        // The identifier comes before anything else is read, and its bytes are never echoed: the file may be anything
        // a hostile locator pointed at (/etc/shadow, /proc/self/environ).
        if (storage.Read(ident, 0) < 8 || !ident.SequenceEqual(s_fileSignature))
        {
            throw new VhdxFormatException(path, FileIdentifierStructure, 0, NotVhdxDetail);
        }

        (VhdxHeader header, int slot, int validCopies) = ReadHeaders(storage, path);
        bool replayedInMemory = false;
        if (header.LogGuid != Guid.Empty)
        {
            (storage, header, slot, replayedInMemory) = ReplayLog(storage, header, slot, path);
        }

        RegionTable regions = ReadRegionTable(storage, path, header);
        VhdxMetadata metadata = ReadMetadata(storage, path, regions);

        long requiredEntries = RequiredBatEntries(metadata);
        if (requiredEntries * 8 > regions.Bat.Length)
        {
            throw new VhdxFormatException(path, "VHDX BAT region", regions.Bat.FileOffset,
                $"region holds {regions.Bat.Length / 8} entries, the geometry needs {requiredEntries}");
        }

        chain.Enter(path, header.DataWriteGuid);
        VhdxDisk? parent = null;
        bool ownsParent = false;
        if (metadata.HasParent && !options.SkipParent)
        {
            (parent, ownsParent) = ParentResolver.Resolve(path, metadata, options, chain);
        }

        return new VhdxDisk(storage, options, header, slot, regions, metadata, parent, ownsParent, replayedInMemory, validCopies);
    }

    private static VhdxMetadata ReadMetadata(IVhdxStorage storage, string path, RegionTable regions)
    {
        RegionTableEntry meta = regions.Metadata;
        int metaRead = (int)Math.Min(meta.Length, 8 * VhdxLayout.MiB);

        // The table first, then only as far as its items reach: items sit just after the 64 KiB table, and reading
        // the whole (mostly empty) region would cost a 1 MiB array per open, a clone's parent included.
        byte[] metaBytes = new byte[Math.Min(metaRead, VhdxLayout.MetadataTableSize)];
        ReadZeroFilled(storage, metaBytes, meta.FileOffset);
        int needed = MetadataTable.ItemsEnd(metaBytes, metaRead);
        if (needed > metaBytes.Length)
        {
            metaBytes = new byte[needed];
            ReadZeroFilled(storage, metaBytes, meta.FileOffset);
        }

        return MetadataTable.Read(metaBytes, path, meta.FileOffset, metaRead);
    }

    internal static long RequiredBatEntries(VhdxMetadata m)
    {
        long chunkRatio = VhdxLayout.SectorsPerChunk * m.LogicalSectorSize / m.BlockSize;
        long dataBlocks = VhdxLayout.CeilDiv(m.VirtualSize, m.BlockSize);
        return m.HasParent
            ? VhdxLayout.CeilDiv(dataBlocks, chunkRatio) * (chunkRatio + 1)
            : dataBlocks + ((dataBlocks - 1) / chunkRatio);
    }

    private static (VhdxHeader Header, int Slot, int ValidCopies) ReadHeaders(IVhdxStorage storage, string path)
    {
        byte[] buf = new byte[VhdxHeader.Size];
        ReadZeroFilled(storage, buf, VhdxLayout.Header1Offset);
        bool ok1 = VhdxHeader.TryRead(buf, out VhdxHeader h1);
        ReadZeroFilled(storage, buf, VhdxLayout.Header2Offset);
        bool ok2 = VhdxHeader.TryRead(buf, out VhdxHeader h2);
        if (!ok1 && !ok2)
        {
            throw new VhdxFormatException(path, "VHDX headers", VhdxLayout.Header1Offset,
                "neither header copy (0x10000, 0x20000) has a valid signature and CRC-32C");
        }

        VhdxHeader h;
        int slot;
        if (ok1 && ok2)
        {
            if (h1.SequenceNumber == h2.SequenceNumber)
            {
                if (!h1.SameContentAs(h2))
                {
                    throw new VhdxFormatException(path, "VHDX headers", VhdxLayout.Header1Offset,
                        $"both copies have sequence number {h1.SequenceNumber} but different contents");
                }

                (h, slot) = (h1, 0);
            }
            else
            {
                (h, slot) = h1.SequenceNumber > h2.SequenceNumber ? (h1, 0) : (h2, 1);
            }
        }
        else
        {
            (h, slot) = ok1 ? (h1, 0) : (h2, 1);
        }

        long at = slot == 0 ? VhdxLayout.Header1Offset : VhdxLayout.Header2Offset;
        if (h.Version != 1)
        {
            throw new VhdxFormatException(path, "VHDX header", at + 66, $"version {h.Version}, expected 1");
        }

        if (h.LogGuid != Guid.Empty && h.LogVersion != 0)
        {
            throw new VhdxFormatException(path, "VHDX header", at + 64, $"log version {h.LogVersion}, expected 0");
        }

        if (h.LogOffset % VhdxLayout.MiB != 0 || h.LogOffset < VhdxLayout.MiB || h.LogOffset > VhdxLayout.MaxFileOffset
            || h.LogLength % VhdxLayout.MiB != 0)
        {
            throw new VhdxFormatException(path, "VHDX header", at + 68,
                $"log at 0x{h.LogOffset:X} length 0x{h.LogLength:X} is not 1 MiB-aligned beyond the header area");
        }

        return (h, slot, (ok1 ? 1 : 0) + (ok2 ? 1 : 0));
    }

    private static RegionTable ReadRegionTable(IVhdxStorage storage, string path, VhdxHeader header)
    {
        byte[] buf = new byte[VhdxLayout.RegionTableSize];
        ReadZeroFilled(storage, buf, VhdxLayout.RegionTable1Offset);
        if (!RegionTable.TryRead(buf, path, VhdxLayout.RegionTable1Offset, out RegionTable? table, out string? reason1))
        {
            ReadZeroFilled(storage, buf, VhdxLayout.RegionTable2Offset);
            if (!RegionTable.TryRead(buf, path, VhdxLayout.RegionTable2Offset, out table, out string? reason2))
            {
                throw new VhdxFormatException(path, "VHDX region table", VhdxLayout.RegionTable1Offset,
                    $"both copies are bad: {reason1}; copy at 0x40000: {reason2}");
            }
        }

        long logEnd = (long)header.LogOffset + header.LogLength;
        foreach (RegionTableEntry e in table!.Entries)
        {
            bool known = e.Guid == VhdxLayout.BatRegion || e.Guid == VhdxLayout.MetadataRegion;
            if (known && e.End > storage.Length)
            {
                throw new VhdxFormatException(path, "VHDX region table entry", VhdxLayout.RegionTable1Offset,
                    $"region {e.Guid} at 0x{e.FileOffset:X} length 0x{e.Length:X} extends past the end of the file (0x{storage.Length:X})");
            }

            if (header.LogLength > 0 && e.FileOffset < logEnd && (long)header.LogOffset < e.End)
            {
                throw new VhdxFormatException(path, "VHDX region table entry", VhdxLayout.RegionTable1Offset,
                    $"region {e.Guid} at 0x{e.FileOffset:X} overlaps the log at 0x{header.LogOffset:X}");
            }
        }

        return table;
    }

    /// <summary>Reads <paramref name="buffer"/> at <paramref name="offset"/>; bytes past the end of the file read as zero.</summary>
    internal static void ReadZeroFilled(IVhdxStorage storage, Span<byte> buffer, long offset)
    {
        int n = offset >= storage.Length ? 0 : storage.Read(buffer, offset);
        buffer[n..].Clear();
    }

    /// <summary>The largest log Prism replays (it is read whole into memory); Hyper-V and qemu write 1 MiB logs.</summary>
    internal const long MaxReplayedLogLength = 256L * 1024 * 1024;

    private static (IVhdxStorage Storage, VhdxHeader Header, int Slot, bool InMemory) ReplayLog(
        IVhdxStorage storage, VhdxHeader header, int slot, string path)
    {
        long logOffset = (long)header.LogOffset;
        if (header.LogLength == 0)
        {
            throw new VhdxFormatException(path, "VHDX header", slot == 0 ? VhdxLayout.Header1Offset : VhdxLayout.Header2Offset,
                "log GUID is set but the log length is 0");
        }

        if (logOffset + header.LogLength > storage.Length)
        {
            throw new VhdxFormatException(path, "VHDX log", logOffset,
                $"log region (0x{header.LogLength:X} bytes) extends past the end of the file (0x{storage.Length:X})");
        }

        if (header.LogLength > MaxReplayedLogLength)
        {
            throw new VhdxFormatException(path, "VHDX log", logOffset,
                $"log region of 0x{header.LogLength:X} bytes is larger than the {MaxReplayedLogLength / VhdxLayout.MiB} MiB Prism replays (Hyper-V and qemu write 1 MiB logs)");
        }

        byte[] log = new byte[header.LogLength];
        ReadZeroFilled(storage, log, logOffset);
        List<LogEntry>? found;
        try
        {
            found = VhdxLog.FindActiveSequence(log, header.LogGuid);
        }
        catch (InvalidDataException e)
        {
            throw new VhdxFormatException(path, "VHDX log", logOffset, e.Message);
        }

        List<LogEntry> sequence = found
            ?? throw new VhdxFormatException(path, "VHDX log", logOffset,
                $"log GUID {header.LogGuid:B} is set but the log holds no complete entry sequence for it");
        VhdxLog.ValidateTargets(sequence, path, logOffset);
        LogEntry head = sequence[^1];
        if (storage.Length < head.FlushedFileOffset)
        {
            throw new VhdxFormatException(path, "VHDX log", logOffset + head.LogOffset,
                $"file is 0x{storage.Length:X} bytes but the log says 0x{head.FlushedFileOffset:X} were flushed: the file was truncated");
        }

        // Replay into memory first, whatever the access: the replayed geometry bounds the file size the log may ask
        // for, and a writable open must not touch a byte before the whole sequence has passed every check.
        var overlay = new OverlayStorage(storage);
        foreach (LogDescriptor d in sequence.SelectMany(e => e.Descriptors))
        {
            if (d.Data is null)
            {
                overlay.AddZero(d.FileOffset, d.Length);
            }
            else
            {
                overlay.AddData(d.FileOffset, d.Data);
            }
        }

        VhdxLog.ValidateFileSizes(sequence, path, logOffset, MaxReplayFileSize(overlay, storage.Length, header, path));
        if (!storage.CanWrite)
        {
            overlay.ExtendTo(head.LastFileOffset);
            return (overlay, header, slot, true);
        }

        // A writable open replays into the file. The FileWriteGuid changes before the first byte does (MS-VHDX 2.2.2.1).
        (header, slot) = WriteHeaderPair(storage, header with { FileWriteGuid = Guid.NewGuid() }, header, slot);
        byte[] zeros = new byte[VhdxLayout.LogSectorSize];
        foreach (LogDescriptor d in sequence.SelectMany(e => e.Descriptors))
        {
            if (d.Data is not null)
            {
                storage.Write(d.Data, d.FileOffset);
                continue;
            }

            // Zeros are written only over bytes the file has; growing the file zero-fills the rest.
            long inFile = Math.Min(d.FileOffset + d.Length, storage.Length);
            for (long o = d.FileOffset; o < inFile; o += zeros.Length)
            {
                storage.Write(zeros.AsSpan(0, (int)Math.Min(zeros.Length, inFile - o)), o);
            }

            if (storage.Length < d.FileOffset + d.Length)
            {
                storage.SetLength(d.FileOffset + d.Length);
            }
        }

        if (storage.Length < head.LastFileOffset)
        {
            storage.SetLength(head.LastFileOffset);
        }

        storage.Flush();
        (header, slot) = WriteHeaderPair(storage, header with { LogGuid = Guid.Empty }, header, slot);
        return (storage, header, slot, false);
    }

    /// <summary>
    /// The largest file a replayed log may require: the file as it is now, 1 MiB-rounded, plus room for every structure
    /// the replayed geometry can hold (header area, log, regions, every payload and sector-bitmap block). LastFileOffset
    /// is "a file size that all allocated structures fit into" (MS-VHDX 2.3.1.1); past the durable end of the file a
    /// writer can only have appended structures it allocated, and there are never more than these.
    /// Throws VhdxFormatException when the replayed region table or metadata is bad.
    /// </summary>
    private static long MaxReplayFileSize(IVhdxStorage replayed, long fileLength, VhdxHeader header, string path)
    {
        RegionTable regions = ReadRegionTable(replayed, path, header);
        VhdxMetadata m = ReadMetadata(replayed, path, regions);
        long chunkRatio = VhdxLayout.SectorsPerChunk * m.LogicalSectorSize / m.BlockSize;
        long dataBlocks = VhdxLayout.CeilDiv(m.VirtualSize, m.BlockSize);
        long bitmapBlocks = VhdxLayout.CeilDiv(dataBlocks, chunkRatio);
        long structures = VhdxLayout.HeaderAreaSize + header.LogLength + regions.Entries.Sum(e => e.Length)
            + (dataBlocks * m.BlockSize) + (bitmapBlocks * VhdxLayout.MiB);
        return VhdxLayout.RoundUp(fileLength, VhdxLayout.MiB) + structures;
    }

    /// <summary>
    /// Writes <paramref name="next"/> into both header slots, the non-current one first, each with a higher sequence
    /// number and each followed by a flush (MS-VHDX 2.2.2.1: update the inactive copy, then the other).
    /// </summary>
    internal static (VhdxHeader Header, int Slot) WriteHeaderPair(IVhdxStorage storage, VhdxHeader next, VhdxHeader current, int currentSlot)
    {
        byte[] buf = new byte[VhdxHeader.Size];
        VhdxHeader h = next with { SequenceNumber = current.SequenceNumber + 1 };
        int slot = 1 - currentSlot;
        for (int i = 0; i < 2; i++)
        {
            h.Write(buf);
            storage.Write(buf, slot == 0 ? VhdxLayout.Header1Offset : VhdxLayout.Header2Offset);
            storage.Flush();
            if (i == 0)
            {
                h = h with { SequenceNumber = h.SequenceNumber + 1 };
                slot = 1 - slot;
            }
        }

        return (h, slot);
    }

    /// <summary>Flushes and closes the file (and the parent chain unless a cache owns it). A clean close resets the log GUID.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            if (_storage.CanWrite)
            {
                CloseSession();
            }
        }
        finally
        {
            _disposed = true;
            _storage.Dispose();
            if (_ownsParent)
            {
                Parent?.Dispose();
            }
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Path} ({Type}, {VirtualSize} bytes)";

}
