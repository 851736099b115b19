namespace Prism.Disks.Vhdx;

/// <summary>
/// Writing: payload goes straight to its block; BAT and sector-bitmap pages are buffered and committed on
/// <see cref="Flush"/> through the VHDX log (write-ahead), so a crash at any point leaves a file that replays
/// to the last completed flush.
/// </summary>
public sealed partial class VhdxDisk
{
    private readonly Lock _writeLock = new();
    private bool _sessionStarted;
    private bool _payloadDirty;
    private ulong _logSequence;
    private long _logWritePosition;

    /// <summary>
    /// Writes <paramref name="data"/> at virtual <paramref name="offset"/> (any alignment). Never touches a parent.
    /// The data is durable once <see cref="Flush"/> returns.
    /// </summary>
    /// <exception cref="InvalidOperationException">The disk was opened read-only.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range does not lie inside the virtual disk.</exception>
    public void Write(ReadOnlySpan<byte> data, long offset)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_storage.CanWrite)
        {
            throw new InvalidOperationException($"{Path} is open read-only");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset > VirtualSize || data.Length > VirtualSize - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset),
                $"write of {data.Length} bytes at 0x{offset:X} passes the end of the {VirtualSize}-byte disk");
        }

        if (data.IsEmpty)
        {
            return;
        }

        lock (_writeLock)
        {
            StartSession();
            int lss = LogicalSectorSize;
            Span<byte> sector = stackalloc byte[lss];
            if (offset % lss != 0 || data.Length < lss)
            {
                // Unaligned head: merge with what the sector reads as now (through the chain), then write it whole.
                long sectorStart = offset - (offset % lss);
                ReadCore(sector, sectorStart);
                int inSector = (int)(offset - sectorStart);
                int n = Math.Min(lss - inSector, data.Length);
                data[..n].CopyTo(sector[inSector..]);
                WriteSectors(sector, sectorStart);
                data = data[n..];
                offset += n;
            }

            int middle = data.Length / lss * lss;
            if (middle > 0)
            {
                WriteSectors(data[..middle], offset);
                data = data[middle..];
                offset += middle;
            }

            if (!data.IsEmpty)
            {
                ReadCore(sector, offset);
                data.CopyTo(sector);
                WriteSectors(sector, offset);
            }
        }
    }

    /// <summary>Writes whole logical sectors at a sector-aligned virtual offset.</summary>
    private void WriteSectors(ReadOnlySpan<byte> data, long offset)
    {
        _payloadDirty = true;
        while (!data.IsEmpty)
        {
            long block = offset / BlockSize;
            long inBlock = offset % BlockSize;
            int n = (int)Math.Min(data.Length, BlockSize - inBlock);
            ReadOnlySpan<byte> piece = data[..n];
            long index = PayloadBatIndex(block);
            ulong entry = GetBatEntry(index);
            switch (StateOf(entry))
            {
                case StateFullyPresent:
                    _storage.Write(piece, PayloadOffset(index, entry) + inBlock);
                    break;
                case StatePartiallyPresent when _metadata.HasParent:
                    _storage.Write(piece, PayloadOffset(index, entry) + inBlock);
                    SetBits(BitmapOffset(block / ChunkRatio, index), ((block % ChunkRatio) * SectorsPerBlock) + (inBlock / LogicalSectorSize),
                        n / LogicalSectorSize);
                    break;
                case StateNotPresent when _metadata.HasParent && n < BlockSize:
                    {
                        // Hyper-V's way: the block becomes PARTIALLY_PRESENT and only the written sectors' bits are set;
                        // the rest keeps showing the parent. The new block is zero where its bits are 0.
                        long sbOffset = EnsureBitmapBlock(block / ChunkRatio);
                        long fileOffset = AllocateBlock(BlockSize);
                        _storage.Write(piece, fileOffset + inBlock);
                        SetBits(sbOffset, ((block % ChunkRatio) * SectorsPerBlock) + (inBlock / LogicalSectorSize), n / LogicalSectorSize);
                        SetBatEntry(index, (ulong)fileOffset | StatePartiallyPresent);
                        break;
                    }

                case StateNotPresent or StateUndefined or StateZero or StateUnmapped or StateUnmappedV095:
                    {
                        // Whole-block write into a child, or a block that reads as zeros: the rest of the new block is zero,
                        // which is exactly what it read as (MS-VHDX 2.5.1).
                        long fileOffset = AllocateBlock(BlockSize);
                        _storage.Write(piece, fileOffset + inBlock);
                        SetBatEntry(index, (ulong)fileOffset | StateFullyPresent);
                        break;
                    }

                default:
                    ThrowBadEntry(index, entry, $"payload block state {StateOf(entry)} cannot be written");
                    break;
            }

            data = data[n..];
            offset += n;
        }
    }

    private long EnsureBitmapBlock(long chunk)
    {
        long sbIndex = BitmapBatIndex(chunk);
        ulong sb = GetBatEntry(sbIndex);
        if (StateOf(sb) == SbStatePresent && OffsetOf(sb) >= VhdxLayout.HeaderAreaSize)
        {
            return OffsetOf(sb);
        }

        long fileOffset = AllocateBlock(VhdxLayout.MiB);
        SetBatEntry(sbIndex, (ulong)fileOffset | SbStatePresent);
        return fileOffset;
    }

    /// <summary>Appends a zeroed, 1 MiB-aligned area at the end of the file (MS-VHDX 2.5: blocks are 1 MiB aligned).</summary>
    private long AllocateBlock(long length)
    {
        long fileOffset = VhdxLayout.RoundUp(_storage.Length, VhdxLayout.MiB);
        _storage.SetLength(fileOffset + length);
        return fileOffset;
    }

    /// <summary>
    /// The first write of a session renews FileWriteGuid and DataWriteGuid before any byte changes (MS-VHDX 2.2.2.1):
    /// children of this disk that were made before now will see that their parent changed.
    /// </summary>
    private void StartSession()
    {
        if (_sessionStarted)
        {
            return;
        }

        (_header, _currentHeaderSlot) = WriteHeaderPair(_storage,
            _header with { FileWriteGuid = Guid.NewGuid(), DataWriteGuid = Guid.NewGuid() }, _header, _currentHeaderSlot);
        _sessionStarted = true;
    }

    /// <summary>
    /// Makes <paramref name="length"/> bytes at <paramref name="offset"/> read as zeros. Blocks the range covers whole are
    /// recorded in the BAT as PAYLOAD_BLOCK_ZERO (zeros even in a differencing disk: the parent is hidden, never touched, and
    /// no payload is written); the partial blocks at either end are written with zeros. Durable once <see cref="Flush"/> returns.
    /// </summary>
    /// <exception cref="InvalidOperationException">The disk was opened read-only.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range does not lie inside the virtual disk.</exception>
    public void WriteZeroes(long offset, long length)
    {
        (long firstWhole, long endWhole) = ZeroWholeBlocks(offset, length);
        if (endWhole <= firstWhole)
        {
            WriteZeroBytes(offset, length);
            return;
        }

        // The last block may be short (a virtual size that is not a multiple of the block size): it is written, not
        // re-stated, since endWhole never passes VirtualSize rounded down.
        WriteZeroBytes(offset, firstWhole - offset);
        WriteZeroBytes(endWhole, offset + length - endWhole);
    }

    /// <summary>
    /// Discards the blocks that <paramref name="length"/> bytes at <paramref name="offset"/> cover whole: they become
    /// PAYLOAD_BLOCK_ZERO in the BAT and read as zeros (never the parent's data again). The partial blocks at either end
    /// are left as they are: a discard (NBD TRIM, SCSI UNMAP) is advisory. Durable once <see cref="Flush"/> returns.
    /// </summary>
    /// <exception cref="InvalidOperationException">The disk was opened read-only.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range does not lie inside the virtual disk.</exception>
    public void Discard(long offset, long length) => ZeroWholeBlocks(offset, length);

    /// <summary>Records the whole blocks of the range as PAYLOAD_BLOCK_ZERO; returns the byte range they span (empty if none).</summary>
    private (long FirstWhole, long EndWhole) ZeroWholeBlocks(long offset, long length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_storage.CanWrite)
        {
            throw new InvalidOperationException($"{Path} is open read-only");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (offset > VirtualSize || length > VirtualSize - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset),
                $"zeroing {length} bytes at 0x{offset:X} passes the end of the {VirtualSize}-byte disk");
        }

        long firstWhole = (offset + BlockSize - 1) / BlockSize * BlockSize;
        long endWhole = (offset + length) / BlockSize * BlockSize;
        if (endWhole > firstWhole)
        {
            lock (_writeLock)
            {
                StartSession();
                for (long block = firstWhole / BlockSize; block < endWhole / BlockSize; block++)
                {
                    SetBatEntry(PayloadBatIndex(block), StateZero);
                }
            }
        }

        return (firstWhole, endWhole);
    }

    private void WriteZeroBytes(long offset, long length)
    {
        byte[] zeros = new byte[(int)Math.Min(length, 1 << 20)];
        for (long done = 0; done < length;)
        {
            int n = (int)Math.Min(zeros.Length, length - done);
            Write(zeros.AsSpan(0, n), offset + done);
            done += n;
        }
    }

    /// <summary>Makes every acknowledged write durable: payload first, then BAT and bitmap pages through the log.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_storage.CanWrite)
        {
            return;
        }

        lock (_writeLock)
        {
            if (!_payloadDirty && _dirtyBatPages.Count == 0 && _dirtySbPages.Count == 0)
            {
                return;
            }

            // Payload (and the file size that holds new blocks) must be stable before any BAT entry points at it.
            _storage.Flush();
            _payloadDirty = false;
            CommitMetadata();
        }
    }

    private void CommitMetadata()
    {
        if (_dirtyBatPages.Count == 0 && _dirtySbPages.Count == 0)
        {
            return;
        }

        // Order matters when one flush needs several log entries: each entry must leave a consistent file on its own.
        // Bitmap pages first (bits are only read for PARTIALLY_PRESENT blocks), then BAT pages that hold sector-bitmap
        // entries, then the payload entries that rely on both.
        var pages = new List<(long FileOffset, byte[] Data)>();
        foreach (long sbPage in _dirtySbPages.Order())
        {
            pages.Add((sbPage, (byte[])_sbPages[sbPage].Clone()));
        }

        foreach (int p in _dirtyBatPages.OrderBy(p => PageHoldsBitmapEntry(p) ? 0 : 1).ThenBy(p => p))
        {
            byte[] raw = new byte[PageSize];
            ulong[] page = GetBatPage(p);
            for (int e = 0; e < EntriesPerPage; e++)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(raw.AsSpan(e * 8), page[e]);
            }

            pages.Add((_batOffset + ((long)p * PageSize), raw));
        }

        int perEntry = VhdxLog.MaxPagesPerEntry(_header.LogLength);
        if (perEntry <= 0)
        {
            throw new InvalidOperationException($"{Path}: the log is too small to hold a metadata update");
        }

        for (int i = 0; i < pages.Count; i += perEntry)
        {
            LogAndApply(pages.GetRange(i, Math.Min(perEntry, pages.Count - i)));
        }

        _dirtySbPages.Clear();
        _dirtyBatPages.Clear();
    }

    private bool PageHoldsBitmapEntry(int page)
    {
        long first = (long)page * EntriesPerPage;
        long k = Math.Max(0, VhdxLayout.CeilDiv(first - ChunkRatio, ChunkRatio + 1));
        return BitmapBatIndex(k) < first + EntriesPerPage;
    }

    /// <summary>One write-ahead transaction (MS-VHDX 2.3.2): log entry, flush, pages in place, flush.</summary>
    private void LogAndApply(List<(long FileOffset, byte[] Data)> pages)
    {
        long logLength = _header.LogLength;
        long logOffset = (long)_header.LogOffset;
        bool newLog = _header.LogGuid == Guid.Empty;
        Guid logGuid = newLog ? Guid.NewGuid() : _header.LogGuid;
        if (newLog)
        {
            _logSequence = 0;
            _logWritePosition = 0;
        }

        // The entry's tail is itself: every earlier entry has been applied already.
        long fileLength = _storage.Length;
        byte[] entry = VhdxLog.BuildEntry(++_logSequence, _logWritePosition, logGuid, fileLength / VhdxLayout.MiB * VhdxLayout.MiB,
            VhdxLayout.RoundUp(fileLength, VhdxLayout.MiB), pages);

        // The log is circular (MS-VHDX 2.3): the entry starts right after the previous one and continues at the start of
        // the log when it passes the end. At most half the log long (MaxPagesPerEntry), it never overlaps the previous
        // entry, which stays replayable until this one is durable.
        int first = (int)Math.Min(entry.Length, logLength - _logWritePosition);
        _storage.Write(entry.AsSpan(0, first), logOffset + _logWritePosition);
        if (first < entry.Length)
        {
            _storage.Write(entry.AsSpan(first), logOffset);
        }

        _storage.Flush();
        if (newLog)
        {
            // Only now may the header point at the log: it holds a complete sequence for this GUID.
            (_header, _currentHeaderSlot) = WriteHeaderPair(_storage, _header with { LogGuid = logGuid }, _header, _currentHeaderSlot);
        }

        foreach ((long fileOffset, byte[] data) in pages)
        {
            _storage.Write(data, fileOffset);
        }

        _storage.Flush();
        _logWritePosition = (_logWritePosition + entry.Length) % logLength;
    }

    /// <summary>Clean close: flush, then mark the log empty (LogGuid = 0) so other tools open the file without replay.</summary>
    private void CloseSession()
    {
        Flush();
        lock (_writeLock)
        {
            if (_header.LogGuid != Guid.Empty)
            {
                (_header, _currentHeaderSlot) = WriteHeaderPair(_storage, _header with { LogGuid = Guid.Empty }, _header, _currentHeaderSlot);
            }
        }
    }
}
