using System.Buffers.Binary;

namespace Prism.Disks.Ext4;

public sealed partial class Ext4Volume
{
    /// <summary>
    /// Looks one name up in directory <paramref name="dir"/>. A hashed (htree) directory is searched as the kernel searches
    /// it: the name's hash picks one index entry per level and one leaf block (and the next leaves while their index hash
    /// continues the name's hash), so a lookup in a directory of 100,000 names reads a handful of blocks. Linear and inline
    /// directories, and names that did not decode as UTF-8 (U+FFFD in <paramref name="name"/>: their bytes are lost), are
    /// read whole. Returns the entry's index in <paramref name="listing"/>, or -1.
    /// </summary>
    internal int LookupName(Ext4Inode dir, string name, DirListing listing)
    {
        bool htree = (dir.Flags & Ext4Inode.IndexFlag) != 0 && _sb.HasDirIndex && !dir.HasInlineData;
        if (htree && !name.Contains('\uFFFD', StringComparison.Ordinal))
        {
            int hashed = LookupHashed(dir, name, listing);
            if (hashed != int.MinValue)
            {
                return hashed;
            }
        }

        ReadDirectory(dir, listing);
        return IndexOf(listing, name);
    }

    private static int IndexOf(DirListing listing, string name)
    {
        for (int i = 0; i < listing.Entries.Count; i++)
        {
            if (listing.NameOf(listing.Entries[i]).SequenceEqual(name))
            {
                return i;
            }
        }

        return -1;
    }

    // The htree search; int.MinValue when the root's hash version is not one Ext4DirHash computes (siphash): the caller
    // then reads the directory whole.
    private int LookupHashed(Ext4Inode dir, string name, DirListing listing)
    {
        int bs = _sb.BlockSize;
        listing.Clear();
        Map(dir, listing.Map);
        long blocks = ((long)dir.Size + bs - 1) / bs;
        string where = $"ext4 htree root of inode {dir.Number}";
        long rootOffset = PhysicalOf(listing.Map.Extents, 0);
        if (rootOffset < 0)
        {
            throw Fail(where, dir.VolumeOffset, "htree directory without a first block", dir.Number);
        }

        byte[] root = new byte[bs];
        ReadBytes(rootOffset, root);
        int dotLen = DecodeRecLen(BinaryPrimitives.ReadUInt16LittleEndian(root.AsSpan(4)));
        int dotdotLen = DecodeRecLen(BinaryPrimitives.ReadUInt16LittleEndian(root.AsSpan(16)));
        if (dotLen != 12 || dotdotLen != bs - 12 || root[0x1D] != 8 || BinaryPrimitives.ReadUInt32LittleEndian(root.AsSpan(0x18)) != 0)
        {
            throw Fail(where, rootOffset, $"'.' rec_len {dotLen}, '..' rec_len {dotdotLen}, dx_root_info length {root[0x1D]}", dir.Number);
        }

        byte version = root[0x1C];
        if (!Ext4DirHash.IsSupported(version))
        {
            return int.MinValue;
        }

        if (version <= Ext4DirHash.Tea && _sb.UnsignedDirHash)
        {
            version += Ext4DirHash.LegacyUnsigned;
        }

        int levels = root[0x1E];
        int maxLevels = _sb.HasLargeDir ? 3 : 2;
        if (levels >= maxLevels)
        {
            throw Fail(where, rootOffset, $"{levels} indirect levels (at most {maxLevels - 1})", dir.Number);
        }

        byte[] nameBytes = System.Text.Encoding.UTF8.GetBytes(name);
        if (nameBytes.Length > 255)
        {
            return -1;
        }

        uint hash = Ext4DirHash.Hash(nameBytes, version, _sb.HashSeed);

        // One frame per level: the index block, where its count/limit header is, its count, and the entry followed.
        var path = new (byte[] Block, int CountOffset, int Count, long Offset, string Where)[levels + 1];
        path[0] = (root, 0x20, CheckDxBlock(dir, root, 0x20, rootOffset, where), rootOffset, where);
        int[] at = new int[levels + 1];
        at[0] = FindIndexEntry(path[0].Block, path[0].CountOffset, path[0].Count, hash);
        for (int level = 1; level <= levels; level++)
        {
            Descend(dir, listing.Map.Extents, path, at, level, blocks);
            at[level] = FindIndexEntry(path[level].Block, path[level].CountOffset, path[level].Count, hash);
        }

        byte[] leaf = listing.Block.Length >= bs ? listing.Block : listing.Block = new byte[bs];
        for (long guard = 0; guard < blocks; guard++)
        {
            long logical = ChildOf(dir, path[levels], at[levels], blocks);
            long offset = PhysicalOf(listing.Map.Extents, logical);
            if (offset < 0)
            {
                throw Fail($"ext4 htree leaf (block {logical}) of inode {dir.Number}", path[levels].Offset, "leaf block in a hole", dir.Number);
            }

            ReadBytes(offset, leaf.AsSpan(0, bs));
            listing.Entries.Clear();
            ParseLeaf(dir, listing, leaf.AsSpan(0, bs), offset, _sb.HasMetadataCsum, checkTail: true);
            int found = IndexOf(listing, name);
            if (found >= 0)
            {
                return found;
            }

            // The name's hash may continue in the next leaf: its index entry then holds the same hash with the low bit set.
            int level = levels;
            while (level >= 0 && at[level] + 1 >= path[level].Count)
            {
                level--;
            }

            if (level < 0)
            {
                return -1;
            }

            at[level]++;
            uint next = BinaryPrimitives.ReadUInt32LittleEndian(path[level].Block.AsSpan(path[level].CountOffset + (at[level] * 8)));
            if ((next & ~1u) != hash)
            {
                return -1;
            }

            for (int below = level + 1; below <= levels; below++)
            {
                Descend(dir, listing.Map.Extents, path, at, below, blocks);
                at[below] = 0;
            }
        }

        throw Fail(where, rootOffset, "htree leaves continue past the directory's blocks (a loop in the index)", dir.Number);
    }

    // Reads the index node that entry at[level - 1] of level - 1 points to into path[level].
    private void Descend(Ext4Inode dir, List<Ext4Extent> extents, (byte[] Block, int CountOffset, int Count, long Offset, string Where)[] path, int[] at, int level, long blocks)
    {
        long child = ChildOf(dir, path[level - 1], at[level - 1], blocks);
        string nodeWhere = $"ext4 htree node (block {child}) of inode {dir.Number}";
        long nodeOffset = PhysicalOf(extents, child);
        if (nodeOffset < 0)
        {
            throw Fail(nodeWhere, path[level - 1].Offset, "index node in a hole", dir.Number);
        }

        byte[] node = new byte[_sb.BlockSize];
        ReadBytes(nodeOffset, node);
        if (BinaryPrimitives.ReadUInt32LittleEndian(node) != 0 || DecodeRecLen(BinaryPrimitives.ReadUInt16LittleEndian(node.AsSpan(4))) != _sb.BlockSize)
        {
            throw Fail(nodeWhere, nodeOffset, "index node without its empty covering entry", dir.Number);
        }

        path[level] = (node, 8, CheckDxBlock(dir, node, 8, nodeOffset, nodeWhere), nodeOffset, nodeWhere);
    }

    private long ChildOf(Ext4Inode dir, (byte[] Block, int CountOffset, int Count, long Offset, string Where) frame, int index, long blocks)
    {
        int entry = frame.CountOffset + (index * 8);
        long child = BinaryPrimitives.ReadUInt32LittleEndian(frame.Block.AsSpan(entry + 4)) & 0x0FFF_FFFF;
        if (child == 0 || child >= blocks)
        {
            throw Fail(frame.Where, frame.Offset + entry, $"dx entry {index} points to block {child} outside the directory's {blocks}", dir.Number);
        }

        return child;
    }

    // The last index entry whose hash is at most `hash` (entry 0 stands for hash 0 and holds the count/limit header).
    private static int FindIndexEntry(byte[] block, int countOffset, int count, uint hash)
    {
        int lo = 1, hi = count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) / 2;
            uint h = BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(countOffset + (mid * 8)));
            if (h > hash)
            {
                hi = mid - 1;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return lo - 1;
    }
}
