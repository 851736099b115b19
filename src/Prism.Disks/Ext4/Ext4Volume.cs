using System.Buffers.Binary;
using Prism.Disks.Errors;
using Prism.Disks.IO;
using Prism.Disks.Partitions;

namespace Prism.Disks.Ext4;

/// <summary>
/// A read-only ext2/ext3/ext4 volume over any <see cref="IDiskSource"/>, decoded from the kernel's "ext4 Data Structures
/// and Algorithms". A volume that needs recovery has its jbd2 journal replayed in memory at open: reads then see what
/// the kernel would see after mounting it, and the disk is never written. Thread-safe for concurrent reads.
/// </summary>
public sealed partial class Ext4Volume
{
    /// <summary>Inode number of the root directory.</summary>
    public const uint RootInode = 2;

    private const int MaxDirectoryDepth = 2048;

    private readonly IDiskSource _source;
    private readonly Ext4Superblock _sb;
    private readonly Ext4Checksum _csum;
    private readonly Ext4GroupDescriptor[] _groups;
    private readonly Dictionary<long, byte[]> _overlay;

    private Ext4Volume(IDiskSource source, string? name, long diskOffset, Ext4Superblock sb, Ext4GroupDescriptor[] groups,
        bool usedBackup, Dictionary<long, byte[]> overlay, Ext4JournalReplay? replay)
    {
        _source = source;
        Name = name;
        DiskOffset = diskOffset;
        _sb = sb;
        _csum = new Ext4Checksum(sb.ChecksumSeed);
        _groups = groups;
        _overlay = overlay;
        UsedBackupSuperblock = usedBackup;
        JournalReplayedTransactions = replay?.Transactions ?? 0;
        JournalReplayedBlocks = replay?.BlocksReplayed ?? 0;
        MetadataRanges = BuildMetadataRanges();
    }

    /// <summary>Name used in error messages (image path, partition), when given.</summary>
    public string? Name { get; }

    /// <summary>Offset of the volume on the underlying disk (add it to the volume-relative ranges this type reports).</summary>
    public long DiskOffset { get; }

    /// <summary>Length of the volume in bytes (block count × block size).</summary>
    public long Size => _sb.BlocksCount * _sb.BlockSize;

    /// <summary>Block size in bytes (1 KiB to 64 KiB).</summary>
    public int BlockSize => _sb.BlockSize;

    /// <summary>Number of blocks.</summary>
    public long BlockCount => _sb.BlocksCount;

    /// <summary>Number of inodes.</summary>
    public uint InodeCount => _sb.InodesCount;

    /// <summary>Bytes per inode record.</summary>
    public int InodeSize => _sb.InodeSize;

    /// <summary>Number of block groups.</summary>
    public uint GroupCount => _sb.GroupCount;

    /// <summary>The volume UUID.</summary>
    public Guid Uuid => _sb.Uuid;

    /// <summary>The volume label (s_volume_name), empty when none.</summary>
    public string Label => _sb.Label;

    /// <summary>s_feature_compat bits.</summary>
    public uint CompatibleFeatures => _sb.FeatureCompat;

    /// <summary>s_feature_incompat bits (after a journal replay, as the kernel leaves them: without "needs recovery").</summary>
    public uint IncompatibleFeatures => _sb.FeatureIncompat & ~Ext4Superblock.IncompatRecover;

    /// <summary>s_feature_ro_compat bits.</summary>
    public uint ReadOnlyCompatibleFeatures => _sb.FeatureRoCompat;

    /// <summary>True when metadata checksums (metadata_csum) are verified on every structure read.</summary>
    public bool HasMetadataChecksums => _sb.HasMetadataCsum;

    /// <summary>True when the primary superblock was damaged and a backup was used.</summary>
    public bool UsedBackupSuperblock { get; }

    /// <summary>Transactions replayed from the journal at open (0 when the volume was clean).</summary>
    public int JournalReplayedTransactions { get; }

    /// <summary>Blocks the in-memory journal replay wrote over the on-disk ones.</summary>
    public int JournalReplayedBlocks { get; }

    /// <summary>
    /// Where the volume-wide metadata lies (superblocks, group descriptors, bitmaps, inode tables, journal), in bytes from the
    /// volume start: a change outside these ranges and outside every file's <see cref="GetMetadataBlocks"/>, inode record,
    /// directory blocks and content cannot change the file list or any file's layout.
    /// </summary>
    public IReadOnlyList<Ext4MetadataRange> MetadataRanges { get; }

    /// <summary>Opens the volume that lies at <paramref name="offset"/> in <paramref name="source"/>.</summary>
    /// <param name="source">The disk (or raw volume image).</param>
    /// <param name="offset">Where the volume starts in <paramref name="source"/>.</param>
    /// <param name="length">The volume's length in bytes.</param>
    /// <param name="name">Name for error messages.</param>
    /// <exception cref="Ext4FormatException">No usable superblock, or a group descriptor or the journal is corrupt.</exception>
    /// <exception cref="NotSupportedException">The volume uses a feature this reader does not implement (bigalloc, encryption, ...).</exception>
    public static Ext4Volume Open(IDiskSource source, long offset, long length, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        IDiskSource volume = offset == 0 && length == source.Length ? source : source.Slice(offset, length);
        return OpenCore(volume, offset, name);
    }

    private static Ext4Volume OpenCore(IDiskSource volume, long offset, string? name)
    {
        (Ext4Superblock sb, bool usedBackup) = FindSuperblock(volume, name);
        var overlay = new Dictionary<long, byte[]>();
        Ext4GroupDescriptor[] groups = ReadGroupDescriptors(volume, sb, overlay, name, usedBackup);
        Ext4JournalReplay? replay = null;
        if (sb.NeedsRecovery && sb.HasJournal)
        {
            var before = new Ext4Volume(volume, name, offset, sb, groups, usedBackup, overlay, null);
            replay = Ext4JournalReplay.Run(before, overlay);
            if (replay.BlocksReplayed > 0)
            {
                // The journal may carry the superblock and descriptor blocks themselves: decode them again as replayed.
                byte[] copy = new byte[Ext4Superblock.Size];
                ReadBytes(volume, overlay, sb.BlockSize, usedBackup ? BackupOffset(sb) : Ext4Superblock.PrimaryOffset, copy);
                if (Ext4Superblock.TryRead(copy, volume.Length, out Ext4Superblock replayed, out string problem))
                {
                    sb = replayed;
                }
                else
                {
                    throw new Ext4FormatException(name, "ext4 superblock (after journal replay)", Ext4Superblock.PrimaryOffset, problem);
                }

                groups = ReadGroupDescriptors(volume, sb, overlay, name, usedBackup);
            }
        }
        else if (sb.NeedsRecovery)
        {
            throw new NotSupportedException("the volume needs recovery from an external journal device, which is not supported");
        }

        return new Ext4Volume(volume, name, offset, sb, groups, usedBackup, overlay, replay);
    }

    /// <summary>Opens a whole raw volume image.</summary>
    /// <exception cref="Ext4FormatException">No usable superblock, or a group descriptor or the journal is corrupt.</exception>
    public static Ext4Volume Open(IDiskSource volume, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(volume);
        return Open(volume, 0, volume.Length, name);
    }

    /// <summary>Opens the ext2/3/4 volume of a partition.</summary>
    /// <exception cref="Ext4FormatException">The partition holds no readable ext2/3/4 volume.</exception>
    public static Ext4Volume Open(Partition partition, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(partition);
        return OpenCore(partition.Source, partition.Start, name ?? $"partition {partition.Number}");
    }

    /// <summary>True when <paramref name="volume"/> has the ext2/3/4 magic in its primary superblock (no further checks).</summary>
    public static bool IsExt(IDiskSource volume)
    {
        ArgumentNullException.ThrowIfNull(volume);
        Span<byte> magic = stackalloc byte[2];
        return volume.Length >= 2048 && volume.Read(magic, Ext4Superblock.PrimaryOffset + 0x38) == 2
            && BinaryPrimitives.ReadUInt16LittleEndian(magic) == Ext4Superblock.Magic;
    }

    private static long BackupOffset(Ext4Superblock sb) => sb.GroupFirstBlock(sb.BlockGroupNumber) * sb.BlockSize;

    // The primary superblock, else the first usable backup of group 1 (the layout mke2fs uses: 8 × block size blocks per
    // group), trying each block size.
    private static (Ext4Superblock Superblock, bool UsedBackup) FindSuperblock(IDiskSource volume, string? name)
    {
        byte[] buffer = new byte[Ext4Superblock.Size];
        string problem = "volume shorter than 2 KiB";
        if (volume.Length >= Ext4Superblock.PrimaryOffset + Ext4Superblock.Size)
        {
            volume.ReadExactly(buffer, Ext4Superblock.PrimaryOffset);
            if (Ext4Superblock.TryRead(buffer, volume.Length, out Ext4Superblock sb, out problem))
            {
                return (sb, false);
            }
        }

        foreach (int blockSize in (ReadOnlySpan<int>)[1024, 2048, 4096, 8192, 16384, 32768, 65536])
        {
            long group1 = (blockSize == 1024 ? 1 : 0) + (8L * blockSize);
            long at = group1 * blockSize;
            if (at + Ext4Superblock.Size > volume.Length)
            {
                continue;
            }

            volume.ReadExactly(buffer, at);
            if (Ext4Superblock.TryRead(buffer, volume.Length, out Ext4Superblock backup, out _)
                && backup.BlockSize == blockSize && backup.BlockGroupNumber == 1 && backup.GroupFirstBlock(1) == group1)
            {
                return (backup, true);
            }
        }

        throw new Ext4FormatException(name, "ext4 superblock", Ext4Superblock.PrimaryOffset,
            $"not an ext2/3/4 volume ({problem}; no usable backup superblock)");
    }

    // Block number of the descriptor block that holds group g's descriptor (meta_bg places them in their own meta group).
    private static long DescriptorBlock(Ext4Superblock sb, uint g, bool backup)
    {
        uint perBlock = (uint)(sb.BlockSize / sb.DescriptorSize);
        uint metaGroup = g / perBlock;
        if (sb.HasMetaBg && metaGroup >= sb.FirstMetaBg)
        {
            uint first = metaGroup * perBlock;
            uint at = backup ? first + 1 : first;
            return sb.GroupFirstBlock(at) + (sb.GroupHasSuperblock(at) ? 1 : 0);
        }

        uint home = backup ? sb.BlockGroupNumber : 0u;
        return sb.GroupFirstBlock(home) + 1 + metaGroup;
    }

    private static Ext4GroupDescriptor[] ReadGroupDescriptors(IDiskSource volume, Ext4Superblock sb, Dictionary<long, byte[]> overlay,
        string? name, bool backup)
    {
        var csum = new Ext4Checksum(sb.ChecksumSeed);
        var groups = new Ext4GroupDescriptor[sb.GroupCount];
        byte[] block = new byte[sb.BlockSize];
        long loaded = -1;
        long tableBlocks = (sb.InodeTableLength + sb.BlockSize - 1) / sb.BlockSize;
        for (uint g = 0; g < sb.GroupCount; g++)
        {
            long blockNumber = DescriptorBlock(sb, g, backup);
            long at = blockNumber * sb.BlockSize;
            if (blockNumber >= sb.BlocksCount)
            {
                throw new Ext4FormatException(name, $"ext4 group descriptor {g}", at, $"descriptor block {blockNumber} lies past the volume") { Group = g };
            }

            if (blockNumber != loaded)
            {
                ReadBytes(volume, overlay, sb.BlockSize, at, block);
                loaded = blockNumber;
            }

            int within = (int)(g % (uint)(sb.BlockSize / sb.DescriptorSize)) * sb.DescriptorSize;
            ReadOnlySpan<byte> d = block.AsSpan(within, sb.DescriptorSize);
            long where = at + within;
            if (Ext4GroupDescriptor.Checksums(d, g, sb, csum) is (ushort stored, ushort computed) && stored != computed)
            {
                throw new Ext4FormatException(name, $"ext4 group descriptor {g}", where,
                    $"checksum 0x{stored:X4}, computed 0x{computed:X4}")
                { Group = g };
            }

            Ext4GroupDescriptor gd = Ext4GroupDescriptor.Read(d, sb.Is64Bit);
            if (gd.InodeTable < 1 || gd.InodeTable > sb.BlocksCount - tableBlocks || gd.BlockBitmap >= sb.BlocksCount
                || gd.InodeBitmap >= sb.BlocksCount)
            {
                throw new Ext4FormatException(name, $"ext4 group descriptor {g}", where,
                    $"block bitmap {gd.BlockBitmap}, inode bitmap {gd.InodeBitmap} or inode table {gd.InodeTable} (+{tableBlocks} blocks) lies outside the {sb.BlocksCount}-block volume")
                { Group = g };
            }

            groups[g] = gd;
        }

        return groups;
    }

    // Positional read through the in-memory journal replay: blocks the journal rewrote come from the overlay.
    private static void ReadBytes(IDiskSource volume, Dictionary<long, byte[]> overlay, int blockSize, long offset, Span<byte> buffer)
    {
        volume.ReadExactly(buffer, offset);
        if (overlay.Count == 0)
        {
            return;
        }

        long first = offset / blockSize, last = (offset + buffer.Length - 1) / blockSize;
        for (long b = first; b <= last; b++)
        {
            if (overlay.TryGetValue(b, out byte[]? data))
            {
                long start = Math.Max(offset, b * blockSize), end = Math.Min(offset + buffer.Length, (b + 1) * blockSize);
                data.AsSpan((int)(start - (b * blockSize)), (int)(end - start)).CopyTo(buffer[(int)(start - offset)..]);
            }
        }
    }

    internal void ReadBytes(long offset, Span<byte> buffer) => ReadBytes(_source, _overlay, _sb.BlockSize, offset, buffer);

    internal void ReadBlock(long block, Span<byte> buffer) => ReadBytes(block * _sb.BlockSize, buffer[.._sb.BlockSize]);

    internal Ext4Superblock Superblock => _sb;

    internal Ext4Checksum Checksum => _csum;

    internal Ext4FormatException Fail(string structure, long? offset, string detail, uint? inode = null, uint? group = null)
        => new(Name, structure, offset, detail) { Inode = inode, Group = group };

    /// <summary>Where inode <paramref name="inode"/>'s record lies, in bytes from the volume start.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inode"/> is 0 or above <see cref="InodeCount"/>.</exception>
    public ByteRange GetInodeRange(uint inode)
    {
        ArgumentOutOfRangeException.ThrowIfZero(inode);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(inode, _sb.InodesCount);
        uint g = (inode - 1) / _sb.InodesPerGroup, index = (inode - 1) % _sb.InodesPerGroup;
        return new ByteRange((_groups[g].InodeTable * _sb.BlockSize) + ((long)index * _sb.InodeSize), _sb.InodeSize);
    }

    /// <summary>
    /// The inodes whose records overlap <paramref name="range"/> (bytes from the volume start), as (first, last) pairs,
    /// in group order: what a scanner re-reads when that range changed.
    /// </summary>
    public IReadOnlyList<(uint First, uint Last)> GetInodesIn(ByteRange range)
    {
        var found = new List<(uint, uint)>();
        for (uint g = 0; g < _sb.GroupCount; g++)
        {
            var table = new ByteRange(_groups[g].InodeTable * _sb.BlockSize, _sb.InodeTableLength);
            ByteRange common = table.Intersect(range);
            if (common.Length == 0)
            {
                continue;
            }

            long first = (common.Offset - table.Offset) / _sb.InodeSize, last = (common.End - 1 - table.Offset) / _sb.InodeSize;
            uint baseInode = (g * _sb.InodesPerGroup) + 1;
            uint lo = baseInode + (uint)first, hi = Math.Min(baseInode + (uint)last, _sb.InodesCount);
            if (lo <= hi)
            {
                found.Add((lo, hi));
            }
        }

        return found;
    }

    // Reads inode `number` into `into` (through a whole walk's inode-table cache when given) and checks its checksum and
    // mode; throws Ext4FormatException naming the inode.
    internal void ReadInode(uint number, Ext4Inode into, Span<byte> scratch, InodeTableCache? cache = null)
    {
        if (number == 0 || number > _sb.InodesCount)
        {
            throw Fail("ext4 directory entry", null, $"inode number {number} outside 1..{_sb.InodesCount}", number);
        }

        ByteRange where = GetInodeRange(number);
        Span<byte> record = scratch[.._sb.InodeSize];
        if (cache is null || !cache.TryRead(number, where.Offset, record))
        {
            ReadBytes(where.Offset, record);
        }

        into.Load(number, where.Offset, record);
        if (into.ExtraIsizeInvalid)
        {
            throw Fail($"ext4 inode {number}", where.Offset, $"i_extra_isize {into.ExtraIsize} does not fit a {_sb.InodeSize}-byte inode", number);
        }

        if (_sb.HasMetadataCsum)
        {
            (uint stored, uint computed) = into.Checksums(_csum);
            if (stored != computed)
            {
                throw Fail($"ext4 inode {number}", where.Offset, $"checksum 0x{stored:X8}, computed 0x{computed:X8}", number);
            }
        }

        if (into.Type is null)
        {
            throw Fail($"ext4 inode {number}", where.Offset, $"i_mode 0x{into.Mode:X4} names no file type (free or corrupt inode)", number);
        }

        if (into.Size > long.MaxValue)
        {
            throw Fail($"ext4 inode {number}", where.Offset, $"size {into.Size} too large", number);
        }
    }

    private List<Ext4MetadataRange> BuildMetadataRanges()
    {
        var ranges = new List<Ext4MetadataRange>();
        int bs = _sb.BlockSize;
        uint perBlock = (uint)(bs / _sb.DescriptorSize);
        long gdtBlocks = (_sb.GroupCount + perBlock - 1) / perBlock;
        for (uint g = 0; g < _sb.GroupCount; g++)
        {
            if (_sb.GroupHasSuperblock(g))
            {
                long start = g == 0 ? Ext4Superblock.PrimaryOffset : _sb.GroupFirstBlock(g) * bs;
                ranges.Add(new(Ext4MetadataKind.Superblock, new ByteRange(start, Ext4Superblock.Size), g));
                if (!_sb.HasMetaBg)
                {
                    ranges.Add(new(Ext4MetadataKind.GroupDescriptors, new ByteRange((_sb.GroupFirstBlock(g) + 1) * bs, gdtBlocks * bs), g));
                }
            }

            if (_sb.HasMetaBg && g % perBlock == 0)
            {
                ranges.Add(new(Ext4MetadataKind.GroupDescriptors, new ByteRange(DescriptorBlock(_sb, g, backup: false) * bs, bs), g));
            }

            Ext4GroupDescriptor gd = _groups[g];
            ranges.Add(new(Ext4MetadataKind.BlockBitmap, new ByteRange(gd.BlockBitmap * bs, bs), g));
            ranges.Add(new(Ext4MetadataKind.InodeBitmap, new ByteRange(gd.InodeBitmap * bs, bs), g));
            ranges.Add(new(Ext4MetadataKind.InodeTable, new ByteRange(gd.InodeTable * bs, _sb.InodeTableLength), g));
        }

        if (_sb.HasJournal && _sb.JournalInode != 0 && _sb.JournalInode <= _sb.InodesCount)
        {
            try
            {
                var inode = new Ext4Inode();
                ReadInode(_sb.JournalInode, inode, new byte[_sb.InodeSize]);
                var map = new MapScratch();
                Map(inode, map);
                foreach (Ext4Extent e in map.Extents)
                {
                    if (e.Kind == Ext4ExtentKind.Data)
                    {
                        ranges.Add(new(Ext4MetadataKind.Journal, new ByteRange(e.VolumeOffset, e.Length), 0));
                    }
                }
            }
            catch (Ext4FormatException)
            {
                // A damaged journal inode on a clean volume is never read: its blocks are then simply not listed.
            }
        }

        return ranges;
    }
}
