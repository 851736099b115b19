using System.Buffers.Binary;
using Prism.Disks.Errors;
using Prism.Disks.IO;

namespace Prism.Disks.Ntfs;

/// <summary>
/// A directory's $I30 B+-tree: $INDEX_ROOT (resident root node), $INDEX_ALLOCATION ("INDX" blocks) and $BITMAP
/// (which blocks are in use). Walks it in collation order or descends it to find one name.
/// </summary>
internal sealed partial class DirectoryIndex
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
    private readonly NtfsAttribute? _allocationData;
    private byte[]? _whole;

    public DirectoryIndex(IDiskSource volume, NtfsFile dir, int clusterSize, string? volumeName, long recordOffset)
    {
        _dir = dir;
        _volumeName = volumeName;
        _clusterSize = clusterSize;
        NtfsAttribute? root = dir.GetStream(NtfsAttributeType.IndexRoot, I30, volumeName);
        if (root is null || !root.IsResident || root.Value.Length < RootOffsets.NodeHeader + NodeOffsets.Size)
        {
            throw Error(recordOffset, "directory has no usable $INDEX_ROOT $I30");
        }

        _root = root.Value;
        _rootOffset = recordOffset + root.ValueOffset;
        ReadOnlySpan<byte> r = _root.Span;
        _blockSize = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(r[RootOffsets.BlockSize..]), int.MaxValue);
        NtfsAttribute? alloc = dir.GetStream(NtfsAttributeType.IndexAllocation, I30, volumeName);
        if (alloc is not null)
        {
            if (_blockSize < 256 || _blockSize > 65536 || !int.IsPow2(_blockSize))
            {
                throw Error(_rootOffset, $"index block size {_blockSize} is not a power of two in [256, 65536]");
            }

            _allocation = new NtfsStreamSource(volume, alloc, clusterSize, volumeName, dir.RecordNumber);
            _allocationData = alloc;
            _vcnUnit = _blockSize >= clusterSize ? clusterSize : 512;
            NtfsAttribute? bitmap = dir.GetStream(NtfsAttributeType.Bitmap, I30, volumeName);
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

    /// <summary>
    /// Appends the entries that name files, in collation order: every entry but end markers, DOS names (a Win32 name of
    /// the same file is listed too), this directory itself and records below <paramref name="minRecordNumber"/>.
    /// <paramref name="scratch"/> holds buffers the caller keeps between directories. A node is checked whole before its
    /// entries or subnodes are used. Throws <see cref="NtfsFormatException"/> on corruption, keeping the entries appended
    /// so far.
    /// </summary>
    public void ReadAll(IndexEntryList into, WalkScratch scratch, long minRecordNumber = 0)
    {
        // A whole walk visits every block: read a small $INDEX_ALLOCATION in one go (block by block if that fails,
        // so a damaged part nobody points to stays harmless).
        if (_allocation is not null && _allocation.Length <= MaxWholeAllocation)
        {
            try
            {
                if (scratch.Buffer is null || scratch.Buffer.Length < _allocation.Length)
                {
                    scratch.Buffer = new byte[Math.Max(_allocation.Length, 64 * 1024)];
                }

                _allocation.ReadExactly(scratch.Buffer.AsSpan(0, (int)_allocation.Length), 0);
                _whole = scratch.Buffer;
            }
            catch (Exception ex) when (ex is DiskFormatException or EndOfStreamException)
            {
                _whole = null;
            }
        }

        HashSet<long> visited = scratch.Visited;
        visited.Clear();
        // One frame per tree level, reused: a level's node is finished before the next node of that level is read.
        List<Frame> levels = scratch.Levels;
        int depth = 0;
        Frame root = Level(levels, 0);
        root.Node = _root[RootOffsets.NodeHeader..];
        ParseNode(root.Node.Span, _rootOffset + RootOffsets.NodeHeader, root.Entries);
        while (depth >= 0)
        {
            Frame top = levels[depth];
            if (top.Index >= top.Entries.Count)
            {
                depth--;
                continue;
            }

            NodeEntry e = top.Entries[top.Index];
            if (e.SubnodeVcn >= 0 && !top.Descended)
            {
                top.Descended = true;
                if (depth + 1 >= MaxDepth)
                {
                    throw Error(_rootOffset, $"index tree deeper than {MaxDepth} levels");
                }

                if (!visited.Add(e.SubnodeVcn))
                {
                    throw Error(_rootOffset, $"index block VCN {e.SubnodeVcn} is referenced twice (cycle)");
                }

                depth++;
                ReadBlock(e.SubnodeVcn, Level(levels, depth));
                continue;
            }

            top.Index++;
            top.Descended = false;
            if (!e.Last)
            {
                ReadOnlySpan<byte> entry = top.Node.Span.Slice(e.Position, e.Length);
                ReadOnlySpan<byte> key = entry.Slice(EntryOffsets.Key, e.KeyLength);
                ulong reference = BinaryPrimitives.ReadUInt64LittleEndian(entry[EntryOffsets.FileReference..]);
                long record = (long)(reference & 0x0000_FFFF_FFFF_FFFF);
                if (FileNameAttribute.Namespace(key) != FileNameAttribute.NamespaceDos && record != _dir.RecordNumber && record >= minRecordNumber)
                {
                    into.Add(reference, key);
                }
            }
        }
    }

    /// <summary>
    /// Descends the tree for <paramref name="name"/> (case-insensitively via $UpCase); on success <paramref name="found"/>
    /// holds just the entry found, otherwise false.
    /// </summary>
    public bool Find(string name, UpCaseTable upCase, IndexEntryList found)
    {
        found.Clear();
        var frame = new Frame { Node = _root[RootOffsets.NodeHeader..] };
        ParseNode(frame.Node.Span, _rootOffset + RootOffsets.NodeHeader, frame.Entries);
        var visited = new HashSet<long>();
        Span<char> chars = stackalloc char[byte.MaxValue];
        for (int depth = 0; depth < MaxDepth; depth++)
        {
            NodeEntry? next = null;
            foreach (NodeEntry e in frame.Entries)
            {
                if (!e.Last)
                {
                    ReadOnlySpan<byte> entry = frame.Node.Span.Slice(e.Position, e.Length);
                    ReadOnlySpan<byte> key = entry.Slice(EntryOffsets.Key, e.KeyLength);
                    int length = System.Text.Encoding.Unicode.GetChars(FileNameAttribute.Name(key), chars);
                    int c = upCase.Compare(name, chars[..length]);
                    if (c == 0)
                    {
                        found.Add(BinaryPrimitives.ReadUInt64LittleEndian(entry[EntryOffsets.FileReference..]), key);
                        return true;
                    }

                    if (c > 0)
                    {
                        continue;
                    }
                }

                next = e;
                break;
            }

            if (next is not NodeEntry down || down.SubnodeVcn < 0)
            {
                return false;
            }

            if (!visited.Add(down.SubnodeVcn))
            {
                throw Error(_rootOffset, $"index block VCN {down.SubnodeVcn} is referenced twice (cycle)");
            }

            ReadBlock(down.SubnodeVcn, frame);
        }

        throw Error(_rootOffset, $"index tree deeper than {MaxDepth} levels");
    }

    private static Frame Level(List<Frame> levels, int level)
    {
        while (levels.Count <= level)
        {
            levels.Add(new Frame());
        }

        Frame frame = levels[level];
        frame.Index = 0;
        frame.Descended = false;
        return frame;
    }

    // Reads the block at vcn into the frame: the node (in the whole allocation, or in the frame's own block buffer) and its entries.
    private void ReadBlock(long vcn, Frame frame)
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

        Memory<byte> block;
        if (_whole is not null)
        {
            block = _whole.AsMemory((int)offset, _blockSize);
        }
        else
        {
            if (frame.Block is null || frame.Block.Length != _blockSize)
            {
                frame.Block = new byte[_blockSize];
            }

            block = frame.Block;
            _allocation.ReadExactly(block.Span, offset);
        }

        Span<byte> b = block.Span;
        if (BinaryPrimitives.ReadUInt32LittleEndian(b) != IndxMagic)
        {
            throw Error(at, $"index block VCN {vcn} has no \"INDX\" signature");
        }

        string? fix = FixupArray.TryApply(b, BinaryPrimitives.ReadUInt16LittleEndian(b[BlockOffsets.UsaOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(b[BlockOffsets.UsaCount..]));
        if (fix is not null)
        {
            throw Error(at, $"index block VCN {vcn}: {fix}");
        }

        long storedVcn = BinaryPrimitives.ReadInt64LittleEndian(b[BlockOffsets.Vcn..]);
        if (storedVcn != vcn)
        {
            throw Error(at, $"index block read at VCN {vcn} says it is VCN {storedVcn}");
        }

        frame.Node = block[BlockOffsets.NodeHeader..];
        frame.Index = 0;
        frame.Descended = false;
        ParseNode(frame.Node.Span, at + BlockOffsets.NodeHeader, frame.Entries);
    }

    // Checks every entry of a node whose header starts at node[0] and lists them (offsets are relative to that header).
    private void ParseNode(ReadOnlySpan<byte> node, long nodeOffset, List<NodeEntry> entries)
    {
        entries.Clear();
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

            if (!last && !FileNameAttribute.IsValid(e.Slice(EntryOffsets.Key, keyLength)))
            {
                throw Error(nodeOffset + pos, $"index entry key of {keyLength} bytes is not a $FILE_NAME");
            }

            long subnodeVcn = subnode ? BinaryPrimitives.ReadInt64LittleEndian(e[(length - 8)..]) : -1;
            entries.Add(new NodeEntry(pos, length, keyLength, subnodeVcn, last));
            if (last)
            {
                return;
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

    // An entry of a parsed node: where it lies in the node, its key's length, its subnode's VCN (-1: none).
    internal readonly record struct NodeEntry(int Position, int Length, int KeyLength, long SubnodeVcn, bool Last);

    /// <summary>What <see cref="ReadAll"/> reuses from one directory to the next: the allocation buffer, the frames, the visited blocks.</summary>
    public sealed class WalkScratch
    {
        public byte[]? Buffer { get; set; }

        internal List<Frame> Levels { get; } = [];

        internal HashSet<long> Visited { get; } = [];
    }

    // A node being walked: its bytes (from its header on), its entries, the next entry, and whether that entry's subnode
    // was walked already. Block is the level's own buffer when blocks are read one at a time.
    internal sealed class Frame
    {
        public ReadOnlyMemory<byte> Node { get; set; }

        public List<NodeEntry> Entries { get; } = [];

        public int Index { get; set; }

        public bool Descended { get; set; }

        public byte[]? Block { get; set; }
    }
}
