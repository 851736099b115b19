using System.Buffers.Binary;
using Prism.Disks.Errors;
using Prism.Disks.IO;

namespace Prism.Disks.Ntfs;

/// <summary>
/// A directory's $I30 B+-tree: $INDEX_ROOT (resident root node), $INDEX_ALLOCATION ("INDX" blocks) and $BITMAP
/// (which blocks are in use). Walks it in collation order or descends it to find one name.
/// </summary>
internal sealed class DirectoryIndex
{
    public const string I30 = "$I30";
    private const int MaxDepth = 64;
    private const int MaxWholeAllocation = 1024 * 1024;
    private const uint IndxMagic = 0x5844_4E49; // "INDX"
    private const int EntryFlagSubnode = 1, EntryFlagLast = 2;

    private static class RootOffsets
    {
        public const int IndexedType = 0, BlockSize = 8, NodeHeader = 0x10;
    }

    private static class NodeOffsets
    {
        public const int EntriesOffset = 0, IndexLength = 4, Flags = 0x0C, Size = 0x10;
    }

    private static class BlockOffsets
    {
        public const int UsaOffset = 4, UsaCount = 6, Vcn = 0x10, NodeHeader = 0x18;
    }

    private static class EntryOffsets
    {
        public const int FileReference = 0, Length = 8, KeyLength = 0x0A, Flags = 0x0C, Key = 0x10;
    }

    private readonly NtfsFile _dir;
    private readonly string? _volumeName;
    private readonly ReadOnlyMemory<byte> _root;
    private readonly long _rootOffset;
    private readonly NtfsStreamSource? _allocation;
    private readonly byte[]? _bitmap;
    private readonly int _blockSize;
    private readonly int _vcnUnit;
    private readonly int _clusterSize;
    private readonly NtfsStreamData? _allocationData;
    private byte[]? _whole;
    private byte[]? _block;

    public DirectoryIndex(IDiskSource volume, NtfsFile dir, int clusterSize, string? volumeName, long recordOffset)
    {
        _dir = dir;
        _volumeName = volumeName;
        _clusterSize = clusterSize;
        NtfsStreamData? root = dir.GetStream(NtfsAttributeType.IndexRoot, I30, volumeName);
        if (root is null || !root.IsResident || root.ResidentValue.Length < RootOffsets.NodeHeader + NodeOffsets.Size)
        {
            throw Error(recordOffset, "directory has no usable $INDEX_ROOT $I30");
        }

        _root = root.ResidentValue;
        _rootOffset = recordOffset + root.ResidentValueOffset;
        ReadOnlySpan<byte> r = _root.Span;
        _blockSize = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(r[RootOffsets.BlockSize..]), int.MaxValue);
        NtfsStreamData? alloc = dir.GetStream(NtfsAttributeType.IndexAllocation, I30, volumeName);
        if (alloc is not null)
        {
            if (_blockSize < 256 || _blockSize > 65536 || !int.IsPow2(_blockSize))
            {
                throw Error(_rootOffset, $"index block size {_blockSize} is not a power of two in [256, 65536]");
            }

            _allocation = new NtfsStreamSource(volume, alloc, clusterSize, volumeName, dir.RecordNumber);
            _allocationData = alloc;
            _vcnUnit = _blockSize >= clusterSize ? clusterSize : 512;
            NtfsStreamData? bitmap = dir.GetStream(NtfsAttributeType.Bitmap, I30, volumeName);
            if (bitmap is not null)
            {
                long needed = ((_allocation.Length / _blockSize) + 7) / 8;
                if (bitmap.DataSize > Math.Max(needed, 8) + 4096)
                {
                    throw Error(_rootOffset, $"$BITMAP of {bitmap.DataSize} bytes for {_allocation.Length / _blockSize} index blocks");
                }

                _bitmap = new byte[bitmap.DataSize];
                new NtfsStreamSource(volume, bitmap, clusterSize, volumeName, dir.RecordNumber).ReadExactly(_bitmap, 0);
            }
        }
    }

    /// <summary>Appends every entry (except end markers) in collation order; throws <see cref="NtfsFormatException"/> on corruption.</summary>
    public void ReadAll(List<IndexEntry> into)
    {
        byte[]? scratch = null;
        ReadAll(into, ref scratch);
    }

    /// <summary>
    /// <see cref="ReadAll(List{IndexEntry})"/> with a buffer the caller keeps between directories (grown when needed).
    /// </summary>
    public void ReadAll(List<IndexEntry> into, ref byte[]? scratch)
    {
        // A whole walk visits every block: read a small $INDEX_ALLOCATION in one go (block by block if that fails,
        // so a damaged part nobody points to stays harmless).
        if (_allocation is not null && _allocation.Length <= MaxWholeAllocation)
        {
            try
            {
                if (scratch is null || scratch.Length < _allocation.Length)
                {
                    scratch = new byte[Math.Max(_allocation.Length, 64 * 1024)];
                }

                _allocation.ReadExactly(scratch.AsSpan(0, (int)_allocation.Length), 0);
                _whole = scratch;
            }
            catch (Exception ex) when (ex is DiskFormatException or EndOfStreamException)
            {
                _whole = null;
            }
        }

        var visited = new HashSet<long>();
        var stack = new Stack<Frame>();
        // One entry list per tree level, reused: a level's node is finished before the next node of that level is read.
        var levels = new List<List<RawEntry>>();
        stack.Push(new Frame(ParseRootNode(LevelList(levels, 0))));
        while (stack.Count > 0)
        {
            Frame top = stack.Peek();
            if (top.Index >= top.Entries.Count)
            {
                stack.Pop();
                continue;
            }

            RawEntry e = top.Entries[top.Index];
            if (e.HasSubnode && !top.Descended)
            {
                top.Descended = true;
                if (stack.Count >= MaxDepth)
                {
                    throw Error(_rootOffset, $"index tree deeper than {MaxDepth} levels");
                }

                if (!visited.Add(e.SubnodeVcn))
                {
                    throw Error(_rootOffset, $"index block VCN {e.SubnodeVcn} is referenced twice (cycle)");
                }

                stack.Push(new Frame(ReadBlock(e.SubnodeVcn, LevelList(levels, stack.Count))));
                continue;
            }

            top.Index++;
            top.Descended = false;
            if (e.Entry is IndexEntry entry)
            {
                into.Add(entry);
            }
        }
    }

    /// <summary>Descends the tree for <paramref name="name"/> (case-insensitively via $UpCase); null when absent.</summary>
    public IndexEntry? Find(string name, UpCaseTable upCase)
    {
        List<RawEntry> node = ParseRootNode([]);
        var visited = new HashSet<long>();
        for (int depth = 0; depth < MaxDepth; depth++)
        {
            RawEntry? next = null;
            foreach (RawEntry e in node)
            {
                if (e.Entry is IndexEntry entry)
                {
                    int c = upCase.Compare(name, entry.Key.Name);
                    if (c == 0)
                    {
                        return entry;
                    }

                    if (c > 0)
                    {
                        continue;
                    }
                }

                next = e;
                break;
            }

            if (next is not RawEntry down || !down.HasSubnode)
            {
                return null;
            }

            if (!visited.Add(down.SubnodeVcn))
            {
                throw Error(_rootOffset, $"index block VCN {down.SubnodeVcn} is referenced twice (cycle)");
            }

            node = ReadBlock(down.SubnodeVcn, []);
        }

        throw Error(_rootOffset, $"index tree deeper than {MaxDepth} levels");
    }

    private static List<RawEntry> LevelList(List<List<RawEntry>> levels, int level)
    {
        while (levels.Count <= level)
        {
            levels.Add([]);
        }

        levels[level].Clear();
        return levels[level];
    }

    private List<RawEntry> ParseRootNode(List<RawEntry> into) =>
        ParseNode(_root.Span[RootOffsets.NodeHeader..], _rootOffset + RootOffsets.NodeHeader, into);

    private List<RawEntry> ReadBlock(long vcn, List<RawEntry> into)
    {
        if (_allocation is null)
        {
            throw Error(_rootOffset, $"entry points to index block VCN {vcn} but the directory has no $INDEX_ALLOCATION");
        }

        long offset = vcn * _vcnUnit;
        if (vcn < 0 || vcn > _allocation.Length / _vcnUnit || offset > _allocation.Length - _blockSize)
        {
            throw Error(_rootOffset, $"index block VCN {vcn} lies outside the {_allocation.Length}-byte $INDEX_ALLOCATION");
        }

        long at = ToVolumeOffset(offset);
        long blockNumber = offset / _blockSize;
        if (_bitmap is not null && (blockNumber / 8 >= _bitmap.Length || (_bitmap[blockNumber / 8] & (1 << (int)(blockNumber % 8))) == 0))
        {
            throw Error(at, $"index block VCN {vcn} is not marked in use in $BITMAP");
        }

        // Entries are decoded into new objects, so the block's bytes need not outlive this call.
        Span<byte> block;
        if (_whole is not null)
        {
            block = _whole.AsSpan((int)offset, _blockSize);
        }
        else
        {
            _block ??= new byte[_blockSize];
            block = _block;
            _allocation.ReadExactly(block, offset);
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(block) != IndxMagic)
        {
            throw Error(at, $"index block VCN {vcn} has no \"INDX\" signature");
        }

        string? fix = FixupArray.TryApply(block, BinaryPrimitives.ReadUInt16LittleEndian(block[BlockOffsets.UsaOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(block[BlockOffsets.UsaCount..]));
        if (fix is not null)
        {
            throw Error(at, $"index block VCN {vcn}: {fix}");
        }

        long storedVcn = BinaryPrimitives.ReadInt64LittleEndian(block[BlockOffsets.Vcn..]);
        if (storedVcn != vcn)
        {
            throw Error(at, $"index block read at VCN {vcn} says it is VCN {storedVcn}");
        }

        return ParseNode(block[BlockOffsets.NodeHeader..], at + BlockOffsets.NodeHeader, into);
    }

    // Appends the entries of a node whose header starts at node[0] to entries; offsets inside are relative to that header.
    private List<RawEntry> ParseNode(ReadOnlySpan<byte> node, long nodeOffset, List<RawEntry> entries)
    {
        int entriesOffset = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(node[NodeOffsets.EntriesOffset..]), int.MaxValue);
        int indexLength = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(node[NodeOffsets.IndexLength..]), int.MaxValue);
        if (entriesOffset < NodeOffsets.Size || indexLength > node.Length || entriesOffset > indexLength)
        {
            throw Error(nodeOffset, $"index node entries at 0x{entriesOffset:X}, length 0x{indexLength:X} outside the node (0x{node.Length:X})");
        }

        int pos = entriesOffset;
        while (true)
        {
            if (pos > indexLength - EntryOffsets.Key)
            {
                throw Error(nodeOffset + pos, "index node ends without a last-entry marker");
            }

            ReadOnlySpan<byte> e = node[pos..indexLength];
            int length = BinaryPrimitives.ReadUInt16LittleEndian(e[EntryOffsets.Length..]);
            int keyLength = BinaryPrimitives.ReadUInt16LittleEndian(e[EntryOffsets.KeyLength..]);
            int flags = BinaryPrimitives.ReadUInt16LittleEndian(e[EntryOffsets.Flags..]);
            bool subnode = (flags & EntryFlagSubnode) != 0;
            bool last = (flags & EntryFlagLast) != 0;
            int minLength = EntryOffsets.Key + (last ? 0 : keyLength) + (subnode ? 8 : 0);
            if (length < minLength || (length & 7) != 0 || length > e.Length)
            {
                throw Error(nodeOffset + pos, $"index entry length {length} invalid (min {minLength}, room {e.Length})");
            }

            long subnodeVcn = subnode ? BinaryPrimitives.ReadInt64LittleEndian(e[(length - 8)..]) : -1;
            IndexEntry? entry = null;
            if (!last)
            {
                FileNameAttribute key = FileNameAttribute.TryRead(e.Slice(EntryOffsets.Key, keyLength))
                    ?? throw Error(nodeOffset + pos, $"index entry key of {keyLength} bytes is not a $FILE_NAME");
                ulong reference = BinaryPrimitives.ReadUInt64LittleEndian(e[EntryOffsets.FileReference..]);
                entry = new IndexEntry((long)(reference & 0x0000_FFFF_FFFF_FFFF), (ushort)(reference >> 48), key);
            }

            entries.Add(new RawEntry(entry, subnode, subnodeVcn));
            if (last)
            {
                return entries;
            }

            pos += length;
        }
    }

    // Index blocks are at most 64 KiB and cluster-aligned runs hold them whole or in cluster pieces;
    // the block's first byte is what error messages point at.
    private long ToVolumeOffset(long streamOffset)
    {
        foreach (DataRun run in _allocationData!.Runs)
        {
            if (streamOffset < run.NextVcn * _clusterSize)
            {
                return run.IsSparse ? streamOffset : (run.Lcn * _clusterSize) + (streamOffset - (run.Vcn * _clusterSize));
            }
        }

        return streamOffset;
    }

    private NtfsFormatException Error(long offset, string detail) =>
        new(_volumeName, $"NTFS $I30 index of file record {_dir.RecordNumber}", offset, detail) { RecordNumber = _dir.RecordNumber };

    private readonly record struct RawEntry(IndexEntry? Entry, bool HasSubnode, long SubnodeVcn);

    private sealed class Frame(List<RawEntry> entries)
    {
        public List<RawEntry> Entries { get; } = entries;

        public int Index { get; set; }

        public bool Descended { get; set; }
    }
}
