using System.Buffers.Binary;
using System.Text;
using Prism.Disks.IO;

namespace Prism.Disks.Ext4;

public sealed partial class Ext4Volume
{
    private const int DirentHeader = 8, MinDirent = 12, DirentTailSize = 12;
    private const byte DirentTailType = 0xDE;

    /// <summary>One name of a directory as <see cref="ReadDirectory"/> found it.</summary>
    internal readonly record struct DirEntry(uint Inode, byte FileType, int NameStart, int NameLength, ByteRange Block);

    /// <summary>The reusable result of reading one directory: its entries (without "." and ".."), their names, and scratch.</summary>
    internal sealed class DirListing
    {
        private char[] _names = new char[4096];

        public List<DirEntry> Entries { get; } = [];

        public MapScratch Map { get; } = new();

        public HashSet<long> Nodes { get; } = [];

        public HashSet<long> Leaves { get; } = [];

        public byte[] Block { get; set; } = [];

        public int NamesUsed { get; private set; }

        public ReadOnlySpan<char> NameOf(in DirEntry e) => _names.AsSpan(e.NameStart, e.NameLength);

        public void Clear()
        {
            Entries.Clear();
            Nodes.Clear();
            Leaves.Clear();
            NamesUsed = 0;
        }

        public void Add(uint inode, byte fileType, ReadOnlySpan<byte> name, ByteRange block)
        {
            int need = Encoding.UTF8.GetMaxCharCount(name.Length);
            if (NamesUsed + need > _names.Length)
            {
                Array.Resize(ref _names, Math.Max(_names.Length * 2, NamesUsed + need));
            }

            int chars = Encoding.UTF8.GetChars(name, _names.AsSpan(NamesUsed));
            Entries.Add(new DirEntry(inode, fileType, NamesUsed, chars, block));
            NamesUsed += chars;
        }
    }

    private int DecodeRecLen(int raw)
    {
        if (_sb.BlockSize < 65536)
        {
            return raw;
        }

        return raw is 65535 or 0 ? 65536 : (raw & 65532) | ((raw & 3) << 16);
    }

    /// <summary>
    /// Reads every name of directory <paramref name="dir"/> into <paramref name="listing"/>: linear blocks, htree leaf blocks
    /// (after validating the index and its checksums), or inline data. Throws <see cref="Errors.Ext4FormatException"/>.
    /// </summary>
    internal void ReadDirectory(Ext4Inode dir, DirListing listing)
    {
        listing.Clear();
        if (dir.HasInlineData)
        {
            ReadInlineDirectory(dir, listing);
            return;
        }

        int bs = _sb.BlockSize;
        if (listing.Block.Length < bs)
        {
            listing.Block = new byte[bs];
        }

        Map(dir, listing.Map);
        List<Ext4Extent> extents = listing.Map.Extents;
        bool htree = (dir.Flags & Ext4Inode.IndexFlag) != 0 && _sb.HasDirIndex;
        if (htree)
        {
            CheckHtree(dir, listing);
        }

        byte[] block = listing.Block;
        foreach (Ext4Extent e in extents)
        {
            if (e.Kind != Ext4ExtentKind.Data)
            {
                continue;
            }

            long firstLogical = e.FileOffset / bs;
            long count = (e.Length + bs - 1) / bs;
            for (long i = 0; i < count; i++)
            {
                long logical = firstLogical + i;
                if (htree && (logical == 0 || listing.Nodes.Contains(logical)))
                {
                    continue;
                }

                long offset = e.VolumeOffset + (i * bs);
                ReadBytes(offset, block.AsSpan(0, bs));
                ParseLeaf(dir, listing, block.AsSpan(0, bs), offset, _sb.HasMetadataCsum, checkTail: true);
            }
        }
    }

    private long PhysicalOf(List<Ext4Extent> extents, long logical)
    {
        long at = logical * _sb.BlockSize;
        foreach (Ext4Extent e in extents)
        {
            if (at >= e.FileOffset && at < e.FileEnd)
            {
                return e.Kind == Ext4ExtentKind.Data ? e.VolumeOffset + (at - e.FileOffset) : -1;
            }
        }

        return -1;
    }

    // Parses the directory entries of one leaf block (or inline area); names go to `listing`.
    private void ParseLeaf(Ext4Inode dir, DirListing listing, ReadOnlySpan<byte> block, long offset, bool csum, bool checkTail)
    {
        int end = block.Length;
        string where = $"ext4 directory block of inode {dir.Number}";
        if (csum && checkTail)
        {
            ReadOnlySpan<byte> tail = block[^DirentTailSize..];
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail) != 0 || BinaryPrimitives.ReadUInt16LittleEndian(tail[4..]) != DirentTailSize
                || tail[6] != 0 || tail[7] != DirentTailType)
            {
                throw Fail(where, offset, "metadata_csum directory block without its checksum tail", dir.Number);
            }

            uint stored = BinaryPrimitives.ReadUInt32LittleEndian(tail[8..]);
            uint computed = _csum.OfInodeBlock(dir.Number, dir.Generation, block[..^DirentTailSize]);
            if (stored != computed)
            {
                throw Fail(where, offset, $"checksum 0x{stored:X8}, computed 0x{computed:X8}", dir.Number);
            }

            end -= DirentTailSize;
        }

        var range = new ByteRange(offset, block.Length);
        int at = 0;
        while (at < end)
        {
            if (at + DirentHeader > end)
            {
                throw Fail(where, offset + at, $"directory entry header runs past the block end ({end})", dir.Number);
            }

            uint inode = BinaryPrimitives.ReadUInt32LittleEndian(block[at..]);
            int recLen = DecodeRecLen(BinaryPrimitives.ReadUInt16LittleEndian(block[(at + 4)..]));
            int nameLength = _sb.HasFiletype ? block[at + 6] : BinaryPrimitives.ReadUInt16LittleEndian(block[(at + 6)..]);
            byte fileType = _sb.HasFiletype ? block[at + 7] : (byte)0;
            if (recLen < MinDirent || (recLen & 3) != 0 || at + recLen > end || DirentHeader + nameLength > recLen)
            {
                throw Fail(where, offset + at,
                    $"rec_len {recLen} with name_len {nameLength} at entry offset {at} (block end {end})", dir.Number);
            }

            if (inode != 0 && nameLength > 0)
            {
                if (inode > _sb.InodesCount)
                {
                    throw Fail(where, offset + at, $"entry names inode {inode} above the volume's {_sb.InodesCount}", dir.Number);
                }

                ReadOnlySpan<byte> name = block.Slice(at + DirentHeader, nameLength);
                bool dot = (nameLength == 1 && name[0] == (byte)'.') || (nameLength == 2 && name[0] == (byte)'.' && name[1] == (byte)'.');
                if (name.IndexOf((byte)'/') >= 0 || name.IndexOf((byte)0) >= 0)
                {
                    throw Fail(where, offset + at, "entry name holds '/' or NUL", dir.Number);
                }

                if (!dot)
                {
                    listing.Add(inode, fileType, name, range);
                }
            }

            at += recLen;
        }
    }

    private void ReadInlineDirectory(Ext4Inode dir, DirListing listing)
    {
        (int valueOffset, int valueLength) = InlineValue(dir);
        ReadOnlySpan<byte> raw = dir.Raw;
        var range = new ByteRange(dir.VolumeOffset, dir.RecordSize);
        uint parent = BinaryPrimitives.ReadUInt32LittleEndian(dir.BlockArray);
        if (parent == 0 || parent > _sb.InodesCount)
        {
            throw Fail($"ext4 inline directory of inode {dir.Number}", dir.VolumeOffset + Ext4Inode.BlockArrayOffset,
                $"parent inode {parent} outside 1..{_sb.InodesCount}", dir.Number);
        }

        ParseLeaf(dir, listing, dir.BlockArray[4..], dir.VolumeOffset + Ext4Inode.BlockArrayOffset + 4, csum: false, checkTail: false);
        if (valueLength > 0)
        {
            ParseLeaf(dir, listing, raw.Slice(valueOffset, valueLength), dir.VolumeOffset + valueOffset, csum: false, checkTail: false);
        }

        // Entries in an inline directory all live in the inode record.
        for (int i = 0; i < listing.Entries.Count; i++)
        {
            listing.Entries[i] = listing.Entries[i] with { Block = range };
        }
    }

    // Validates the htree index of `dir` (root, interior nodes, limits, counts, checksums) and records which logical
    // blocks are index nodes and which are leaves.
    private void CheckHtree(Ext4Inode dir, DirListing listing)
    {
        int bs = _sb.BlockSize;
        long blocks = ((long)dir.Size + bs - 1) / bs;
        string where = $"ext4 htree root of inode {dir.Number}";
        long rootOffset = PhysicalOf(listing.Map.Extents, 0);
        if (rootOffset < 0)
        {
            throw Fail(where, dir.VolumeOffset, "htree directory without a first block", dir.Number);
        }

        byte[] block = new byte[bs];
        ReadBytes(rootOffset, block);
        int dotLen = DecodeRecLen(BinaryPrimitives.ReadUInt16LittleEndian(block.AsSpan(4)));
        int dotdotLen = DecodeRecLen(BinaryPrimitives.ReadUInt16LittleEndian(block.AsSpan(16)));
        if (dotLen != 12 || dotdotLen != bs - 12 || block[0x1C + 1] != 8 || BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(0x18)) != 0)
        {
            throw Fail(where, rootOffset, $"'.' rec_len {dotLen}, '..' rec_len {dotdotLen}, dx_root_info length {block[0x1D]}", dir.Number);
        }

        int levels = block[0x1E];
        int maxLevels = _sb.HasLargeDir ? 3 : 2;
        if (levels >= maxLevels)
        {
            throw Fail(where, rootOffset, $"{levels} indirect levels (at most {maxLevels - 1})", dir.Number);
        }

        listing.Nodes.Add(0);
        CheckDxNode(dir, listing, block, 0x20, rootOffset, levels, blocks, where);
    }

    // Checks the count/limit header and (metadata_csum) the dx tail of one index block; returns its entry count.
    private int CheckDxBlock(Ext4Inode dir, byte[] block, int countOffset, long offset, string where)
    {
        int bs = _sb.BlockSize;
        int tail = _sb.HasMetadataCsum ? 8 : 0;
        int limit = BinaryPrimitives.ReadUInt16LittleEndian(block.AsSpan(countOffset));
        int count = BinaryPrimitives.ReadUInt16LittleEndian(block.AsSpan(countOffset + 2));
        int expected = (bs - countOffset - tail) / 8;
        if (limit != expected || count == 0 || count > limit)
        {
            throw Fail(where, offset, $"dx limit {limit} (expected {expected}), count {count}", dir.Number);
        }

        if (_sb.HasMetadataCsum)
        {
            int tailAt = countOffset + (limit * 8);
            var crc = _csum.Start();
            Ext4Checksum.AppendUInt32(crc, dir.Number);
            Ext4Checksum.AppendUInt32(crc, dir.Generation);
            crc.Append(block.AsSpan(0, countOffset + (count * 8)));
            crc.Append(block.AsSpan(tailAt, 4));
            crc.Append([0, 0, 0, 0]); // dt_checksum itself, as zero
            uint computed = crc.GetCurrentHashAsUInt32();
            uint stored = BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(tailAt + 4));
            if (stored != computed)
            {
                throw Fail(where, offset, $"dx checksum 0x{stored:X8}, computed 0x{computed:X8}", dir.Number);
            }
        }

        return count;
    }

    private void CheckDxNode(Ext4Inode dir, DirListing listing, byte[] block, int countOffset, long offset, int levels, long blocks, string where)
    {
        int bs = _sb.BlockSize;
        int count = CheckDxBlock(dir, block, countOffset, offset, where);

        // Copy the children first: the recursion reuses no buffer of ours, but keeps this one small.
        long[] children = new long[count];
        for (int i = 0; i < count; i++)
        {
            long child = BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(countOffset + (i * 8) + 4)) & 0x0FFF_FFFF;
            if (child == 0 || child >= blocks)
            {
                throw Fail(where, offset + countOffset + (i * 8), $"dx entry {i} points to block {child} outside the directory's {blocks}", dir.Number);
            }

            children[i] = child;
        }

        foreach (long child in children)
        {
            if (levels == 0)
            {
                listing.Leaves.Add(child);
                continue;
            }

            string nodeWhere = $"ext4 htree node (block {child}) of inode {dir.Number}";
            if (!listing.Nodes.Add(child))
            {
                throw Fail(nodeWhere, offset, "index node reached twice (a loop in the htree)", dir.Number);
            }

            long nodeOffset = PhysicalOf(listing.Map.Extents, child);
            if (nodeOffset < 0)
            {
                throw Fail(nodeWhere, offset, "index node in a hole", dir.Number);
            }

            byte[] node = new byte[bs];
            ReadBytes(nodeOffset, node);
            if (BinaryPrimitives.ReadUInt32LittleEndian(node) != 0 || DecodeRecLen(BinaryPrimitives.ReadUInt16LittleEndian(node.AsSpan(4))) != bs)
            {
                throw Fail(nodeWhere, nodeOffset, "index node without its empty covering entry", dir.Number);
            }

            CheckDxNode(dir, listing, node, 8, nodeOffset, levels - 1, blocks, nodeWhere);
        }
    }
}
