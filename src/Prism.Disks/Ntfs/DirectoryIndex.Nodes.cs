using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Text;
using Prism.Disks.IO;

namespace Prism.Disks.Ntfs;

/// <summary>The $I30 tree node by node, for walk snapshots: unchanged blocks are taken from a previous walk without reading.</summary>
internal sealed partial class DirectoryIndex
{
    /// <summary>
    /// The nodes reachable from the root, each checked as <see cref="ReadAll"/> checks it (bounds, $BITMAP, signature,
    /// fix-ups, VCN, entries), with the entries <see cref="ReadAll"/> would list. A block whose volume ranges equal those
    /// of the node of the same VCN in <paramref name="previous"/> and do not overlap <paramref name="changed"/> is taken
    /// from there (its bytes are those that node was decoded from); every other block is read. Throws
    /// <see cref="Errors.NtfsFormatException"/> on corruption.
    /// </summary>
    public ImmutableArray<NtfsWalkSnapshot.IndexNode> ReadNodes(IReadOnlyDictionary<long, NtfsWalkSnapshot.IndexNode>? previous, RangeSet? changed,
        long minRecordNumber, ref long blocksRead)
    {
        var nodes = ImmutableArray.CreateBuilder<NtfsWalkSnapshot.IndexNode>();
        var frame = new Frame { Node = _root[RootOffsets.NodeHeader..] };
        ParseNode(frame.Node.Span, _rootOffset + RootOffsets.NodeHeader, frame.Entries);
        nodes.Add(Capture(NtfsWalkSnapshot.IndexNode.RootVcn, [], frame, minRecordNumber));
        var visited = new HashSet<long>();
        var pending = new Stack<(long Vcn, int Depth)>();
        PushSubnodes(nodes[^1], 1, pending);
        while (pending.TryPop(out (long Vcn, int Depth) next))
        {
            if (next.Depth >= MaxDepth)
            {
                throw Error(_rootOffset, $"index tree deeper than {MaxDepth} levels");
            }

            if (!visited.Add(next.Vcn))
            {
                throw Error(_rootOffset, $"index block VCN {next.Vcn} is referenced twice (cycle)");
            }

            ImmutableArray<ByteRange> ranges = BlockRanges(next.Vcn);
            NtfsWalkSnapshot.IndexNode node;
            if (previous is not null && previous.TryGetValue(next.Vcn, out NtfsWalkSnapshot.IndexNode? known)
                && known.Ranges.SequenceEqual(ranges) && changed is not null && !changed.Overlaps(ranges))
            {
                CheckInUse(next.Vcn);
                node = known;
            }
            else
            {
                ReadBlock(next.Vcn, frame);
                blocksRead++;
                node = Capture(next.Vcn, ranges, frame, minRecordNumber);
            }

            nodes.Add(node);
            PushSubnodes(node, next.Depth + 1, pending);
        }

        return nodes.ToImmutable();
    }

    /// <summary>Volume ranges of the non-resident $BITMAP of $I30 (empty when resident or absent).</summary>
    public ImmutableArray<ByteRange> BitmapRanges()
    {
        NtfsAttribute? bitmap = _dir.GetStream(NtfsAttributeType.Bitmap, I30, _volumeName);
        return bitmap is null || bitmap.IsResident ? [] : RunRanges(bitmap.Runs, 0, bitmap.MappedClusters * _clusterSize);
    }

    private static void PushSubnodes(NtfsWalkSnapshot.IndexNode node, int depth, Stack<(long, int)> pending)
    {
        for (int i = node.Subnodes.Length - 1; i >= 0; i--)
        {
            pending.Push((node.Subnodes[i], depth));
        }
    }

    // The node in frame as a snapshot node: the entries ReadAll would list, and its subnodes.
    private NtfsWalkSnapshot.IndexNode Capture(long vcn, ImmutableArray<ByteRange> ranges, Frame frame, long minRecordNumber)
    {
        var entries = ImmutableArray.CreateBuilder<NtfsWalkSnapshot.IndexEntry>();
        var subnodes = ImmutableArray.CreateBuilder<long>();
        ReadOnlySpan<byte> node = frame.Node.Span;
        foreach (NodeEntry e in frame.Entries)
        {
            if (e.SubnodeVcn >= 0)
            {
                subnodes.Add(e.SubnodeVcn);
            }

            if (e.Last)
            {
                continue;
            }

            ReadOnlySpan<byte> entry = node.Slice(e.Position, e.Length);
            ReadOnlySpan<byte> key = entry.Slice(EntryOffsets.Key, e.KeyLength);
            ulong reference = BinaryPrimitives.ReadUInt64LittleEndian(entry[EntryOffsets.FileReference..]);
            long record = (long)(reference & 0x0000_FFFF_FFFF_FFFF);
            if (FileNameAttribute.Namespace(key) != FileNameAttribute.NamespaceDos && record != _dir.RecordNumber && record >= minRecordNumber)
            {
                entries.Add(new NtfsWalkSnapshot.IndexEntry(Encoding.Unicode.GetString(FileNameAttribute.Name(key)), record, (ushort)(reference >> 48),
                    FileNameAttribute.ParentRecordNumber(key)));
            }
        }

        return new NtfsWalkSnapshot.IndexNode(vcn, ranges, entries.ToImmutable(), subnodes.ToImmutable());
    }

    // The volume ranges holding the block at vcn (checked against the allocation's size as ReadBlock checks it).
    private ImmutableArray<ByteRange> BlockRanges(long vcn)
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

        return RunRanges(_allocationData!.Runs, offset, _blockSize);
    }

    // A block taken from a previous walk must still be marked in use, as ReadBlock requires.
    private void CheckInUse(long vcn)
    {
        long blockNumber = vcn * _vcnUnit / _blockSize;
        if (_bitmap is not null && (blockNumber / 8 >= _bitmap.Length || (_bitmap[blockNumber / 8] & (1 << (int)(blockNumber % 8))) == 0))
        {
            throw Error(ToVolumeOffset(vcn * _vcnUnit), $"index block VCN {vcn} is not marked in use in $BITMAP");
        }
    }

    // Volume ranges of stream bytes [offset, offset + length) under runs (sparse parts left out), adjacent pieces merged.
    private ImmutableArray<ByteRange> RunRanges(ImmutableArray<DataRun> runs, long offset, long length)
    {
        var ranges = ImmutableArray.CreateBuilder<ByteRange>();
        long end = offset + length;
        foreach (DataRun run in runs)
        {
            long runStart = run.Vcn * _clusterSize;
            long runEnd = run.NextVcn * _clusterSize;
            if (runEnd <= offset || run.IsSparse)
            {
                continue;
            }

            if (runStart >= end)
            {
                break;
            }

            long from = Math.Max(offset, runStart);
            long to = Math.Min(end, runEnd);
            var r = new ByteRange((run.Lcn * _clusterSize) + (from - runStart), to - from);
            if (ranges.Count > 0 && ranges[^1].End == r.Offset)
            {
                ranges[^1] = new ByteRange(ranges[^1].Offset, ranges[^1].Length + r.Length);
            }
            else
            {
                ranges.Add(r);
            }
        }

        return ranges.ToImmutable();
    }
}
