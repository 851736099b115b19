using Prism.Disks.Errors;

namespace Prism.Disks.Vhdx;

/// <summary>Reading virtual sectors through the chain (MS-VHDX 2.5 and 2.6.2.4: payload states and sector bitmaps).</summary>
public sealed partial class VhdxDisk
{
    /// <summary>
    /// Reads virtual bytes at <paramref name="offset"/>; returns fewer than requested only at the end of the disk.
    /// Thread-safe with other reads.
    /// </summary>
    /// <exception cref="VhdxFormatException">A BAT entry or sector bitmap on the way is corrupt.</exception>
    public int Read(Span<byte> buffer, long offset)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset >= VirtualSize)
        {
            return 0;
        }

        int n = (int)Math.Min(buffer.Length, VirtualSize - offset);
        ReadCore(buffer[..n], offset);
        return n;
    }

    /// <summary>Fills <paramref name="buffer"/> (which lies inside the virtual disk) from this layer and its parents.</summary>
    private void ReadCore(Span<byte> buffer, long offset)
    {
        while (!buffer.IsEmpty)
        {
            long block = offset / BlockSize;
            long inBlock = offset % BlockSize;
            int n = (int)Math.Min(buffer.Length, BlockSize - inBlock);
            Span<byte> piece = buffer[..n];
            long index = PayloadBatIndex(block);
            ulong entry = GetBatEntry(index);
            switch (StateOf(entry))
            {
                case StateFullyPresent:
                    ReadFile(piece, PayloadOffset(index, entry) + inBlock);
                    break;
                case StatePartiallyPresent:
                    if (!_metadata.HasParent)
                    {
                        ThrowBadEntry(index, entry, "PARTIALLY_PRESENT is only valid in a differencing disk");
                    }

                    ReadPartial(piece, offset, block, inBlock, PayloadOffset(index, entry), index);
                    break;
                case StateNotPresent:
                    if (_metadata.HasParent)
                    {
                        ReadParent(piece, offset);
                    }
                    else
                    {
                        piece.Clear();
                    }

                    break;
                case StateUndefined or StateZero or StateUnmapped or StateUnmappedV095:
                    piece.Clear();
                    break;
                default:
                    ThrowBadEntry(index, entry, $"reserved payload block state {StateOf(entry)}");
                    break;
            }

            buffer = buffer[n..];
            offset += n;
        }
    }

    private void ReadPartial(Span<byte> piece, long virtualOffset, long block, long inBlock, long blockFileOffset, long index)
    {
        long sbOffset = BitmapOffset(block / ChunkRatio, index);
        long firstBitOfBlock = (block % ChunkRatio) * SectorsPerBlock;
        long blockEndBit = firstBitOfBlock + SectorsPerBlock;
        int lss = LogicalSectorSize;
        while (!piece.IsEmpty)
        {
            long sector = inBlock / lss;
            (bool present, long count) = NextBitRun(sbOffset, firstBitOfBlock + sector, blockEndBit);
            long runEndByte = (sector + count) * lss;
            int n = (int)Math.Min(piece.Length, runEndByte - inBlock);
            if (present)
            {
                ReadFile(piece[..n], blockFileOffset + inBlock);
            }
            else
            {
                ReadParent(piece[..n], virtualOffset);
            }

            piece = piece[n..];
            inBlock += n;
            virtualOffset += n;
        }
    }

    private void ReadParent(Span<byte> piece, long virtualOffset)
    {
        VhdxDisk parent = Parent ?? throw new DiskChainException(Path, null,
            $"{Path}: sector at 0x{virtualOffset:X} comes from the parent, which was not opened");
        if (virtualOffset >= parent.VirtualSize)
        {
            piece.Clear();
            return;
        }

        int n = (int)Math.Min(piece.Length, parent.VirtualSize - virtualOffset);
        parent.ReadCore(piece[..n], virtualOffset);
        piece[n..].Clear();
    }

    private void ReadFile(Span<byte> piece, long fileOffset)
    {
        int n = fileOffset >= _storage.Length ? 0 : _storage.Read(piece, fileOffset);
        piece[n..].Clear();
    }
}
