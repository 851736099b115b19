using System.Buffers.Binary;
using Prism.Disks.Errors;

namespace Prism.Disks.Vhdx;

/// <summary>A decoded, valid log entry (MS-VHDX 2.3.1).</summary>
internal sealed record LogEntry(long LogOffset, int Length, long Tail, ulong SequenceNumber,
    long FlushedFileOffset, long LastFileOffset, IReadOnlyList<LogDescriptor> Descriptors);

/// <summary>A data or zero descriptor with what it writes; <see cref="Data"/> is the rebuilt 4 KiB sector or null for zeros.</summary>
internal sealed record LogDescriptor(long FileOffset, long Length, byte[]? Data);

/// <summary>The VHDX metadata log (MS-VHDX 2.3): finding the active sequence, replaying it, and writing entries.</summary>
internal static class VhdxLog
{
    public const int EntryHeaderSize = 64;
    public const int DescriptorSize = 32;
    private const uint EntrySignature = 0x6567_6F6C; // "loge"
    private const uint DataDescriptorSignature = 0x6373_6564; // "desc"
    private const uint ZeroDescriptorSignature = 0x6F72_657A; // "zero"
    private const uint DataSectorSignature = 0x6174_6164; // "data"
    private const int Sector = VhdxLayout.LogSectorSize;

    /// <summary>
    /// Data sectors that fit in one entry a writer may put in a log <paramref name="logLength"/> bytes long: at most half
    /// the log, so that an entry written right after the previous one (wrapping past the end) never overlaps it. Until
    /// the new entry is whole on disk, the previous one is the only complete sequence; a torn entry that had
    /// overwritten it would leave a LogGuid with nothing to replay, which MS-VHDX 2.3.3 calls a corrupt file.
    /// </summary>
    public static int MaxPagesPerEntry(long logLength)
    {
        long sectors = logLength / 2 / Sector;
        int n = (int)Math.Min(sectors - 1, 100_000);
        while (n > 0 && DescriptorSectors(n) + n > sectors)
        {
            n--;
        }

        return n;
    }

    /// <summary>
    /// Bytes of candidate entries the search may checksum: a healthy log needs about its own length (each entry is
    /// checked once per lap), so 16 laps, and at least 256 MiB so that a small log is never refused.
    /// </summary>
    internal static long ChecksumBudget(long logLength) => Math.Max(256L * 1024 * 1024, 16 * logLength);

    private static int DescriptorSectors(int descriptorCount) => Math.Max(1, (descriptorCount + 2 + 127) / 128);

    /// <summary>
    /// Finds the active sequence in <paramref name="log"/> (the whole log region) for <paramref name="logGuid"/>:
    /// the complete sequence with the highest head sequence number, from the head's tail to the head.
    /// Returns null when there is none.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// Checking candidate entries would take more than <see cref="ChecksumBudget"/> bytes of checksums: a log crafted
    /// with a fake, long entry header at every sector would otherwise cost time quadratic in its size.
    /// </exception>
    public static List<LogEntry>? FindActiveSequence(ReadOnlySpan<byte> log, Guid logGuid)
    {
        long logLength = log.Length;
        long budget = ChecksumBudget(logLength);
        List<LogEntry>? best = null;
        ulong bestSeq = 0;
        for (long tail = 0; tail < logLength;)
        {
            var sequence = new List<LogEntry>();
            long pos = tail;
            long walked = 0;
            while (walked < logLength)
            {
                LogEntry? e = TryReadEntry(log, pos, logGuid, ref budget);
                if (e is null || (sequence.Count > 0 && e.SequenceNumber != sequence[^1].SequenceNumber + 1))
                {
                    break;
                }

                sequence.Add(e);
                walked += e.Length;
                pos = (pos + e.Length) % logLength;
            }

            if (sequence.Count == 0)
            {
                tail += Sector;
                continue;
            }

            LogEntry head = sequence[^1];
            int tailIndex = sequence.FindIndex(x => x.LogOffset == head.Tail);
            if (tailIndex >= 0 && head.SequenceNumber > bestSeq)
            {
                best = sequence.GetRange(tailIndex, sequence.Count - tailIndex);
                bestSeq = head.SequenceNumber;
            }

            // Entries are laid end to end from here; the walk resumes past the head (or stops once it wrapped).
            long advance = sequence.Sum(x => (long)x.Length);
            if (tail + advance >= logLength)
            {
                break;
            }

            tail += advance;
        }

        return best;
    }

    private static byte[] Slice(ReadOnlySpan<byte> log, long offset, int length)
    {
        byte[] buf = new byte[length];
        int first = (int)Math.Min(length, log.Length - offset);
        log.Slice((int)offset, first).CopyTo(buf);
        if (first < length)
        {
            log[..(length - first)].CopyTo(buf.AsSpan(first));
        }

        return buf;
    }

    /// <summary>Decodes the entry at <paramref name="offset"/> when it is valid per MS-VHDX 2.3.1; otherwise null.</summary>
    private static LogEntry? TryReadEntry(ReadOnlySpan<byte> log, long offset, Guid logGuid, ref long budget)
    {
        if (log.Length - offset < EntryHeaderSize && log.Length < EntryHeaderSize)
        {
            return null;
        }

        byte[] head = Slice(log, offset, EntryHeaderSize);
        if (BinaryPrimitives.ReadUInt32LittleEndian(head) != EntrySignature)
        {
            return null;
        }

        uint length = BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(8));
        uint tail = BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(12));
        ulong seq = BinaryPrimitives.ReadUInt64LittleEndian(head.AsSpan(16));
        uint descriptorCount = BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(24));
        var guid = new Guid(head.AsSpan(32, 16));
        ulong flushed = BinaryPrimitives.ReadUInt64LittleEndian(head.AsSpan(48));
        ulong last = BinaryPrimitives.ReadUInt64LittleEndian(head.AsSpan(56));
        if (length == 0 || length % Sector != 0 || length > log.Length || tail % Sector != 0 || tail >= log.Length
            || seq == 0 || guid != logGuid || descriptorCount > length / DescriptorSize
            || flushed > VhdxLayout.MaxFileOffset || last > VhdxLayout.MaxFileOffset)
        {
            return null;
        }

        int descSectors = DescriptorSectors((int)descriptorCount);
        if (descSectors * (long)Sector > length)
        {
            return null;
        }

        budget -= length;
        if (budget < 0)
        {
            throw new InvalidDataException(
                $"checking the log's candidate entries would checksum more than {ChecksumBudget(log.Length) / (1024 * 1024)} MiB: the log is too damaged to replay");
        }

        byte[] entry = Slice(log, offset, (int)length);
        if (!VhdxChecksum.IsValid(entry, 4))
        {
            return null;
        }

        var descriptors = new List<LogDescriptor>((int)descriptorCount);
        int dataSector = descSectors;
        int dataSectors = (int)(length / Sector) - descSectors;
        int dataDescriptors = 0;
        for (int i = 0; i < descriptorCount; i++)
        {
            ReadOnlySpan<byte> d = entry.AsSpan(EntryHeaderSize + (i * DescriptorSize), DescriptorSize);
            uint sig = BinaryPrimitives.ReadUInt32LittleEndian(d);
            ulong target = BinaryPrimitives.ReadUInt64LittleEndian(d[16..]);
            ulong dseq = BinaryPrimitives.ReadUInt64LittleEndian(d[24..]);
            if (dseq != seq || target % Sector != 0 || target > VhdxLayout.MaxFileOffset)
            {
                return null;
            }

            if (sig == ZeroDescriptorSignature)
            {
                ulong zeroLength = BinaryPrimitives.ReadUInt64LittleEndian(d[8..]);
                if (zeroLength % Sector != 0 || zeroLength > VhdxLayout.MaxFileOffset - target)
                {
                    return null;
                }

                descriptors.Add(new LogDescriptor((long)target, (long)zeroLength, null));
            }
            else if (sig == DataDescriptorSignature)
            {
                if (dataDescriptors >= dataSectors)
                {
                    return null;
                }

                ReadOnlySpan<byte> s = entry.AsSpan(dataSector * Sector, Sector);
                if (BinaryPrimitives.ReadUInt32LittleEndian(s) != DataSectorSignature
                    || BinaryPrimitives.ReadUInt32LittleEndian(s[4..]) != (uint)(seq >> 32)
                    || BinaryPrimitives.ReadUInt32LittleEndian(s[4092..]) != (uint)seq)
                {
                    return null;
                }

                byte[] page = new byte[Sector];
                d.Slice(8, 8).CopyTo(page); // LeadingBytes
                s[8..4092].CopyTo(page.AsSpan(8));
                d.Slice(4, 4).CopyTo(page.AsSpan(4092)); // TrailingBytes
                descriptors.Add(new LogDescriptor((long)target, Sector, page));
                dataSector++;
                dataDescriptors++;
            }
            else
            {
                return null;
            }
        }

        if (dataDescriptors != dataSectors)
        {
            return null;
        }

        return new LogEntry(offset, (int)length, tail, seq, (long)flushed, (long)last, descriptors);
    }

    /// <summary>
    /// Checks replay targets: nothing below the region tables (headers are never logged), and nothing past the entry's
    /// LastFileOffset (MS-VHDX 2.3.1.1: the file size that holds every structure), so a corrupt descriptor cannot make
    /// a replay write (or zero) an unbounded range.
    /// </summary>
    public static void ValidateTargets(IReadOnlyList<LogEntry> sequence, string? path, long logFileOffset)
    {
        foreach (LogEntry e in sequence)
        {
            foreach (LogDescriptor d in e.Descriptors)
            {
                if (d.FileOffset < VhdxLayout.RegionTable1Offset)
                {
                    throw new VhdxFormatException(path, "VHDX log entry", logFileOffset + e.LogOffset,
                        $"descriptor targets 0x{d.FileOffset:X}, inside the file identifier/header area");
                }

                if (d.Length > e.LastFileOffset - d.FileOffset)
                {
                    throw new VhdxFormatException(path, "VHDX log entry", logFileOffset + e.LogOffset,
                        $"descriptor targets 0x{d.FileOffset:X} length 0x{d.Length:X}, past the entry's LastFileOffset 0x{e.LastFileOffset:X}");
                }
            }
        }
    }

    /// <summary>
    /// Checks that no entry asks for a file larger than <paramref name="maxFileSize"/> (the most the replayed geometry can
    /// need): a corrupt LastFileOffset must neither grow the file without bound on a writable replay nor size anything
    /// on a read-only one. Throws VhdxFormatException naming the entry's file offset.
    /// </summary>
    public static void ValidateFileSizes(IReadOnlyList<LogEntry> sequence, string? path, long logFileOffset, long maxFileSize)
    {
        foreach (LogEntry e in sequence)
        {
            if (e.LastFileOffset > maxFileSize)
            {
                throw new VhdxFormatException(path, "VHDX log entry", logFileOffset + e.LogOffset,
                    $"LastFileOffset 0x{e.LastFileOffset:X} (sequence number {e.SequenceNumber}) exceeds 0x{maxFileSize:X}, the largest "
                    + "file the disk's geometry can need (the current file plus every header, log, region, payload and sector-bitmap block)");
            }
        }
    }

    /// <summary>Builds one entry holding <paramref name="pages"/> (4 KiB-aligned file offset → 4 KiB content).</summary>
    public static byte[] BuildEntry(ulong sequenceNumber, long tail, Guid logGuid, long flushedFileOffset, long lastFileOffset,
        IReadOnlyList<(long FileOffset, byte[] Data)> pages)
    {
        int descSectors = DescriptorSectors(pages.Count);
        int length = (descSectors + pages.Count) * Sector;
        byte[] entry = new byte[length];
        Span<byte> e = entry;
        BinaryPrimitives.WriteUInt32LittleEndian(e, EntrySignature);
        BinaryPrimitives.WriteUInt32LittleEndian(e[8..], (uint)length);
        BinaryPrimitives.WriteUInt32LittleEndian(e[12..], (uint)tail);
        BinaryPrimitives.WriteUInt64LittleEndian(e[16..], sequenceNumber);
        BinaryPrimitives.WriteUInt32LittleEndian(e[24..], (uint)pages.Count);
        logGuid.TryWriteBytes(e[32..]);
        BinaryPrimitives.WriteUInt64LittleEndian(e[48..], (ulong)flushedFileOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(e[56..], (ulong)lastFileOffset);
        for (int i = 0; i < pages.Count; i++)
        {
            (long fileOffset, byte[] data) = pages[i];
            Span<byte> d = e.Slice(EntryHeaderSize + (i * DescriptorSize), DescriptorSize);
            BinaryPrimitives.WriteUInt32LittleEndian(d, DataDescriptorSignature);
            data.AsSpan(4092, 4).CopyTo(d[4..]);
            data.AsSpan(0, 8).CopyTo(d[8..]);
            BinaryPrimitives.WriteUInt64LittleEndian(d[16..], (ulong)fileOffset);
            BinaryPrimitives.WriteUInt64LittleEndian(d[24..], sequenceNumber);
            Span<byte> s = e.Slice((descSectors + i) * Sector, Sector);
            BinaryPrimitives.WriteUInt32LittleEndian(s, DataSectorSignature);
            BinaryPrimitives.WriteUInt32LittleEndian(s[4..], (uint)(sequenceNumber >> 32));
            data.AsSpan(8, 4084).CopyTo(s[8..]);
            BinaryPrimitives.WriteUInt32LittleEndian(s[4092..], (uint)sequenceNumber);
        }

        VhdxChecksum.Stamp(e, 4);
        return entry;
    }
}
