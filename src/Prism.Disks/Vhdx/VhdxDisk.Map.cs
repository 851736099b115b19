using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using Prism.Disks.IO;

namespace Prism.Disks.Vhdx;

/// <summary>
/// Allocation maps from the BAT and sector bitmaps only (never payload): what each layer holds, and which layer
/// serves each virtual range. The fleet scanner's divergence comes from here.
/// </summary>
public sealed partial class VhdxDisk
{
    private const int BatPagesPerRead = 256;

    /// <summary>
    /// The virtual byte ranges this layer holds itself, ascending and coalesced: present blocks and sectors, and in a
    /// differencing disk also blocks that read as zeros instead of the parent (ZERO/UNMAPPED/UNDEFINED override it).
    /// </summary>
    public IEnumerable<ByteRange> GetAllocatedRanges(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long start = -1;
        long end = -1;
        foreach (ByteRange r in EnumerateOwnRanges(cancellationToken))
        {
            if (r.Offset == end)
            {
                end = r.End;
                continue;
            }

            if (start >= 0)
            {
                yield return new ByteRange(start, end - start);
            }

            start = r.Offset;
            end = r.End;
        }

        if (start >= 0)
        {
            yield return new ByteRange(start, end - start);
        }
    }

    /// <summary>Total bytes of <see cref="GetAllocatedRanges"/>.</summary>
    public long GetAllocatedBytes(CancellationToken cancellationToken = default)
    {
        long total = 0;
        foreach (ByteRange r in GetAllocatedRanges(cancellationToken))
        {
            total += r.Length;
        }

        return total;
    }

    /// <summary>
    /// Walks the BAT page by page. A page not in memory has not changed since the file was opened, so the file (through
    /// the storage, a replayed log included) is authoritative for it and for the sector bitmaps it points to: such pages
    /// are read in runs into a scratch buffer and not cached, so mapping a huge sparse disk allocates almost nothing.
    /// Holes of a sparse BAT region are skipped without reading.
    /// </summary>
    private IEnumerable<ByteRange> EnumerateOwnRanges(CancellationToken cancellationToken)
    {
        var walk = new BatWalk(this);
        var found = new List<ByteRange>();
        try
        {
            for (int p = 0; p < BatPageCount; p++)
            {
                if ((p & 255) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                found.Clear();
                ScanBatPage(walk, p, found);
                foreach (ByteRange r in found)
                {
                    yield return r;
                }
            }
        }
        finally
        {
            walk.Dispose();
        }
    }

    /// <summary>Adds the ranges that BAT page <paramref name="p"/> says this layer holds.</summary>
    private void ScanBatPage(BatWalk walk, int p, List<ByteRange> found)
    {
        ReadOnlySpan<ulong> page = walk.Page(p);
        if (page.IsEmpty)
        {
            return;
        }

        long stride = ChunkRatio + 1;
        long firstIndex = (long)p * EntriesPerPage;
        int limit = (int)Math.Min(EntriesPerPage, BatEntryCount - firstIndex);
        int at = 0;
        while (at < limit)
        {
            // Most entries of a sparse child are zero (NOT_PRESENT): skip them with a vectorized search.
            int next = page[at..limit].IndexOfAnyExcept(0UL);
            if (next < 0)
            {
                break;
            }

            at += next;
            long index = firstIndex + at;
            ulong entry = page[at];
            at++;
            if (index % stride == ChunkRatio)
            {
                continue;
            }

            int state = StateOf(entry);
            long block = index - (index / stride);
            if (state == StateNotPresent || block >= DataBlockCount)
            {
                continue;
            }

            long blockStart = block * BlockSize;
            long blockEnd = Math.Min(VirtualSize, blockStart + BlockSize);
            if (state == StateFullyPresent)
            {
                found.Add(new ByteRange(blockStart, blockEnd - blockStart));
            }
            else if (state == StatePartiallyPresent && _metadata.HasParent)
            {
                long sbIndex = BitmapBatIndex(block / ChunkRatio);
                long sbOffset = CheckedBitmapOffset(sbIndex, sbIndex < BatEntryCount ? walk.Entry(sbIndex) : 0, index);
                long firstBit = (block % ChunkRatio) * SectorsPerBlock;
                ReadOnlySpan<byte> bits = walk.Bitmap(sbOffset + (firstBit / 8), SectorsPerBlock / 8);
                AddSetBitRuns(bits, blockStart, blockEnd, found);
            }
            else if (_metadata.HasParent && state is StateUndefined or StateZero or StateUnmapped or StateUnmappedV095)
            {
                found.Add(new ByteRange(blockStart, blockEnd - blockStart));
            }
            else if (state is not (StateUndefined or StateZero or StateUnmapped or StateUnmappedV095))
            {
                ThrowBadEntry(index, entry, $"payload block state {state} is not valid here");
            }
        }
    }

    /// <summary>Adds the byte ranges of the runs of set bits (present sectors) of one block's bitmap.</summary>
    private void AddSetBitRuns(ReadOnlySpan<byte> bits, long blockStart, long blockEnd, List<ByteRange> found)
    {
        long runStart = -1;
        int words = bits.Length / 8;
        for (int w = 0; w < words; w++)
        {
            ulong word = BinaryPrimitives.ReadUInt64LittleEndian(bits[(w * 8)..]);
            int bit = 0;
            while (bit < 64)
            {
                ulong rest = word >> bit;
                if (runStart < 0)
                {
                    if (rest == 0)
                    {
                        break;
                    }

                    bit += BitOperations.TrailingZeroCount(rest);
                    runStart = ((long)w * 64) + bit;
                }
                else
                {
                    // Ones up to the first clear bit; the zeros shifted in from the top read as ones here, so a run
                    // that reaches the end of the word carries on into the next one.
                    bit += BitOperations.TrailingZeroCount(~rest);
                    if (bit >= 64)
                    {
                        break;
                    }

                    AddSectorRun(runStart, ((long)w * 64) + bit);
                    runStart = -1;
                }
            }
        }

        if (runStart >= 0)
        {
            AddSectorRun(runStart, (long)words * 64);
        }

        void AddSectorRun(long first, long end)
        {
            long s = blockStart + (first * LogicalSectorSize);
            long e = Math.Min(blockEnd, blockStart + (end * LogicalSectorSize));
            if (e > s)
            {
                found.Add(new ByteRange(s, e - s));
            }
        }
    }

    /// <summary>
    /// BAT pages and sector-bitmap bytes for one walk of the allocation map: from memory where a page is loaded (it may
    /// hold changes not yet flushed), else from the file in runs of up to 256 pages over the BAT region's data extents.
    /// </summary>
    private sealed class BatWalk : IDisposable
    {
        private readonly VhdxDisk _disk;
        private readonly List<(int First, int End)> _dataPages = [];
        private readonly byte[] _window;
        private readonly byte[] _bits;
        private readonly ulong[] _single = new ulong[EntriesPerPage];
        private int _windowFirst = -1;
        private int _windowCount;
        private int _extent;

        public BatWalk(VhdxDisk disk)
        {
            _disk = disk;
            long regionEnd = disk._batOffset + ((long)disk.BatPageCount * PageSize);
            foreach ((long start, long end) in disk._storage.GetDataExtents(disk._batOffset, regionEnd))
            {
                int first = (int)((start - disk._batOffset) / PageSize);
                int last = (int)Math.Min(disk.BatPageCount, VhdxLayout.CeilDiv(end - disk._batOffset, PageSize));
                if (last > first)
                {
                    _dataPages.Add((first, last));
                }
            }

            _window = System.Buffers.ArrayPool<byte>.Shared.Rent(BatPagesPerRead * PageSize);
            _bits = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(8, disk.SectorsPerBlock / 8));
        }

        /// <summary>The entries of BAT page <paramref name="p"/>, or empty when the page is all zeros; pages are asked for in ascending order.</summary>
        public ReadOnlySpan<ulong> Page(int p)
        {
            ulong[]? cached = Volatile.Read(ref _disk._batPages[p]);
            if (cached is not null)
            {
                return ReferenceEquals(cached, s_zeroBatPage) ? [] : cached;
            }

            while (_extent < _dataPages.Count && _dataPages[_extent].End <= p)
            {
                _extent++;
            }

            if (_extent == _dataPages.Count || _dataPages[_extent].First > p)
            {
                return []; // a hole of the sparse BAT region reads as zeros
            }

            if (p < _windowFirst || p >= _windowFirst + _windowCount)
            {
                _windowFirst = p;
                _windowCount = Math.Min(BatPagesPerRead, _dataPages[_extent].End - p);
                ReadZeroFilled(_disk._storage, _window.AsSpan(0, _windowCount * PageSize), _disk._batOffset + ((long)p * PageSize));
            }

            ReadOnlySpan<byte> raw = _window.AsSpan((p - _windowFirst) * PageSize, PageSize);
            if (!raw.ContainsAnyExcept((byte)0))
            {
                return [];
            }

            return BitConverter.IsLittleEndian ? MemoryMarshal.Cast<byte, ulong>(raw) : DecodeBatPage(raw, _single);
        }

        /// <summary>One BAT entry (a sector-bitmap entry, which may lie on a later page than the one being walked).</summary>
        public ulong Entry(long index)
        {
            int p = (int)(index / EntriesPerPage);
            int slot = (int)(index % EntriesPerPage);
            ulong[]? cached = Volatile.Read(ref _disk._batPages[p]);
            if (cached is not null)
            {
                return cached[slot];
            }

            if (p >= _windowFirst && p < _windowFirst + _windowCount)
            {
                return BinaryPrimitives.ReadUInt64LittleEndian(_window.AsSpan(((p - _windowFirst) * PageSize) + (slot * 8)));
            }

            Span<byte> one = stackalloc byte[8];
            ReadZeroFilled(_disk._storage, one, _disk.BatEntryFileOffset(index));
            return BinaryPrimitives.ReadUInt64LittleEndian(one);
        }

        /// <summary><paramref name="length"/> bytes of a sector bitmap at <paramref name="fileOffset"/>.</summary>
        public ReadOnlySpan<byte> Bitmap(long fileOffset, int length)
        {
            Span<byte> bits = _bits.AsSpan(0, length);
            long end = fileOffset + length;
            long pos = fileOffset;
            while (pos < end)
            {
                long pageOffset = pos - (pos % PageSize);
                int n = (int)Math.Min(end - pos, pageOffset + PageSize - pos);
                Span<byte> piece = bits.Slice((int)(pos - fileOffset), n);
                if (_disk._sbPages.TryGetValue(pageOffset, out byte[]? page))
                {
                    page.AsSpan((int)(pos - pageOffset), n).CopyTo(piece);
                    pos += n;
                    continue;
                }

                // Read up to the next loaded page in one go.
                long stop = pageOffset + PageSize;
                while (stop < end && !_disk._sbPages.ContainsKey(stop))
                {
                    stop += PageSize;
                }

                int span = (int)(Math.Min(stop, end) - pos);
                ReadZeroFilled(_disk._storage, bits.Slice((int)(pos - fileOffset), span), pos);
                pos += span;
            }

            return bits;
        }

        public void Dispose()
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(_window);
            System.Buffers.ArrayPool<byte>.Shared.Return(_bits);
        }
    }

    /// <summary>
    /// Where the disk with <paramref name="ancestor"/>'s identity (DiskId and DataWriteGuid) stands in <see cref="Chain"/>
    /// (0: this disk itself); -1 when the chain holds no such disk.
    /// </summary>
    public int IndexInChain(VhdxDisk ancestor)
    {
        ArgumentNullException.ThrowIfNull(ancestor);
        IReadOnlyList<VhdxDisk> chain = Chain;
        for (int i = 0; i < chain.Count; i++)
        {
            if (chain[i].DataWriteGuid == ancestor.DataWriteGuid && chain[i].DiskId == ancestor.DiskId)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// The ranges of a chain map (<see cref="GetChainMap"/>) that layers above <paramref name="layer"/> serve, ascending and
    /// coalesced: where the disk may differ from that layer.
    /// </summary>
    public static List<ByteRange> RangesAbove(IReadOnlyList<ChainRange> map, int layer)
    {
        ArgumentNullException.ThrowIfNull(map);
        var ranges = new List<ByteRange>();
        foreach (ChainRange r in map)
        {
            if (r.Layer >= layer)
            {
                continue;
            }

            if (ranges.Count > 0 && ranges[^1].End == r.Offset)
            {
                ranges[^1] = new ByteRange(ranges[^1].Offset, ranges[^1].Length + r.Length);
            }
            else
            {
                ranges.Add(new ByteRange(r.Offset, r.Length));
            }
        }

        return ranges;
    }

    /// <summary>
    /// For the whole chain: which layer serves each virtual range, ascending and coalesced. Ranges no layer holds
    /// (they read as zeros) are left out.
    /// </summary>
    public IReadOnlyList<ChainRange> GetChainMap(CancellationToken cancellationToken = default)
    {
        IReadOnlyList<VhdxDisk> chain = Chain;
        var own = new List<ByteRange>[chain.Count];
        for (int i = 0; i < chain.Count; i++)
        {
            own[i] = chain[i].GetAllocatedRanges(cancellationToken).ToList();
        }

        var result = new List<ChainRange>();
        Fill(0, 0, VirtualSize);
        return result;

        void Fill(int layer, long start, long end)
        {
            if (layer >= own.Length || start >= end)
            {
                return;
            }

            List<ByteRange> ranges = own[layer];
            int i = FirstEndingAfter(ranges, start);
            long cursor = start;
            for (; i < ranges.Count && ranges[i].Offset < end; i++)
            {
                long s = Math.Max(ranges[i].Offset, start);
                long e = Math.Min(ranges[i].End, end);
                Fill(layer + 1, cursor, s);
                Add(new ChainRange(s, e - s, layer));
                cursor = e;
            }

            Fill(layer + 1, cursor, end);
        }

        void Add(ChainRange r)
        {
            if (result.Count > 0 && result[^1].Layer == r.Layer && result[^1].End == r.Offset)
            {
                result[^1] = result[^1] with { Length = result[^1].Length + r.Length };
            }
            else
            {
                result.Add(r);
            }
        }
    }

    private static int FirstEndingAfter(List<ByteRange> ranges, long offset)
    {
        int lo = 0;
        int hi = ranges.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (ranges[mid].End <= offset)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
