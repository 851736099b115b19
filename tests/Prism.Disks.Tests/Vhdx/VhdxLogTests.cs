using System.Buffers.Binary;
using System.IO.Hashing;
using Prism.Disks.Errors;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.Vhdx;

/// <summary>
/// The log as a circular buffer (MS-VHDX 2.3): hand-built logs whose active sequence wraps past the end of the log
/// region, stale and torn entries around it, and log entries asking for an impossible file size. The entries are
/// built here from the spec, not with the engine's own writer.
/// </summary>
public sealed class VhdxLogTests
{
    private const long MiB = VhdxTestKit.MiB;
    private const int LogSector = 4096;
    private const long VirtualSize = 8 * MiB;
    private const ulong FullyPresent = 6;

    /// <summary>One descriptor: a 4 KiB data page, or (Page null) ZeroLength zero bytes.</summary>
    private sealed record Descriptor(long FileOffset, byte[]? Page, long ZeroLength = 0);

    /// <summary>A log entry as MS-VHDX 2.3.1 lays it out, with its log position and what it asks of the file.</summary>
    private sealed record Entry(long LogPosition, ulong Sequence, long Tail, long Flushed, long Last, Descriptor[] Descriptors);

    /// <summary>
    /// Encodes an entry (MS-VHDX 2.3.1.1-2.3.1.4): the 64-byte header and 32-byte descriptors fill as many 4 KiB
    /// sectors as they need, then one data sector per data descriptor; CRC-32C over the whole entry.
    /// </summary>
    private static byte[] EncodeEntry(Entry e, Guid logGuid)
    {
        int descriptorSectors = (int)VhdxLayout.CeilDiv(64 + (32L * e.Descriptors.Length), LogSector);
        int dataSectors = e.Descriptors.Count(d => d.Page is not null);
        byte[] entry = new byte[(descriptorSectors + dataSectors) * LogSector];
        "loge"u8.CopyTo(entry);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(8), (uint)entry.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(12), (uint)e.Tail);
        BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(16), e.Sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(24), (uint)e.Descriptors.Length);
        logGuid.TryWriteBytes(entry.AsSpan(32));
        BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(48), (ulong)e.Flushed);
        BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(56), (ulong)e.Last);
        int data = descriptorSectors;
        for (int i = 0; i < e.Descriptors.Length; i++)
        {
            Descriptor d = e.Descriptors[i];
            Span<byte> slot = entry.AsSpan(64 + (32 * i), 32);
            BinaryPrimitives.WriteUInt64LittleEndian(slot[16..], (ulong)d.FileOffset);
            BinaryPrimitives.WriteUInt64LittleEndian(slot[24..], e.Sequence);
            if (d.Page is null)
            {
                "zero"u8.CopyTo(slot);
                BinaryPrimitives.WriteUInt64LittleEndian(slot[8..], (ulong)d.ZeroLength);
                continue;
            }

            "desc"u8.CopyTo(slot);
            d.Page.AsSpan(4092, 4).CopyTo(slot[4..]); // TrailingBytes
            d.Page.AsSpan(0, 8).CopyTo(slot[8..]); // LeadingBytes
            Span<byte> sector = entry.AsSpan(data * LogSector, LogSector);
            "data"u8.CopyTo(sector);
            BinaryPrimitives.WriteUInt32LittleEndian(sector[4..], (uint)(e.Sequence >> 32));
            d.Page.AsSpan(8, 4084).CopyTo(sector[8..]);
            BinaryPrimitives.WriteUInt32LittleEndian(sector[4092..], (uint)e.Sequence);
            data++;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(4), Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, entry));
        return entry;
    }

    /// <summary>Writes <paramref name="entry"/> into the log region at its position, wrapping past the end to the start.</summary>
    private static void PlaceInLog(byte[] image, long logOffset, long logLength, long position, byte[] entry)
    {
        for (int i = 0; i < entry.Length; i += LogSector)
        {
            long at = (position + i) % logLength;
            entry.AsSpan(i, LogSector).CopyTo(image.AsSpan((int)(logOffset + at)));
        }
    }

    /// <summary>The replay a reader must perform, done by hand: descriptors in order, then grow to LastFileOffset.</summary>
    private static byte[] ApplyByHand(byte[] image, IEnumerable<Entry> active)
    {
        var file = new List<byte>(image);
        long last = 0;
        foreach (Entry e in active)
        {
            foreach (Descriptor d in e.Descriptors)
            {
                long length = d.Page?.Length ?? d.ZeroLength;
                while (file.Count < d.FileOffset + length)
                {
                    file.Add(0);
                }

                for (int i = 0; i < length; i++)
                {
                    file[(int)d.FileOffset + i] = d.Page?[i] ?? 0;
                }
            }

            last = e.Last;
        }

        while (file.Count < last)
        {
            file.Add(0);
        }

        return [.. file];
    }

    private static byte[] Page(int seed) => VhdxTestKit.RandomBytes(new Random(seed), LogSector);

    private static byte[] BatPage(params (int Block, long FileOffset)[] entries)
    {
        byte[] page = new byte[LogSector];
        foreach ((int block, long fileOffset) in entries)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(page.AsSpan(block * 8), (ulong)fileOffset | FullyPresent);
        }

        return page;
    }

    /// <summary>
    /// A clean, empty 8 MiB dynamic disk (1 MiB blocks, 1 MiB log) plus a 1 MiB block of pattern bytes appended at
    /// <c>Payload</c> (written directly, as payload always is) that no BAT entry points to yet.
    /// </summary>
    private static (byte[] Image, long LogOffset, long LogLength, long Bat, long Payload) BaseImage(TempDir dir)
    {
        string path = dir.File("base.vhdx");
        VhdxDisk.Create(path, new VhdxCreateOptions { VirtualSize = VirtualSize, BlockSize = MiB, LogicalSectorSize = 512 });
        long logOffset, logLength, bat;
        using (VhdxDisk d = VhdxDisk.Open(path))
        {
            logOffset = (long)d.Header.LogOffset;
            logLength = d.Header.LogLength;
            bat = d.Regions.Bat.FileOffset;
        }

        byte[] created = File.ReadAllBytes(path);
        long payload = VhdxLayout.RoundUp(created.Length, MiB);
        byte[] image = new byte[payload + MiB];
        created.CopyTo(image, 0);
        VhdxTestKit.RandomBytes(new Random(7), (int)MiB).CopyTo(image, payload);
        return (image, logOffset, logLength, bat, payload);
    }

    private static void SetLogGuid(byte[] image, Guid logGuid)
    {
        foreach (long at in new[] { VhdxLayout.Header1Offset, VhdxLayout.Header2Offset })
        {
            Span<byte> h = image.AsSpan((int)at, VhdxHeader.Size);
            Assert.True(VhdxHeader.TryRead(h, out VhdxHeader header));
            (header with { LogGuid = logGuid }).Write(h);
        }
    }

    /// <summary>
    /// The wrapped layout: stale entries of an earlier lap (same GUID, lower sequence numbers) and an entry of an older
    /// log (other GUID, higher sequence number) sit between the head and the tail; the active sequence 10, 11, 12 starts
    /// 8 KiB before the end of the log, so its tail entry straddles the end, and continues at the start.
    /// </summary>
    private static (byte[] Image, List<Entry> Active, List<Entry> All, Guid LogGuid, long LogOffset, long Bat) WrappedLog(
        TempDir dir, string variant)
    {
        (byte[] image, long logOffset, long logLength, long bat, long payload) = BaseImage(dir);
        long fileLength = image.Length;
        long flushed = fileLength / MiB * MiB;
        var logGuid = new Guid("6d9a3c1e-0f1b-4c55-9d2e-3a7b5c8e1f20");
        long tail = logLength - (2 * LogSector);
        var e1 = new Entry(tail, 10, tail, flushed, fileLength,
        [
            new(bat, BatPage((0, payload))),
            new(payload, Page(1)),
            new(payload + LogSector, Page(2)),
        ]);
        long e2At = (tail + (4 * LogSector)) % logLength;
        var e2 = new Entry(e2At, 11, tail, flushed, fileLength,
        [
            new(payload + LogSector, Page(3)),
            new(payload + (2 * LogSector), null, 2 * LogSector),
        ]);
        long e3At = e2At + (2 * LogSector);

        // The head asks for a file 1 MiB larger than it is (block 1 was allocated but the growth never became
        // durable) and writes one page inside that block.
        var e3 = new Entry(e3At, 12, tail, flushed, fileLength + MiB,
        [
            new(bat, BatPage((0, payload), (1, payload + MiB))),
            new(payload + MiB + LogSector, Page(4)),
        ]);
        long staleAt = e3At + (8 * LogSector);
        var stale = new List<Entry>
        {
            new(staleAt, 4, staleAt, flushed, fileLength, [new(bat, BatPage((0, payload), (5, payload)))]),
            new(staleAt + (2 * LogSector), 5, staleAt, flushed, fileLength, [new(payload, Page(5))]),
            new(staleAt + (4 * LogSector), 6, staleAt, flushed, fileLength, [new(payload + (3 * LogSector), Page(6))]),
        };
        var otherLog = new Entry(staleAt + (8 * LogSector), 99, staleAt + (8 * LogSector), flushed, fileLength,
            [new(bat, BatPage((3, payload)))]);

        var all = new List<Entry> { e1, e2, e3 };
        all.AddRange(stale);
        List<Entry> active = [e1, e2, e3];
        foreach (Entry e in stale.Append(e1).Append(e2).Append(e3))
        {
            PlaceInLog(image, logOffset, logLength, e.LogPosition, EncodeEntry(e, logGuid));
        }

        PlaceInLog(image, logOffset, logLength, otherLog.LogPosition, EncodeEntry(otherLog, Guid.NewGuid()));
        switch (variant)
        {
            case "torn-head":
                {
                    // A fourth entry after the head, its CRC broken: the sequence ends before it.
                    var torn = new Entry(e3At + (3 * LogSector), 13, tail, flushed, fileLength, [new(bat, BatPage((2, payload)))]);
                    byte[] bytes = EncodeEntry(torn, logGuid);
                    bytes[LogSector + 100] ^= 0x40;
                    PlaceInLog(image, logOffset, logLength, torn.LogPosition, bytes);
                    break;
                }

            case "torn-middle":
                {
                    // The middle entry is torn: 10 alone is the newest complete sequence (12 names 10 as its tail,
                    // but cannot reach it).
                    byte[] bytes = EncodeEntry(e2, logGuid);
                    bytes[LogSector + 7] ^= 0x01;
                    PlaceInLog(image, logOffset, logLength, e2.LogPosition, bytes);
                    active = [e1];
                    break;
                }
        }

        SetLogGuid(image, logGuid);
        return (image, active, all, logGuid, logOffset, bat);
    }

    public static TheoryData<string> WrapVariants => new() { "clean-head", "torn-head", "torn-middle" };

    [Theory]
    [MemberData(nameof(WrapVariants))]
    public void Open_ActiveSequenceWrapsPastLogEnd_ReadOnlyReplaysInMemoryAndLeavesFileUnchanged(string variant)
    {
        using var dir = new TempDir();
        (byte[] image, List<Entry> active, _, Guid logGuid, _, long bat) = WrappedLog(dir, variant);
        byte[] expected = ApplyByHand(image, active);
        string path = dir.File("wrapped.vhdx");
        File.WriteAllBytes(path, image);
        string before = VhdxTestKit.FileSha256(path);
        using (VhdxDisk disk = VhdxDisk.Open(path))
        {
            Assert.True(disk.LogReplayedInMemory);
            Assert.Equal(logGuid, disk.LogGuid);
            Assert.Equal(expected.Length, disk.FileSize);
            VhdxTestKit.AssertNoCheckErrors(disk);
            VhdxTestKit.AssertSameBytes(ExpectedContent(expected, bat), VhdxTestKit.ReadAll(disk), variant + ", read-only");
        }

        Assert.Equal(before, VhdxTestKit.FileSha256(path));
    }

    [Theory]
    [MemberData(nameof(WrapVariants))]
    public void Open_ActiveSequenceWrapsPastLogEnd_WritableReplaysIntoFileAndClearsLogGuid(string variant)
    {
        using var dir = new TempDir();
        (byte[] image, List<Entry> active, _, _, _, long bat) = WrappedLog(dir, variant);
        byte[] expected = ApplyByHand(image, active);
        string path = dir.File("wrapped.vhdx");
        File.WriteAllBytes(path, image);
        using (VhdxDisk disk = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true }))
        {
            Assert.False(disk.LogReplayedInMemory);
            Assert.Equal(Guid.Empty, disk.LogGuid);
        }

        byte[] after = File.ReadAllBytes(path);
        Assert.Equal(expected.Length, after.Length);

        // Everything but the two headers (new FileWriteGuid, LogGuid cleared, higher sequence numbers) is the hand replay.
        VhdxTestKit.AssertSameBytes(expected.AsSpan(0, (int)VhdxLayout.Header1Offset), after.AsSpan(0, (int)VhdxLayout.Header1Offset), "file identifier");
        int rest = (int)VhdxLayout.RegionTable1Offset;
        VhdxTestKit.AssertSameBytes(expected.AsSpan(rest), after.AsSpan(rest), variant + ", file after writable replay");
        using VhdxDisk again = VhdxDisk.Open(path);
        Assert.Equal(Guid.Empty, again.LogGuid);
        Assert.False(again.LogReplayedInMemory);
        VhdxTestKit.AssertNoCheckErrors(again);
        VhdxTestKit.AssertSameBytes(ExpectedContent(expected, bat), VhdxTestKit.ReadAll(again), variant + ", reopened");
    }

    /// <summary>
    /// The virtual disk the hand-replayed file shows: blocks 0 and 1 map to the appended payload (BAT decoded by hand
    /// from the replayed file), everything else reads as zeros.
    /// </summary>
    private static byte[] ExpectedContent(byte[] replayed, long bat)
    {
        byte[] content = new byte[VirtualSize];
        for (int block = 0; block < VirtualSize / MiB; block++)
        {
            ulong entry = BinaryPrimitives.ReadUInt64LittleEndian(replayed.AsSpan((int)bat + (block * 8)));
            if ((entry & 7) == FullyPresent)
            {
                long at = (long)(entry >> 20) * MiB;
                replayed.AsSpan((int)at, (int)MiB).CopyTo(content.AsSpan((int)(block * MiB)));
            }
        }

        return content;
    }

    [Fact]
    public void FindActiveSequence_WrappedLog_PicksTheNewestCompleteSequenceOnly()
    {
        using var dir = new TempDir();
        (byte[] image, List<Entry> active, _, Guid logGuid, long logOffset, _) = WrappedLog(dir, "clean-head");
        byte[] log = image.AsSpan((int)logOffset, (int)MiB).ToArray();
        List<LogEntry>? found = VhdxLog.FindActiveSequence(log, logGuid);
        Assert.NotNull(found);
        Assert.Equal(active.Select(e => e.Sequence), found.Select(e => e.SequenceNumber));
        Assert.Equal(active.Select(e => e.LogPosition), found.Select(e => e.LogOffset));
    }

    [Fact]
    public void FindActiveSequence_OnlyStaleEntriesOfTheSameLog_PicksTheHighestCompleteOne()
    {
        // Without the wrapped sequence, the stale lap (4, 5, 6, tail at 4) is what is left: the newest complete sequence.
        using var dir = new TempDir();
        (byte[] image, _, List<Entry> all, Guid logGuid, long logOffset, _) = WrappedLog(dir, "clean-head");
        byte[] log = image.AsSpan((int)logOffset, (int)MiB).ToArray();
        foreach (Entry e in all.Where(e => e.Sequence >= 10))
        {
            log.AsSpan((int)e.LogPosition, 64).Clear();
        }

        List<LogEntry>? found = VhdxLog.FindActiveSequence(log, logGuid);
        Assert.NotNull(found);
        Assert.Equal([4UL, 5UL, 6UL], found.Select(e => e.SequenceNumber));
    }

    // ---- LastFileOffset bounds ----

    /// <summary>An image whose log holds one entry (rewriting the first BAT page as it is) that asks for a file of <paramref name="last"/> bytes.</summary>
    private static (byte[] Image, long EntryFileOffset) LastFileOffsetImage(TempDir dir, Func<long, long> lastForLength, long logPosition = 3 * LogSector)
    {
        (byte[] image, long logOffset, long logLength, long bat, _) = BaseImage(dir);
        long last = lastForLength(image.Length);
        var logGuid = Guid.NewGuid();
        var e = new Entry(logPosition, 1, logPosition, image.Length / MiB * MiB, last,
            [new(bat, image.AsSpan((int)bat, LogSector).ToArray())]);
        PlaceInLog(image, logOffset, logLength, logPosition, EncodeEntry(e, logGuid));
        SetLogGuid(image, logGuid);
        return (image, logOffset + logPosition);
    }

    public static TheoryData<long> ImpossibleFileSizes => new() { 1L << 40, 1L << 59, VhdxLayout.MaxFileOffset };

    [Theory]
    [MemberData(nameof(ImpossibleFileSizes))]
    public void Open_LogEntryAsksForImpossibleFileSize_ThrowsNamingEntryWithoutGrowingOrAllocating(long last)
    {
        using var dir = new TempDir();
        (byte[] image, long entryAt) = LastFileOffsetImage(dir, _ => last);
        string path = dir.File("huge-last.vhdx");
        File.WriteAllBytes(path, image);
        foreach (bool writable in new[] { false, true })
        {
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            VhdxFormatException e = Assert.Throws<VhdxFormatException>(() => VhdxDisk.Open(path, new VhdxOpenOptions { Writable = writable }));
            allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
            Assert.True(allocated < 64 * MiB, $"writable={writable}: the failed open allocated {allocated} bytes");
            Assert.Contains(path, e.Message, StringComparison.Ordinal);
            Assert.Contains("log entry", e.Message, StringComparison.Ordinal);
            Assert.Contains($"0x{entryAt:X}", e.Message, StringComparison.Ordinal);
            Assert.Contains($"0x{last:X}", e.Message, StringComparison.Ordinal);
            Assert.Equal(entryAt, e.FileOffset);

            // Nothing was replayed or grown, not even on the writable open: the file is exactly as it was.
            Assert.Equal(image.Length, new FileInfo(path).Length);
            Assert.True(File.ReadAllBytes(path).AsSpan().SequenceEqual(image), $"writable={writable}: the file changed");
        }
    }

    [Fact]
    public void Open_LogEntryGrowsFileByAFewBlocks_IsAccepted()
    {
        // Growth the geometry allows (blocks allocated whose file extension was not yet durable) is legitimate.
        using var dir = new TempDir();
        long last = 0;
        (byte[] image, _) = LastFileOffsetImage(dir, length => last = VhdxLayout.RoundUp(length, MiB) + (4 * MiB));
        string path = dir.File("grow.vhdx");
        File.WriteAllBytes(path, image);
        using (VhdxDisk ro = VhdxDisk.Open(path))
        {
            Assert.Equal(last, ro.FileSize);
        }

        Assert.Equal(image.Length, new FileInfo(path).Length);
        using (VhdxDisk rw = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true }))
        {
            Assert.Equal(Guid.Empty, rw.LogGuid);
        }

        Assert.Equal(last, new FileInfo(path).Length);
    }

    // ---- the engine's own writer ----

    private const int BigStretches = 272;
    private const long Stretch = 16 * MiB;

    /// <summary>A differencing child of an empty 4.25 GiB parent, 1 MiB blocks, 512-byte sectors, 1 MiB log.</summary>
    private static (string ChildPath, byte[] Image, long LogStart, long LogEnd) BigChild(TempDir dir)
    {
        string parent = dir.File("big-parent.vhdx");
        VhdxDisk.Create(parent, new VhdxCreateOptions { VirtualSize = BigStretches * Stretch, BlockSize = MiB, LogicalSectorSize = 512 });
        string child = dir.File("big-child.vhdx");
        VhdxDisk.CreateDifferencing(child, parent, new VhdxDifferencingOptions { BlockSize = MiB });
        using VhdxDisk d = VhdxDisk.Open(child, new VhdxOpenOptions { SkipParent = true });
        return (child, File.ReadAllBytes(child), (long)d.Header.LogOffset, (long)d.Header.LogOffset + d.Header.LogLength);
    }

    /// <summary>
    /// Round <paramref name="round"/>: one sector in each 16 MiB stretch, so every write dirties its own sector-bitmap
    /// page and one flush commits about 280 metadata pages (more than one log entry's worth).
    /// </summary>
    private static IEnumerable<(long Offset, byte[] Data)> BigRound(int round) =>
        Enumerable.Range(0, BigStretches).Select(i => ((i * Stretch) + (round * 4096L), VhdxTestKit.RandomBytes(new Random((round * 1000) + i), 512)));

    private static int RunBigRounds(TornLogStorage storage, int rounds)
    {
        int completed = 0;
        VhdxDisk? disk = null;
        try
        {
            disk = VhdxDisk.Open(storage, new VhdxOpenOptions { Writable = true }, new ChainContext(64));
            for (int r = 0; r < rounds; r++)
            {
                foreach ((long offset, byte[] data) in BigRound(r))
                {
                    disk.Write(data, offset);
                }

                disk.Flush();
                completed++;
            }

            VhdxDisk closing = disk;
            disk = null;
            closing.Dispose();
        }
        catch (IOException) when (storage.Crashed)
        {
            // The power cut.
        }
        finally
        {
            try
            {
                disk?.Dispose();
            }
            catch (IOException) when (storage.Crashed)
            {
            }
        }

        return completed;
    }

    private static void VerifyBigRounds(VhdxDisk disk, int rounds, int completed, string what)
    {
        VhdxTestKit.AssertNoCheckErrors(disk);
        byte[] sector = new byte[512];
        for (int r = 0; r < rounds; r++)
        {
            foreach ((long offset, byte[] data) in BigRound(r))
            {
                disk.Read(sector, offset);
                bool ok = sector.AsSpan().SequenceEqual(data) || (r >= completed && !sector.AsSpan().ContainsAnyExcept((byte)0));
                Assert.True(ok, $"{what}: sector at 0x{offset:X} (round {r}, {completed} flushes completed) holds neither its data nor, if unflushed, zeros");
            }
        }
    }

    [Fact]
    public void Flush_PowerCutDuringAnyLogWrite_LeavesAReplayableLog()
    {
        // A log entry must never overwrite the one before it: until the new entry is whole, the old one is the only
        // complete sequence, and a header with a LogGuid but no complete sequence is a corrupt file.
        using var dir = new TempDir();
        (string child, byte[] image, long logStart, long logEnd) = BigChild(dir);
        const int Rounds = 3;
        TornLogStorage clean = TornLogStorage.FromImage(child, image, logStart, logEnd);
        Assert.Equal(Rounds, RunBigRounds(clean, Rounds));
        int logWrites = clean.LogWrites;
        Assert.True(logWrites >= 2 * Rounds, $"only {logWrites} log writes: the rounds did not need several entries each");
        using (VhdxDisk after = VhdxDisk.Open(clean.Survivor(canWrite: false), new VhdxOpenOptions(), new ChainContext(64)))
        {
            Assert.Equal(Guid.Empty, after.LogGuid);
            VerifyBigRounds(after, Rounds, Rounds, "no crash");
        }

        for (int k = 1; k <= logWrites; k++)
        {
            foreach (int kept in new[] { 0, 3 * LogSector })
            {
                TornLogStorage torn = TornLogStorage.FromImage(child, image, logStart, logEnd, tearAt: k, keptBytes: kept);
                int completed = RunBigRounds(torn, Rounds);
                Assert.True(torn.Crashed, $"log write {k} was not reached");
                string what = $"power cut at log write {k}/{logWrites} keeping {kept} bytes";
                using (VhdxDisk ro = VhdxDisk.Open(torn.Survivor(canWrite: false), new VhdxOpenOptions(), new ChainContext(64)))
                {
                    VerifyBigRounds(ro, Rounds, completed, what + ", read-only");
                }

                using (VhdxDisk rw = VhdxDisk.Open(torn.Survivor(canWrite: true), new VhdxOpenOptions { Writable = true }, new ChainContext(64)))
                {
                    Assert.Equal(Guid.Empty, rw.LogGuid);
                    VerifyBigRounds(rw, Rounds, completed, what + ", writable");
                }
            }
        }
    }

    // ---- logs too large or too damaged to search ----

    [Fact]
    public void Open_LogOfFakeLongEntryHeaders_FailsFastWithATypedError()
    {
        // A fake header at every sector, each claiming to be as long as the whole log with a bad checksum: checking them
        // all would checksum 8,192 x 32 MiB. The search gives up once it has checksummed its budget.
        using var dir = new TempDir();
        string path = dir.File("fake-headers.vhdx");
        const long LogSize = 32 * MiB;
        VhdxDisk.Create(path, new VhdxCreateOptions { VirtualSize = VirtualSize, BlockSize = MiB, LogSize = LogSize });
        long logOffset;
        using (VhdxDisk d = VhdxDisk.Open(path))
        {
            logOffset = (long)d.Header.LogOffset;
            Assert.Equal(LogSize, (long)d.Header.LogLength);
        }

        byte[] image = File.ReadAllBytes(path);
        var logGuid = Guid.NewGuid();
        for (long at = logOffset; at < logOffset + LogSize; at += LogSector)
        {
            Span<byte> h = image.AsSpan((int)at, 64);
            BinaryPrimitives.WriteUInt32LittleEndian(h, 0x6567_6F6C); // "loge"
            BinaryPrimitives.WriteUInt32LittleEndian(h[4..], 0xDEAD_BEEF); // not the checksum
            BinaryPrimitives.WriteUInt32LittleEndian(h[8..], (uint)LogSize);
            BinaryPrimitives.WriteUInt64LittleEndian(h[16..], 1);
            logGuid.TryWriteBytes(h[32..]);
        }

        SetLogGuid(image, logGuid);
        File.WriteAllBytes(path, image);
        VhdxFormatException e = Assert.Throws<VhdxFormatException>(() => VhdxDisk.Open(path));
        Assert.Contains("too damaged", e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Equal(logOffset, e.FileOffset);
        Assert.True(File.ReadAllBytes(path).AsSpan().SequenceEqual(image), "a failed read-only open changed the file");
    }

    [Fact]
    public void Open_DirtyLogLargerThanReplayLimit_FailsWithATypedErrorBeforeReadingIt()
    {
        using var dir = new TempDir();
        string path = dir.File("big-log.vhdx");
        VhdxDisk.Create(path, new VhdxCreateOptions { VirtualSize = VirtualSize, BlockSize = MiB });
        long logSize = VhdxDisk.MaxReplayedLogLength + MiB; // more than Prism creates, but a valid header field
        using (var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            byte[] head = new byte[2 * VhdxLayout.Header2Offset];
            f.ReadExactly(head);
            foreach (long at in new[] { VhdxLayout.Header1Offset, VhdxLayout.Header2Offset })
            {
                Span<byte> h = head.AsSpan((int)at, VhdxHeader.Size);
                Assert.True(VhdxHeader.TryRead(h, out VhdxHeader header));
                (header with { LogGuid = Guid.NewGuid(), LogLength = (uint)logSize }).Write(h);
                f.SetLength(Math.Max(f.Length, (long)header.LogOffset + logSize)); // sparse: the log lies inside the file
            }

            f.Position = 0;
            f.Write(head);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread();
        VhdxFormatException e = Assert.Throws<VhdxFormatException>(() => VhdxDisk.Open(path));
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Assert.Contains("larger than the 256 MiB Prism replays", e.Message, StringComparison.Ordinal);
        Assert.True(allocated < 16 * MiB, $"the refused open allocated {allocated} bytes");
    }
}
