using System.Buffers.Binary;
using Prism.Disks.Guest;
using Prism.Disks.IO;

namespace Prism.Disks.Ext4;

public sealed partial class Ext4Volume
{
    private const ushort ExtentMagic = 0xF30A;
    private const int ExtentHeaderSize = 12, ExtentEntrySize = 12, MaxExtentDepth = 5;
    private const int UnwrittenFlag = 32768;

    /// <summary>Reusable buffers of one mapping: the sector map, the mapping blocks, and block scratch per tree level.</summary>
    internal sealed class MapScratch
    {
        public List<Ext4Extent> Extents { get; } = [];

        public List<ByteRange> MetadataBlocks { get; } = [];

        // Where FinishMap builds the map with its holes before copying it back (reused: no list per file).
        public List<Ext4Extent> Spare { get; } = [];

        public byte[][] Levels { get; } = new byte[MaxExtentDepth + 1][];

        // Blocks mapped so far (data and mapping); bounded by the volume's block count.
        public long Blocks { get; set; }

        public void Clear()
        {
            Extents.Clear();
            MetadataBlocks.Clear();
            Blocks = 0;
        }

        public byte[] Level(int level, int blockSize)
        {
            byte[]? b = Levels[level];
            if (b is null || b.Length < blockSize)
            {
                b = Levels[level] = new byte[blockSize];
            }

            return b;
        }
    }

    // The inline-data layout of an inode: content in i_block, then in the value of "system.data".
    private (int ValueOffset, int ValueLength) InlineValue(Ext4Inode inode)
        => inode.FindInlineDataValue(d => Fail($"ext4 inode {inode.Number} inline data", inode.VolumeOffset, d, inode.Number));

    /// <summary>True when a symlink keeps its target in i_block (no data blocks, not inline).</summary>
    internal bool IsFastSymlink(Ext4Inode inode)
    {
        if (inode.Type != GuestFileType.Symlink || inode.HasInlineData)
        {
            return false;
        }

        ulong eaBlocks = inode.FileAcl != 0 ? (ulong)(_sb.BlockSize / 512) : 0;
        return inode.BlocksRaw == eaBlocks || (inode.BlocksRaw == 0 && !inode.HasExtents);
    }

    /// <summary>
    /// Fills <paramref name="map"/> with the sector map of <paramref name="inode"/> (ranges in file order, holes explicit,
    /// the last range ending at the file size) and the blocks its mapping lives in (extent tree or indirect blocks).
    /// Throws <see cref="Errors.Ext4FormatException"/> on a corrupt mapping.
    /// </summary>
    internal void Map(Ext4Inode inode, MapScratch map)
    {
        map.Clear();
        long size = (long)inode.Size;
        GuestFileType? type = inode.Type;
        if (type is GuestFileType.Fifo or GuestFileType.CharacterDevice or GuestFileType.BlockDevice or GuestFileType.Socket || size == 0)
        {
            return;
        }

        if (inode.HasInlineData)
        {
            (int valueOffset, int valueLength) = InlineValue(inode);
            if (size > Ext4Inode.BlockArrayLength + valueLength)
            {
                throw Fail($"ext4 inode {inode.Number}", inode.VolumeOffset,
                    $"inline size {size} exceeds i_block (60 bytes) plus system.data ({valueLength} bytes)", inode.Number);
            }

            int head = (int)Math.Min(size, Ext4Inode.BlockArrayLength);
            map.Extents.Add(new Ext4Extent(0, head, inode.VolumeOffset + Ext4Inode.BlockArrayOffset, Ext4ExtentKind.Inline));
            if (size > head)
            {
                map.Extents.Add(new Ext4Extent(head, size - head, inode.VolumeOffset + valueOffset, Ext4ExtentKind.Inline));
            }

            return;
        }

        if (IsFastSymlink(inode))
        {
            if (size >= Ext4Inode.BlockArrayLength)
            {
                throw Fail($"ext4 inode {inode.Number}", inode.VolumeOffset, $"fast symlink of {size} bytes does not fit i_block", inode.Number);
            }

            map.Extents.Add(new Ext4Extent(0, size, inode.VolumeOffset + Ext4Inode.BlockArrayOffset, Ext4ExtentKind.Inline));
            return;
        }

        int bs = _sb.BlockSize;
        long logicalBlocks = (size + bs - 1) / bs;
        if (inode.HasExtents)
        {
            MapExtentTree(inode, map, logicalBlocks);
        }
        else
        {
            MapIndirect(inode, map, logicalBlocks);
        }

        FinishMap(map, size);
    }

    // Sorts nothing (ranges arrive in logical order); fills the holes between ranges, clips at the size.
    private static void FinishMap(MapScratch map, long size)
    {
        List<Ext4Extent> extents = map.Extents;
        long at = 0;
        List<Ext4Extent> result = map.Spare;
        result.Clear();
        foreach (Ext4Extent e in extents)
        {
            if (e.FileOffset >= size)
            {
                break;
            }

            if (e.FileOffset > at)
            {
                result.Add(new Ext4Extent(at, e.FileOffset - at, -1, Ext4ExtentKind.Hole));
            }

            long length = Math.Min(e.Length, size - e.FileOffset);
            result.Add(e with { Length = length });
            at = e.FileOffset + length;
        }

        if (at < size)
        {
            result.Add(new Ext4Extent(at, size - at, -1, Ext4ExtentKind.Hole));
        }

        extents.Clear();
        extents.AddRange(result);
    }

    private void AddRun(MapScratch map, long logical, long physical, long count, Ext4ExtentKind kind)
    {
        int bs = _sb.BlockSize;
        List<Ext4Extent> list = map.Extents;
        if (list.Count > 0)
        {
            Ext4Extent last = list[^1];
            if (last.Kind == kind && last.FileEnd == logical * bs && last.VolumeOffset + last.Length == physical * bs)
            {
                list[^1] = last with { Length = last.Length + (count * bs) };
                return;
            }
        }

        list.Add(new Ext4Extent(logical * bs, count * bs, physical * bs, kind));
    }

    private void CountBlocks(Ext4Inode inode, MapScratch map, long count)
    {
        map.Blocks += count;
        if (map.Blocks > _sb.BlocksCount)
        {
            throw Fail($"ext4 inode {inode.Number} block map", inode.VolumeOffset,
                $"maps more blocks than the volume's {_sb.BlocksCount} (a loop or shared blocks)", inode.Number);
        }
    }

    private void MapExtentTree(Ext4Inode inode, MapScratch map, long logicalBlocks)
    {
        ReadOnlySpan<byte> root = inode.BlockArray;
        string where = $"ext4 inode {inode.Number} extent header";
        long rootOffset = inode.VolumeOffset + Ext4Inode.BlockArrayOffset;
        (int entries, int depth) = CheckExtentHeader(inode, root, maxLimit: 4, expectedDepth: -1, where, rootOffset);
        long previousEnd = 0;
        WalkExtentNode(inode, map, root, entries, depth, 0, uint.MaxValue + 1L, ref previousEnd, rootOffset, logicalBlocks);
    }

    private (int Entries, int Depth) CheckExtentHeader(Ext4Inode inode, ReadOnlySpan<byte> node, int maxLimit, int expectedDepth, string where, long offset)
    {
        ushort magic = BinaryPrimitives.ReadUInt16LittleEndian(node);
        int entries = BinaryPrimitives.ReadUInt16LittleEndian(node[2..]);
        int max = BinaryPrimitives.ReadUInt16LittleEndian(node[4..]);
        int depth = BinaryPrimitives.ReadUInt16LittleEndian(node[6..]);
        if (magic != ExtentMagic)
        {
            throw Fail(where, offset, $"magic 0x{magic:X4}, expected 0x{ExtentMagic:X4}", inode.Number);
        }

        if (max == 0 || max > maxLimit || entries > max)
        {
            throw Fail(where, offset, $"{entries} entries of at most {max} (limit {maxLimit})", inode.Number);
        }

        if (depth > MaxExtentDepth || (expectedDepth >= 0 && depth != expectedDepth))
        {
            throw Fail(where, offset, expectedDepth >= 0 ? $"depth {depth}, expected {expectedDepth}" : $"depth {depth} above {MaxExtentDepth}", inode.Number);
        }

        return (entries, depth);
    }

    // One node of the extent tree; [low, high) bounds the logical blocks its entries may cover (from the parent index).
    private void WalkExtentNode(Ext4Inode inode, MapScratch map, ReadOnlySpan<byte> node, int entries, int depth, long low, long high,
        ref long previousEnd, long nodeOffset, long logicalBlocks)
    {
        long bs = _sb.BlockSize;
        for (int i = 0; i < entries; i++)
        {
            ReadOnlySpan<byte> e = node.Slice(ExtentHeaderSize + (i * ExtentEntrySize), ExtentEntrySize);
            long entryOffset = nodeOffset + ExtentHeaderSize + (i * ExtentEntrySize);
            long first = BinaryPrimitives.ReadUInt32LittleEndian(e);
            if (depth == 0)
            {
                int length = BinaryPrimitives.ReadUInt16LittleEndian(e[4..]);
                Ext4ExtentKind kind = Ext4ExtentKind.Data;
                if (length > UnwrittenFlag)
                {
                    length -= UnwrittenFlag;
                    kind = Ext4ExtentKind.Unwritten;
                }

                long physical = ((long)BinaryPrimitives.ReadUInt16LittleEndian(e[6..]) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(e[8..]);
                if (length == 0 || first < previousEnd || first < low || first + length > high)
                {
                    throw Fail($"ext4 inode {inode.Number} extent", entryOffset,
                        $"logical blocks {first}+{length} overlap the previous extent (ending at {previousEnd}) or leave the index range [{low}, {high})", inode.Number);
                }

                if (physical < _sb.FirstDataBlock || physical > _sb.BlocksCount - length)
                {
                    throw Fail($"ext4 inode {inode.Number} extent", entryOffset,
                        $"physical blocks {physical}+{length} lie outside the {_sb.BlocksCount}-block volume", inode.Number);
                }

                previousEnd = first + length;
                if (first >= logicalBlocks)
                {
                    continue;
                }

                CountBlocks(inode, map, length);
                AddRun(map, first, physical, length, kind);
                continue;
            }

            long child = ((long)BinaryPrimitives.ReadUInt16LittleEndian(e[8..]) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(e[4..]);
            long next = high;
            if (i + 1 < entries)
            {
                next = BinaryPrimitives.ReadUInt32LittleEndian(node[(ExtentHeaderSize + ((i + 1) * ExtentEntrySize))..]);
            }

            if (first < low || first < previousEnd || next <= first || next > high)
            {
                throw Fail($"ext4 inode {inode.Number} extent index", entryOffset,
                    $"index of logical block {first} out of order (bounds [{low}, {high}), next {next}, previous end {previousEnd})", inode.Number);
            }

            if (child < _sb.FirstDataBlock || child >= _sb.BlocksCount)
            {
                throw Fail($"ext4 inode {inode.Number} extent index", entryOffset, $"child block {child} outside the volume", inode.Number);
            }

            if (first >= logicalBlocks)
            {
                continue;
            }

            CountBlocks(inode, map, 1);
            byte[] block = map.Level(depth - 1, (int)bs);
            long childOffset = child * bs;
            ReadBlock(child, block);
            map.MetadataBlocks.Add(new ByteRange(childOffset, bs));
            int maxEntries = (int)((bs - ExtentHeaderSize) / ExtentEntrySize);
            string where = $"ext4 inode {inode.Number} extent block {child}";
            (int childEntries, _) = CheckExtentHeader(inode, block, maxEntries, depth - 1, where, childOffset);
            if (_sb.HasMetadataCsum)
            {
                int max = BinaryPrimitives.ReadUInt16LittleEndian(block.AsSpan(4));
                int tail = ExtentHeaderSize + (max * ExtentEntrySize);
                if (tail + 4 > bs)
                {
                    throw Fail(where, childOffset, $"no room for the checksum after {max} entries", inode.Number);
                }

                uint stored = BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(tail));
                uint computed = _csum.OfInodeBlock(inode.Number, inode.Generation, block.AsSpan(0, tail));
                if (stored != computed)
                {
                    throw Fail(where, childOffset, $"checksum 0x{stored:X8}, computed 0x{computed:X8}", inode.Number);
                }
            }

            WalkExtentNode(inode, map, block.AsSpan(0, (int)bs), childEntries, depth - 1, first, next, ref previousEnd, childOffset, logicalBlocks);
        }
    }

    // ext2/ext3 block map: 12 direct pointers, then single, double and triple indirect blocks; 0 is a hole.
    private void MapIndirect(Ext4Inode inode, MapScratch map, long logicalBlocks)
    {
        ReadOnlySpan<byte> pointers = inode.BlockArray;
        long perBlock = _sb.BlockSize / 4;
        long logical = 0;
        for (int i = 0; i < 12 && logical < logicalBlocks; i++, logical++)
        {
            uint p = BinaryPrimitives.ReadUInt32LittleEndian(pointers[(i * 4)..]);
            AddPointer(inode, map, logical, p, inode.VolumeOffset + Ext4Inode.BlockArrayOffset + (i * 4));
        }

        long span = perBlock;
        for (int level = 1; level <= 3 && logical < logicalBlocks; level++)
        {
            uint p = BinaryPrimitives.ReadUInt32LittleEndian(pointers[((11 + level) * 4)..]);
            if (p != 0)
            {
                MapIndirectBlock(inode, map, p, level, logical, logicalBlocks, inode.VolumeOffset + Ext4Inode.BlockArrayOffset + ((11 + level) * 4));
            }

            logical += span;
            span *= perBlock;
        }
    }

    private void AddPointer(Ext4Inode inode, MapScratch map, long logical, uint p, long pointerOffset)
    {
        if (p == 0)
        {
            return;
        }

        if (p < _sb.FirstDataBlock || p >= _sb.BlocksCount)
        {
            throw Fail($"ext4 inode {inode.Number} block map", pointerOffset, $"block {p} outside the {_sb.BlocksCount}-block volume", inode.Number);
        }

        CountBlocks(inode, map, 1);
        AddRun(map, logical, p, 1, Ext4ExtentKind.Data);
    }

    private void MapIndirectBlock(Ext4Inode inode, MapScratch map, uint block, int level, long logical, long logicalBlocks, long pointerOffset)
    {
        if (block < _sb.FirstDataBlock || block >= _sb.BlocksCount)
        {
            throw Fail($"ext4 inode {inode.Number} indirect block", pointerOffset, $"block {block} outside the {_sb.BlocksCount}-block volume", inode.Number);
        }

        CountBlocks(inode, map, 1);
        int bs = _sb.BlockSize;
        byte[] buffer = map.Level(level, bs);
        ReadBlock(block, buffer);
        long blockOffset = (long)block * bs;
        map.MetadataBlocks.Add(new ByteRange(blockOffset, bs));
        long perBlock = bs / 4;
        long childSpan = 1;
        for (int l = 1; l < level; l++)
        {
            childSpan *= perBlock;
        }

        for (int i = 0; i < perBlock && logical < logicalBlocks; i++, logical += childSpan)
        {
            uint p = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(i * 4));
            if (level == 1)
            {
                AddPointer(inode, map, logical, p, blockOffset + (i * 4));
            }
            else if (p != 0)
            {
                MapIndirectBlock(inode, map, p, level - 1, logical, logicalBlocks, blockOffset + (i * 4));
                // The recursive call reused lower levels' buffers only; this level's buffer is intact.
            }
        }
    }
}
