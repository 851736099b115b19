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

    private IEnumerable<ByteRange> EnumerateOwnRanges(CancellationToken cancellationToken)
    {
        long stride = ChunkRatio + 1;
        LoadAllBatPages(cancellationToken);
        for (int firstPage = 0; firstPage < BatPageCount; firstPage += BatPagesPerRead)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int lastPage = Math.Min(BatPageCount, firstPage + BatPagesPerRead);
            for (int p = firstPage; p < lastPage; p++)
            {
                if (IsZeroBatPage(p))
                {
                    continue;
                }

                long firstIndex = (long)p * EntriesPerPage;
                ulong[] page = BatPageEntries(p);
                int limit = (int)Math.Min(EntriesPerPage, BatEntryCount - firstIndex);
                int at = 0;
                while (true)
                {
                    // Most entries of a sparse child are zero (NOT_PRESENT): skip them with a vectorized search.
                    int next = page.AsSpan(at, limit - at).IndexOfAnyExcept(0UL);
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
                    if (state == StateNotPresent)
                    {
                        continue;
                    }

                    long block = index - (index / stride);
                    if (block >= DataBlockCount)
                    {
                        continue;
                    }

                    long blockStart = block * BlockSize;
                    long blockEnd = Math.Min(VirtualSize, blockStart + BlockSize);
                    if (state == StateFullyPresent)
                    {
                        yield return new ByteRange(blockStart, blockEnd - blockStart);
                    }
                    else if (state == StatePartiallyPresent && _metadata.HasParent)
                    {
                        long sbOffset = BitmapOffset(block / ChunkRatio, index);
                        long bit = (block % ChunkRatio) * SectorsPerBlock;
                        long blockEndBit = bit + SectorsPerBlock;
                        long sector = 0;
                        while (bit < blockEndBit)
                        {
                            (bool present, long count) = NextBitRun(sbOffset, bit, blockEndBit);
                            if (present)
                            {
                                long s = blockStart + (sector * LogicalSectorSize);
                                long e = Math.Min(blockEnd, s + (count * LogicalSectorSize));
                                if (e > s)
                                {
                                    yield return new ByteRange(s, e - s);
                                }
                            }

                            bit += count;
                            sector += count;
                        }
                    }
                    else if (_metadata.HasParent && state is StateUndefined or StateZero or StateUnmapped or StateUnmappedV095)
                    {
                        yield return new ByteRange(blockStart, blockEnd - blockStart);
                    }
                    else if (state is not (StateUndefined or StateZero or StateUnmapped or StateUnmappedV095))
                    {
                        ThrowBadEntry(index, entry, $"payload block state {state} is not valid here");
                    }
                }
            }
        }
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
