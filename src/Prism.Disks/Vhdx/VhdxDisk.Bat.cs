using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Prism.Disks.Errors;

namespace Prism.Disks.Vhdx;

/// <summary>BAT and sector-bitmap pages, loaded lazily so that opening a 64 TiB disk reads almost nothing.</summary>
public sealed partial class VhdxDisk
{
    internal const int PageSize = 4096;
    internal const int EntriesPerPage = PageSize / 8;
    internal const int BitsPerPage = PageSize * 8;

    internal const int StateNotPresent = 0;
    internal const int StateUndefined = 1;
    internal const int StateZero = 2;
    internal const int StateUnmapped = 3;
    internal const int StateUnmappedV095 = 5;
    internal const int StateFullyPresent = 6;
    internal const int StatePartiallyPresent = 7;
    internal const int SbStatePresent = 6;

    /// <summary>Shared all-zero BAT page: never written (pages are copied before the first change).</summary>
    private static readonly ulong[] s_zeroBatPage = new ulong[EntriesPerPage];

    private ulong[]?[] _batPages = [];
    private long _batOffset;
    private readonly ConcurrentDictionary<long, byte[]> _sbPages = new();
    private readonly HashSet<int> _dirtyBatPages = [];
    private readonly HashSet<long> _dirtySbPages = [];

    private void InitBat()
    {
        _batOffset = _regions.Bat.FileOffset;
        _batPages = new ulong[]?[VhdxLayout.CeilDiv(BatEntryCount, EntriesPerPage)];
    }

    internal long PayloadBatIndex(long block) => block + (block / ChunkRatio);

    internal long BitmapBatIndex(long chunk) => (chunk * (ChunkRatio + 1)) + ChunkRatio;

    internal long BatEntryFileOffset(long index) => _batOffset + (index * 8);

    internal ulong GetBatEntry(long index)
    {
        ulong[] page = GetBatPage((int)(index / EntriesPerPage));
        return page[index % EntriesPerPage];
    }

    private ulong[] GetBatPage(int pageIndex)
    {
        ulong[]? page = Volatile.Read(ref _batPages[pageIndex]);
        if (page is not null)
        {
            return page;
        }

        LoadBatPages(pageIndex, 1);
        return _batPages[pageIndex]!;
    }

    /// <summary>Loads <paramref name="count"/> BAT pages from <paramref name="first"/> in one read; all-zero pages share one array.</summary>
    internal void LoadBatPages(int first, int count)
    {
        count = Math.Min(count, _batPages.Length - first);
        byte[] buf = System.Buffers.ArrayPool<byte>.Shared.Rent(count * PageSize);
        try
        {
            ReadZeroFilled(_storage, buf.AsSpan(0, count * PageSize), _batOffset + ((long)first * PageSize));
            for (int i = 0; i < count; i++)
            {
                if (Volatile.Read(ref _batPages[first + i]) is not null)
                {
                    continue;
                }

                ReadOnlySpan<byte> raw = buf.AsSpan(i * PageSize, PageSize);
                ulong[] page;
                if (!raw.ContainsAnyExcept((byte)0))
                {
                    page = s_zeroBatPage;
                }
                else
                {
                    // Hot path of the allocation map (thousands of pages): no zeroing, a straight copy on little-endian hosts.
                    page = GC.AllocateUninitializedArray<ulong>(EntriesPerPage, pinned: true);
                    DecodeBatPage(raw, page);
                }

                Interlocked.CompareExchange(ref _batPages[first + i], page, null);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buf);
        }
    }

    internal int BatPageCount => _batPages.Length;

    private void SetBatEntry(long index, ulong value)
    {
        int pageIndex = (int)(index / EntriesPerPage);
        ulong[] page = GetBatPage(pageIndex);
        if (ReferenceEquals(page, s_zeroBatPage))
        {
            page = new ulong[EntriesPerPage];
            Volatile.Write(ref _batPages[pageIndex], page);
        }

        Volatile.Write(ref page[index % EntriesPerPage], value);
        _dirtyBatPages.Add(pageIndex);
    }

    /// <summary>Decodes one raw (little-endian) BAT page into <paramref name="into"/>: a straight copy on little-endian hosts.</summary>
    private static ulong[] DecodeBatPage(ReadOnlySpan<byte> raw, ulong[] into)
    {
        if (BitConverter.IsLittleEndian)
        {
            raw.CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(into.AsSpan()));
        }
        else
        {
            for (int e = 0; e < EntriesPerPage; e++)
            {
                into[e] = BinaryPrimitives.ReadUInt64LittleEndian(raw[(e * 8)..]);
            }
        }

        return into;
    }

    internal static int StateOf(ulong entry) => (int)(entry & 7);

    internal static long OffsetOf(ulong entry) => (long)(entry >> 20) << 20;

    /// <summary>The file offset of a block whose entry says FULLY or PARTIALLY_PRESENT, validated.</summary>
    private long PayloadOffset(long batIndex, ulong entry)
    {
        long offset = OffsetOf(entry);
        if (offset < VhdxLayout.HeaderAreaSize)
        {
            ThrowBadEntry(batIndex, entry, "payload block points into the 1 MiB header area");
        }

        if (offset > _storage.Length - BlockSize)
        {
            ThrowBadEntry(batIndex, entry,
                $"payload block at 0x{offset:X} extends past the end of the file (0x{_storage.Length:X}); the file is truncated or the entry is corrupt");
        }

        return offset;
    }

    [DoesNotReturn]
    private void ThrowBadEntry(long batIndex, ulong entry, string why) =>
        throw new VhdxFormatException(Path, "VHDX BAT entry", BatEntryFileOffset(batIndex),
            $"entry {batIndex} = 0x{entry:X16}: {why}");

    /// <summary>File offset of chunk <paramref name="chunk"/>'s sector-bitmap block; throws when a partial block has none.</summary>
    private long BitmapOffset(long chunk, long payloadIndex)
    {
        long sbIndex = BitmapBatIndex(chunk);
        return CheckedBitmapOffset(sbIndex, sbIndex < BatEntryCount ? GetBatEntry(sbIndex) : 0, payloadIndex);
    }

    /// <summary>
    /// The file offset that sector-bitmap entry <paramref name="sbIndex"/> (value <paramref name="sb"/>) gives the
    /// partially present block at <paramref name="payloadIndex"/>; throws when the entry is not SB_BLOCK_PRESENT.
    /// </summary>
    private long CheckedBitmapOffset(long sbIndex, ulong sb, long payloadIndex)
    {
        if (StateOf(sb) != SbStatePresent || OffsetOf(sb) < VhdxLayout.HeaderAreaSize)
        {
            ThrowBadEntry(payloadIndex, GetBatEntry(payloadIndex),
                $"block is PARTIALLY_PRESENT but its sector-bitmap entry {sbIndex} (0x{sb:X16}) is not SB_BLOCK_PRESENT");
        }

        return OffsetOf(sb);
    }

    private byte[] GetSbPage(long pageFileOffset)
    {
        if (_sbPages.TryGetValue(pageFileOffset, out byte[]? page))
        {
            return page;
        }

        page = GC.AllocateUninitializedArray<byte>(PageSize, pinned: true);
        ReadZeroFilled(_storage, page, pageFileOffset);
        return _sbPages.GetOrAdd(pageFileOffset, page);
    }

    /// <summary>
    /// Starting at bit <paramref name="bit"/> of the bitmap at <paramref name="sbOffset"/>, the value of that bit and how
    /// many consecutive bits (up to <paramref name="bitEnd"/>) share it.
    /// </summary>
    internal (bool Present, long Count) NextBitRun(long sbOffset, long bit, long bitEnd)
    {
        bool present = GetBit(sbOffset, bit);
        long i = bit;
        while (i < bitEnd)
        {
            byte[] page = GetSbPage(sbOffset + ((i / BitsPerPage) * PageSize));
            long pageBitEnd = Math.Min(bitEnd, ((i / BitsPerPage) + 1) * BitsPerPage);
            while (i < pageBitEnd)
            {
                int inPage = (int)(i % BitsPerPage);
                ulong word = BinaryPrimitives.ReadUInt64LittleEndian(page.AsSpan((inPage >> 6) * 8));
                if (!present)
                {
                    word = ~word;
                }

                int shift = inPage & 63;
                word >>= shift;
                int avail = 64 - shift;
                int ones = System.Numerics.BitOperations.TrailingZeroCount(~word);
                if (ones < avail)
                {
                    i += ones;
                    return (present, Math.Min(i, bitEnd) - bit);
                }

                i += avail;
            }
        }

        return (present, bitEnd - bit);
    }

    private bool GetBit(long sbOffset, long bit)
    {
        byte[] page = GetSbPage(sbOffset + ((bit / BitsPerPage) * PageSize));
        int inPage = (int)(bit % BitsPerPage);
        return (page[inPage >> 3] & (1 << (inPage & 7))) != 0;
    }

    private void SetBits(long sbOffset, long bit, long count)
    {
        long end = bit + count;
        while (bit < end)
        {
            long pageOffset = sbOffset + ((bit / BitsPerPage) * PageSize);
            byte[] page = GetSbPage(pageOffset);
            int inPage = (int)(bit % BitsPerPage);
            int n = (int)Math.Min(end - bit, BitsPerPage - inPage);
            int i = inPage;
            int stop = inPage + n;
            while (i < stop && (i & 7) != 0)
            {
                page[i >> 3] |= (byte)(1 << (i & 7));
                i++;
            }

            int fullBytes = (stop - i) >> 3;
            if (fullBytes > 0)
            {
                page.AsSpan(i >> 3, fullBytes).Fill(0xFF);
                i += fullBytes * 8;
            }

            while (i < stop)
            {
                page[i >> 3] |= (byte)(1 << (i & 7));
                i++;
            }

            _dirtySbPages.Add(pageOffset);
            bit += n;
        }
    }
}
