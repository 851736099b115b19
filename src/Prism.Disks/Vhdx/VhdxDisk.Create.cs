using System.Buffers.Binary;
using System.Text;

namespace Prism.Disks.Vhdx;

/// <summary>Creating dynamic, fixed and differencing files in Hyper-V's layout (MS-VHDX 2.1; vhdx-format.md §10).</summary>
public sealed partial class VhdxDisk
{
    /// <summary>Default block size of dynamic and fixed disks (Hyper-V).</summary>
    public const long DefaultBlockSize = 32 * 1024 * 1024;

    /// <summary>Default block size of differencing disks (Hyper-V).</summary>
    public const long DefaultDifferencingBlockSize = 2 * 1024 * 1024;

    /// <summary>
    /// Creates a new dynamic or fixed VHDX file. The file appears under <paramref name="path"/> only when complete;
    /// a failure leaves nothing behind.
    /// </summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    /// <exception cref="IOException">The file exists or cannot be written.</exception>
    public static void Create(string path, VhdxCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Type == VhdxDiskType.Differencing)
        {
            throw new ArgumentException("use CreateDifferencing for differencing disks", nameof(options));
        }

        long blockSize = options.BlockSize ?? DefaultBlockSize;
        ValidateGeometry(options.VirtualSize, blockSize, options.LogicalSectorSize, options.PhysicalSectorSize, options.LogSize);
        var layout = new CreateLayout(options.VirtualSize, blockSize, options.LogicalSectorSize, options.LogSize, hasParent: false);
        bool isFixed = options.Type == VhdxDiskType.Fixed;
        byte[] metadata = MetadataTable.Build(VhdxLayout.MiB, blockSize, isFixed, options.VirtualSize, options.DiskId ?? Guid.NewGuid(),
            options.LogicalSectorSize, options.PhysicalSectorSize, null);
        long fileLength = isFixed ? layout.DataStart + (layout.DataBlocks * blockSize) : layout.DataStart;
        WriteNewFile(path, options.Creator, layout, metadata, fileLength, durable: true, isFixed);
    }

    /// <summary>
    /// Creates a differencing child of <paramref name="parentPath"/> at <paramref name="childPath"/> in constant time
    /// (only the parent's headers and metadata are read). The parent is opened read-only and never modified.
    /// </summary>
    /// <exception cref="IOException">The child exists, or the parent cannot be opened.</exception>
    public static void CreateDifferencing(string childPath, string parentPath, VhdxDifferencingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(childPath);
        ArgumentNullException.ThrowIfNull(parentPath);
        options ??= new VhdxDifferencingOptions();
        string parentFull = System.IO.Path.GetFullPath(parentPath);
        string childFull = System.IO.Path.GetFullPath(childPath);
        if (string.Equals(parentFull, childFull, StringComparison.Ordinal))
        {
            throw new ArgumentException("a disk cannot be its own parent", nameof(childPath));
        }

        using VhdxDisk parent = Open(parentFull, new VhdxOpenOptions { AllowRemoteParents = options.AllowRemoteParents });
        CreateDifferencing(childFull, parent, options);
    }

    /// <summary>
    /// Creates a differencing child of an already open <paramref name="parent"/> (batch creation opens the parent once).
    /// </summary>
    /// <exception cref="IOException">The child exists or cannot be written.</exception>
    public static void CreateDifferencing(string childPath, VhdxDisk parent, VhdxDifferencingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(childPath);
        ArgumentNullException.ThrowIfNull(parent);
        options ??= new VhdxDifferencingOptions();
        string parentFull = parent.Path;
        string childFull = System.IO.Path.GetFullPath(childPath);
        if (string.Equals(parentFull, childFull, StringComparison.Ordinal))
        {
            throw new ArgumentException("a disk cannot be its own parent", nameof(childPath));
        }

        long blockSize = options.BlockSize ?? DefaultDifferencingBlockSize;
        ValidateGeometry(parent.VirtualSize, blockSize, parent.LogicalSectorSize, parent.PhysicalSectorSize, options.LogSize);
        var entries = new List<KeyValuePair<string, string>>
        {
            new("parent_linkage", parent.DataWriteGuid.ToString("B")),
        };
        string? relative = RelativeWindowsPath(System.IO.Path.GetDirectoryName(childFull)!, parentFull);
        if (relative is not null)
        {
            entries.Add(new("relative_path", relative));
        }

        string? absolute = options.WindowsParentPath ?? (OperatingSystem.IsWindows() ? parentFull : null);
        if (absolute is not null)
        {
            entries.Add(new("absolute_win32_path", absolute));
        }

        if (entries.Count == 1)
        {
            throw new ArgumentException($"no usable path from {childFull} to the parent {parentFull}", nameof(parent));
        }

        var layout = new CreateLayout(parent.VirtualSize, blockSize, parent.LogicalSectorSize, options.LogSize, hasParent: true);
        byte[] metadata = MetadataTable.Build(VhdxLayout.MiB, blockSize, false, parent.VirtualSize, parent.DiskId,
            parent.LogicalSectorSize, parent.PhysicalSectorSize, ParentLocator.Build(entries));
        WriteNewFile(childFull, options.Creator, layout, metadata, layout.DataStart, options.Durable, isFixed: false);
    }

    /// <summary>relative_path as Hyper-V writes it (<c>.\parent.vhdx</c>, <c>..\base\parent.vhdx</c>), or null across volumes.</summary>
    internal static string? RelativeWindowsPath(string fromDirectory, string toFile)
    {
        string rel = System.IO.Path.GetRelativePath(fromDirectory, toFile);
        if (System.IO.Path.IsPathRooted(rel))
        {
            return null;
        }

        rel = rel.Replace('/', '\\');
        return rel.StartsWith("..", StringComparison.Ordinal) ? rel : @".\" + rel;
    }

    private static void ValidateGeometry(long virtualSize, long blockSize, int lss, int pss, long logSize)
    {
        if (lss is not (512 or 4096))
        {
            throw new ArgumentException($"logical sector size {lss} must be 512 or 4096", nameof(lss));
        }

        if (pss is not (512 or 4096))
        {
            throw new ArgumentException($"physical sector size {pss} must be 512 or 4096", nameof(pss));
        }

        if (virtualSize <= 0 || virtualSize > VhdxLayout.MaxVirtualSize || virtualSize % lss != 0)
        {
            throw new ArgumentException($"virtual size {virtualSize} must be a positive multiple of {lss} up to 64 TiB", nameof(virtualSize));
        }

        if (blockSize < VhdxLayout.MinBlockSize || blockSize > VhdxLayout.MaxBlockSize || !long.IsPow2(blockSize))
        {
            throw new ArgumentException($"block size {blockSize} must be a power of two from 1 MiB to 256 MiB", nameof(blockSize));
        }

        if (logSize < VhdxLayout.MiB || logSize % VhdxLayout.MiB != 0 || logSize > 256 * VhdxLayout.MiB)
        {
            throw new ArgumentException($"log size {logSize} must be a multiple of 1 MiB from 1 MiB to 256 MiB", nameof(logSize));
        }
    }

    /// <summary>Where the structures of a new file go: log at 1 MiB, metadata after it, BAT after that (Hyper-V's order).</summary>
    private sealed class CreateLayout
    {
        public CreateLayout(long virtualSize, long blockSize, int lss, long logSize, bool hasParent)
        {
            BlockSize = blockSize;
            LogOffset = VhdxLayout.MiB;
            LogLength = logSize;
            MetadataOffset = LogOffset + logSize;
            BatOffset = MetadataOffset + VhdxLayout.MiB;
            long chunkRatio = VhdxLayout.SectorsPerChunk * lss / blockSize;
            DataBlocks = VhdxLayout.CeilDiv(virtualSize, blockSize);
            ChunkRatio = chunkRatio;
            EntryCount = hasParent
                ? VhdxLayout.CeilDiv(DataBlocks, chunkRatio) * (chunkRatio + 1)
                : DataBlocks + ((DataBlocks - 1) / chunkRatio);
            BatLength = VhdxLayout.RoundUp(EntryCount * 8, VhdxLayout.MiB);
            DataStart = BatOffset + BatLength;
        }

        public long BlockSize { get; }

        public long LogOffset { get; }

        public long LogLength { get; }

        public long MetadataOffset { get; }

        public long BatOffset { get; }

        public long BatLength { get; }

        public long DataBlocks { get; }

        public long ChunkRatio { get; }

        public long EntryCount { get; }

        public long DataStart { get; }
    }

    private static void WriteNewFile(string path, string creator, CreateLayout layout, byte[] metadata, long fileLength, bool durable, bool isFixed)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (File.Exists(full) || Directory.Exists(full))
        {
            throw new IOException($"{full}: already exists");
        }

        string dir = System.IO.Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir))
        {
            throw new DirectoryNotFoundException($"{dir}: no such directory");
        }

        string temp = System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(full)}.{Guid.NewGuid():N}.prism-tmp");
        try
        {
            using (FileStorage storage = FileStorage.Create(temp, isFixed ? fileLength : 0))
            {
                byte[] ident = new byte[VhdxLayout.RegionTableSize];
                "vhdxfile"u8.CopyTo(ident);
                Encoding.Unicode.GetBytes(creator.Length > 255 ? creator[..255] : creator, ident.AsSpan(8));
                WriteTrimmed(storage, ident, 0);

                var header = new VhdxHeader(0, Guid.NewGuid(), Guid.NewGuid(), Guid.Empty, 0, 1, (uint)layout.LogLength, (ulong)layout.LogOffset);
                byte[] buf = new byte[VhdxHeader.Size];
                header.Write(buf);
                storage.Write(buf, VhdxLayout.Header1Offset);
                (header with { SequenceNumber = 1 }).Write(buf);
                storage.Write(buf, VhdxLayout.Header2Offset);

                var regions = new RegionTable([
                    new RegionTableEntry(VhdxLayout.BatRegion, layout.BatOffset, layout.BatLength, true),
                    new RegionTableEntry(VhdxLayout.MetadataRegion, layout.MetadataOffset, VhdxLayout.MiB, true),
                ]);
                byte[] table = new byte[VhdxLayout.RegionTableSize];
                regions.Write(table);
                WriteTrimmed(storage, table, VhdxLayout.RegionTable1Offset);
                WriteTrimmed(storage, table, VhdxLayout.RegionTable2Offset);
                WriteTrimmed(storage, metadata, layout.MetadataOffset);
                if (isFixed)
                {
                    WriteFixedBat(storage, layout);
                }

                storage.SetLength(fileLength);
                if (durable)
                {
                    storage.Flush();
                }
            }

            File.Move(temp, full, overwrite: false);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// Writes <paramref name="data"/> up to its last non-zero 4 KiB page: the new file is zero past that anyway (it is
    /// extended with SetLength), so a clone costs a few KiB on disk instead of a mostly-zero 1 MiB metadata region.
    /// </summary>
    private static void WriteTrimmed(FileStorage storage, byte[] data, long offset)
    {
        int last = data.AsSpan().LastIndexOfAnyExcept((byte)0);
        if (last >= 0)
        {
            storage.Write(data.AsSpan(0, (int)Math.Min(data.Length, VhdxLayout.RoundUp(last + 1, 4096))), offset);
        }
    }

    private static void WriteFixedBat(FileStorage storage, CreateLayout layout)
    {
        const int Batch = 64 * 1024;
        byte[] buf = new byte[Batch * 8];
        long index = 0;
        while (index < layout.EntryCount)
        {
            int n = (int)Math.Min(Batch, layout.EntryCount - index);
            Array.Clear(buf);
            for (int i = 0; i < n; i++)
            {
                long e = index + i;
                if (e % (layout.ChunkRatio + 1) == layout.ChunkRatio)
                {
                    continue; // sector-bitmap slot: unused in a fixed disk
                }

                long block = e - (e / (layout.ChunkRatio + 1));
                long fileOffset = layout.DataStart + (block * layout.BlockSize);
                BinaryPrimitives.WriteUInt64LittleEndian(buf.AsSpan(i * 8), (ulong)fileOffset | StateFullyPresent);
            }

            storage.Write(buf.AsSpan(0, n * 8), layout.BatOffset + (index * 8));
            index += n;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
