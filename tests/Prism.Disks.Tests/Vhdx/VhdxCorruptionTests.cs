using System.Buffers.Binary;
using Prism.Disks.Errors;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.Vhdx;

/// <summary>
/// Damaged files: every case is a typed VhdxFormatException/DiskChainException naming the file and a hex offset,
/// or a documented recovery (the other header/region-table copy). Never another exception, a hang or a huge allocation.
/// </summary>
public sealed class VhdxCorruptionTests
{
    private const long MiB = VhdxTestKit.MiB;
    private const string FakePath = "/nonexistent-dir/corrupt.vhdx";
    private const long MetadataOffset = 2 * MiB;
    private const long BatOffset = 3 * MiB;
    private const long LogOffset = MiB;

    private static readonly Lazy<(byte[] Image, byte[] Content)> s_dynamic = new(() => MakeDynamic(8 * MiB, 512));

    private static (byte[] Image, byte[] Content) MakeDynamic(long size, int lss)
    {
        using var dir = new TempDir();
        string path = dir.File("d.vhdx");
        VhdxDisk.Create(path, new VhdxCreateOptions { VirtualSize = size, BlockSize = MiB, LogicalSectorSize = lss });
        byte[] model = new byte[size];
        using (VhdxDisk d = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true }))
        {
            var rng = new Random(5);
            for (int i = 0; i < 6; i++)
            {
                (long offset, byte[] data) = VhdxTestKit.RandomWrite(rng, size, 900_000);
                VhdxTestKit.WriteBoth(d, model, data, offset);
            }
        }

        return (File.ReadAllBytes(path), model);
    }

    private static byte[] Dynamic() => (byte[])s_dynamic.Value.Image.Clone();

    /// <summary>Opens, reads everything and checks; returns the disk's bytes. Throws whatever the engine throws.</summary>
    private static byte[] OpenReadCheck(byte[] image, bool writable = false)
    {
        using VhdxDisk disk = VhdxTestKit.OpenMemory(image, FakePath, writable, new VhdxOpenOptions { SkipParent = true });
        byte[] all = disk.VirtualSize <= 64 * MiB ? VhdxTestKit.ReadAll(disk) : [];
        Assert.True(disk.GetAllocatedRanges().Count() >= 0);
        Assert.NotNull(disk.Check());
        return all;
    }

    private static DiskFormatException AssertFormatError(byte[] image, bool writable = false)
    {
        Exception? e = Record.Exception(() => OpenReadCheck(image, writable));
        Assert.NotNull(e);
        VhdxFormatException f = Assert.IsType<VhdxFormatException>(e);
        Assert.Contains(FakePath, f.Message, StringComparison.Ordinal);
        Assert.Contains("0x", f.Message, StringComparison.Ordinal);
        return f;
    }

    // ---- helpers that re-stamp checksums so a change is "intact but invalid" ----

    private static VhdxHeader ReadHeader(byte[] image, long at)
    {
        Assert.True(VhdxHeader.TryRead(image.AsSpan((int)at, VhdxHeader.Size), out VhdxHeader h));
        return h;
    }

    private static void WriteHeader(byte[] image, long at, VhdxHeader h) => h.Write(image.AsSpan((int)at, VhdxHeader.Size));

    /// <summary>Rewrites both header slots with <paramref name="change"/> applied (slot 2 stays current).</summary>
    private static void ChangeHeaders(byte[] image, Func<VhdxHeader, VhdxHeader> change)
    {
        VhdxHeader h = ReadHeader(image, VhdxLayout.Header2Offset);
        VhdxHeader h1 = ReadHeader(image, VhdxLayout.Header1Offset);
        VhdxHeader cur = h.SequenceNumber >= h1.SequenceNumber ? h : h1;
        WriteHeader(image, VhdxLayout.Header1Offset, change(cur) with { SequenceNumber = cur.SequenceNumber + 1 });
        WriteHeader(image, VhdxLayout.Header2Offset, change(cur) with { SequenceNumber = cur.SequenceNumber + 2 });
    }

    private static void ChangeRegionTables(byte[] image, Action<Span<byte>> change, bool first = true, bool second = true)
    {
        foreach ((long at, bool doIt) in new[] { (VhdxLayout.RegionTable1Offset, first), (VhdxLayout.RegionTable2Offset, second) })
        {
            if (doIt)
            {
                Span<byte> t = image.AsSpan((int)at, VhdxLayout.RegionTableSize);
                change(t);
                VhdxChecksum.Stamp(t, 4);
            }
        }
    }

    // ---- headers ----

    [Fact]
    public void Open_BothHeadersTorn_ThrowsFormatException()
    {
        byte[] image = Dynamic();
        image[VhdxLayout.Header1Offset + 40] ^= 1;
        image[VhdxLayout.Header2Offset + 40] ^= 1;
        AssertFormatError(image);
    }

    [Theory]
    [InlineData(VhdxLayout.Header1Offset)]
    [InlineData(VhdxLayout.Header2Offset)]
    public void Open_OneHeaderTorn_UsesOtherCopyAndWarns(long tornAt)
    {
        byte[] image = Dynamic();
        image[tornAt + 100] ^= 0x80;
        using VhdxDisk disk = VhdxTestKit.OpenMemory(image, FakePath);
        Assert.Equal(1, disk.ValidHeaderCopies);
        VhdxTestKit.AssertSameBytes(s_dynamic.Value.Content, VhdxTestKit.ReadAll(disk), "content");
        Assert.Contains(disk.Check(), i => i.Severity == VhdxCheckSeverity.Warning && i.Message.Contains("header", StringComparison.Ordinal));
        VhdxTestKit.AssertNoCheckErrors(disk);
    }

    [Fact]
    public void Open_OneHeaderTornThenWritten_RewritesBothCopies()
    {
        byte[] image = Dynamic();
        image[VhdxLayout.Header2Offset + 100] ^= 0x80;
        var storage = new MemoryStorage(FakePath, image, canWrite: true);
        using (VhdxDisk disk = VhdxDisk.Open(storage, new VhdxOpenOptions { Writable = true }, new ChainContext(64)))
        {
            disk.Write(new byte[] { 1, 2, 3 }, 5);
        }

        using VhdxDisk again = VhdxTestKit.OpenMemory(storage.ToArray(), FakePath);
        Assert.Equal(2, again.ValidHeaderCopies);
    }

    public static TheoryData<string> BadHeaderFields => new() { "version", "logversion", "logoffset", "loglength", "sameseq" };

    [Theory]
    [MemberData(nameof(BadHeaderFields))]
    public void Open_IntactHeaderWithInvalidField_ThrowsFormatException(string field)
    {
        byte[] image = Dynamic();
        if (field == "sameseq")
        {
            VhdxHeader h = ReadHeader(image, VhdxLayout.Header2Offset);
            WriteHeader(image, VhdxLayout.Header1Offset, h with { FileWriteGuid = Guid.NewGuid() });
            WriteHeader(image, VhdxLayout.Header2Offset, h);
        }
        else
        {
            ChangeHeaders(image, h => field switch
            {
                "version" => h with { Version = 2 },
                "logversion" => h with { LogVersion = 1, LogGuid = Guid.NewGuid() },
                "logoffset" => h with { LogOffset = h.LogOffset + 4096 },
                _ => h with { LogLength = 12345 },
            });
        }

        AssertFormatError(image);
    }

    // ---- region tables ----

    [Fact]
    public void Open_BothRegionTablesTorn_ThrowsFormatException()
    {
        byte[] image = Dynamic();
        image[VhdxLayout.RegionTable1Offset + 20] ^= 1;
        image[VhdxLayout.RegionTable2Offset + 20] ^= 1;
        AssertFormatError(image);
    }

    [Fact]
    public void Open_FirstRegionTableTorn_UsesSecondCopy()
    {
        byte[] image = Dynamic();
        image[VhdxLayout.RegionTable1Offset + 20] ^= 1;
        using VhdxDisk disk = VhdxTestKit.OpenMemory(image, FakePath);
        VhdxTestKit.AssertSameBytes(s_dynamic.Value.Content, VhdxTestKit.ReadAll(disk), "content");
        Assert.Contains(disk.Check(), i => i.Message.Contains("region table", StringComparison.Ordinal));
    }

    public static TheoryData<string> BadRegionTables => new() { "unknown-required", "missing-bat", "overlaps-log", "unaligned", "duplicate", "count", "bat-beyond-eof" };

    [Theory]
    [MemberData(nameof(BadRegionTables))]
    public void Open_IntactRegionTableWithInvalidEntry_ThrowsFormatException(string kind)
    {
        byte[] image = Dynamic();
        ChangeRegionTables(image, t =>
        {
            switch (kind)
            {
                case "unknown-required":
                    BinaryPrimitives.WriteUInt32LittleEndian(t[8..], 3);
                    Guid.NewGuid().TryWriteBytes(t[80..]);
                    BinaryPrimitives.WriteUInt64LittleEndian(t[96..], (ulong)(64 * MiB));
                    BinaryPrimitives.WriteUInt32LittleEndian(t[104..], (uint)MiB);
                    BinaryPrimitives.WriteUInt32LittleEndian(t[108..], 1);
                    break;
                case "missing-bat":
                    t[16..48].Clear();
                    t[48..80].CopyTo(t[16..]);
                    BinaryPrimitives.WriteUInt32LittleEndian(t[8..], 1);
                    break;
                case "overlaps-log":
                    BinaryPrimitives.WriteUInt64LittleEndian(t[32..], (ulong)LogOffset);
                    break;
                case "unaligned":
                    BinaryPrimitives.WriteUInt64LittleEndian(t[32..], (ulong)(BatOffset + 4096));
                    break;
                case "duplicate":
                    t[16..32].CopyTo(t[48..]);
                    break;
                case "bat-beyond-eof":
                    // A BAT far past the end of the file read as all zeros, and the first flush wrote a page at 2^55.
                    BinaryPrimitives.WriteUInt64LittleEndian(t[32..], 1UL << 55);
                    break;
                default:
                    BinaryPrimitives.WriteUInt32LittleEndian(t[8..], 5000);
                    break;
            }
        });
        AssertFormatError(image);
    }

    [Fact]
    public void Open_UnknownOptionalRegion_IsIgnored()
    {
        byte[] image = Dynamic();
        ChangeRegionTables(image, t =>
        {
            BinaryPrimitives.WriteUInt32LittleEndian(t[8..], 3);
            Guid.NewGuid().TryWriteBytes(t[80..]);
            BinaryPrimitives.WriteUInt64LittleEndian(t[96..], (ulong)(64 * MiB));
            BinaryPrimitives.WriteUInt32LittleEndian(t[104..], (uint)MiB);
        });
        VhdxTestKit.AssertSameBytes(s_dynamic.Value.Content, OpenReadCheck(image), "content");
    }

    // ---- metadata ----

    private static int ItemOffset(byte[] image, Guid item)
    {
        VhdxMetadata m = MetadataTable.Read(image.AsSpan((int)MetadataOffset, (int)MiB), null, MetadataOffset);
        return (int)MetadataOffset + m.Entries.Single(e => e.ItemId == item).Offset;
    }

    public static TheoryData<string> BadMetadata => new()
    {
        "blocksize-not-pow2", "blocksize-small", "blocksize-large", "size-zero", "size-unaligned", "size-huge", "lss", "pss",
        "signature", "unknown-required", "item-outside", "item-overlap", "missing-item", "short-item", "bat-too-small", "incomplete",
    };

    [Theory]
    [MemberData(nameof(BadMetadata))]
    public void Open_BadMetadata_ThrowsFormatException(string kind)
    {
        byte[] image = Dynamic();
        Span<byte> region = image.AsSpan((int)MetadataOffset, (int)MiB);
        int fp = ItemOffset(image, VhdxLayout.FileParametersItem);
        int vds = ItemOffset(image, VhdxLayout.VirtualDiskSizeItem);
        ushort count = BinaryPrimitives.ReadUInt16LittleEndian(region[10..]);
        Span<byte> next = region.Slice(32 + (count * 32), 32);
        switch (kind)
        {
            case "blocksize-not-pow2": BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(fp), (uint)(3 * MiB)); break;
            case "blocksize-small": BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(fp), 512 * 1024); break;
            case "blocksize-large": BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(fp), (uint)(512 * MiB)); break;
            case "size-zero": BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(vds), 0); break;
            case "size-unaligned": BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(vds), (ulong)(8 * MiB) + 100); break;
            case "size-huge": BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(vds), ulong.MaxValue - 511); break;
            case "lss": BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(ItemOffset(image, VhdxLayout.LogicalSectorSizeItem)), 1024); break;
            case "pss": BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(ItemOffset(image, VhdxLayout.PhysicalSectorSizeItem)), 0); break;
            case "signature": region[0] ^= 0x20; break;
            case "unknown-required":
                Guid.NewGuid().TryWriteBytes(next);
                BinaryPrimitives.WriteUInt32LittleEndian(next[16..], 0x20000);
                BinaryPrimitives.WriteUInt32LittleEndian(next[20..], 8);
                BinaryPrimitives.WriteUInt32LittleEndian(next[24..], 4);
                BinaryPrimitives.WriteUInt16LittleEndian(region[10..], (ushort)(count + 1));
                break;
            case "item-outside": BinaryPrimitives.WriteUInt32LittleEndian(region[(32 + 16)..], (uint)MiB - 4); break;
            case "item-overlap": BinaryPrimitives.WriteUInt32LittleEndian(region[(64 + 16)..], 0x10004); break;
            case "missing-item": BinaryPrimitives.WriteUInt16LittleEndian(region[10..], (ushort)(count - 1)); break;
            case "short-item": BinaryPrimitives.WriteUInt32LittleEndian(region[(32 + 20)..], 4); break;
            case "bat-too-small": BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(vds), 1UL << 40); break;
            default:
                VhdxLayout.IncompleteFileItem.TryWriteBytes(next);
                BinaryPrimitives.WriteUInt32LittleEndian(next[24..], 4);
                BinaryPrimitives.WriteUInt16LittleEndian(region[10..], (ushort)(count + 1));
                break;
        }

        AssertFormatError(image);
    }

    [Fact]
    public void Open_UnknownOptionalMetadataItem_IsIgnored()
    {
        byte[] image = Dynamic();
        Span<byte> region = image.AsSpan((int)MetadataOffset, (int)MiB);
        ushort count = BinaryPrimitives.ReadUInt16LittleEndian(region[10..]);
        Span<byte> next = region.Slice(32 + (count * 32), 32);
        Guid.NewGuid().TryWriteBytes(next);
        BinaryPrimitives.WriteUInt32LittleEndian(next[16..], 0x20000);
        BinaryPrimitives.WriteUInt32LittleEndian(next[20..], 8);
        BinaryPrimitives.WriteUInt32LittleEndian(next[24..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(region[10..], (ushort)(count + 1));
        VhdxTestKit.AssertSameBytes(s_dynamic.Value.Content, OpenReadCheck(image), "content");
    }

    // ---- BAT ----

    private static int FirstPresentEntry(byte[] image)
    {
        for (int i = 0; ; i++)
        {
            ulong e = BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan((int)BatOffset + (i * 8)));
            if (VhdxDisk.StateOf(e) == VhdxDisk.StateFullyPresent)
            {
                return i;
            }
        }
    }

    public static TheoryData<string> BadBatEntries => new() { "reserved-state", "header-area", "partial-in-dynamic", "negative-offset" };

    [Theory]
    [MemberData(nameof(BadBatEntries))]
    public void Read_BadBatEntry_ThrowsFormatExceptionAndCheckReportsIt(string kind)
    {
        byte[] image = Dynamic();
        int index = FirstPresentEntry(image);
        Span<byte> at = image.AsSpan((int)BatOffset + (index * 8), 8);
        ulong entry = BinaryPrimitives.ReadUInt64LittleEndian(at);
        ulong bad = kind switch
        {
            "reserved-state" => (entry & ~7UL) | 4,
            "header-area" => (ulong)(512 * 1024) & ~0xFFFFFUL | VhdxDisk.StateFullyPresent,
            "partial-in-dynamic" => (entry & ~7UL) | VhdxDisk.StatePartiallyPresent,
            _ => 0xFFFFFFFFFFF00000UL | VhdxDisk.StateFullyPresent,
        };
        BinaryPrimitives.WriteUInt64LittleEndian(at, bad);
        using VhdxDisk disk = VhdxTestKit.OpenMemory(image, FakePath);
        VhdxFormatException e = Assert.Throws<VhdxFormatException>(() => disk.Read(new byte[4096], index * MiB));
        Assert.Contains(FakePath, e.Message, StringComparison.Ordinal);
        Assert.Contains($"0x{BatOffset + (index * 8):X}", e.Message, StringComparison.Ordinal);
        Exception? check = Record.Exception(() => disk.Check());
        if (check is null)
        {
            Assert.Contains(disk.Check(), i => i.Severity == VhdxCheckSeverity.Error);
        }
        else
        {
            Assert.IsType<VhdxFormatException>(check);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadWrite_FullyPresentBlockFarPastEndOfFile_ThrowsFormatException(bool writable)
    {
        // A real file: the 44-bit FileOffsetMB can point 1 PiB away, which a file system cannot hold.
        using var dir = new TempDir();
        string path = dir.File("far.vhdx");
        byte[] image = Dynamic();
        int index = FirstPresentEntry(image);
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan((int)BatOffset + (index * 8), 8), (1UL << 50) | VhdxDisk.StateFullyPresent);
        File.WriteAllBytes(path, image);
        using VhdxDisk disk = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = writable });
        Exception? e = Record.Exception(() =>
        {
            if (writable)
            {
                disk.Write(new byte[] { 1, 2, 3 }, (index * MiB) + 10);
                disk.Flush();
            }
            else
            {
                disk.Read(new byte[4096], index * MiB);
            }
        });
        VhdxFormatException f = Assert.IsType<VhdxFormatException>(e);
        Assert.Contains(path, f.Message, StringComparison.Ordinal);
        Assert.Contains($"0x{BatOffset + (index * 8):X}", f.Message, StringComparison.Ordinal);
        Assert.True(new FileInfo(path).Length < 64 * MiB);
    }

    // ---- parent locators ----

    private static byte[] ChildWithLocator(byte[] locator)
    {
        byte[] image = Dynamic();
        VhdxMetadata m = MetadataTable.Read(image.AsSpan((int)MetadataOffset, (int)MiB), null, MetadataOffset);
        // Turn the dynamic disk into a differencing one: metadata with HasParent and the locator, BAT sized for it.
        byte[] region = MetadataTable.Build(MiB, m.BlockSize, false, m.VirtualSize, m.DiskId, m.LogicalSectorSize, m.PhysicalSectorSize, locator);
        region.CopyTo(image, MetadataOffset);
        image.AsSpan((int)BatOffset, (int)MiB).Clear();
        return image;
    }

    private static byte[] Locator(params (string Key, string Value)[] entries) =>
        ParentLocator.Build(entries.Select(e => new KeyValuePair<string, string>(e.Key, e.Value)).ToList());

    [Fact]
    public void Open_ValidCraftedLocatorWithSkipParent_Opens()
    {
        byte[] image = ChildWithLocator(Locator(("parent_linkage", Guid.NewGuid().ToString("B")), ("relative_path", @".\p.vhdx")));
        using VhdxDisk disk = VhdxTestKit.OpenMemory(image, FakePath, options: new VhdxOpenOptions { SkipParent = true });
        Assert.Equal(VhdxDiskType.Differencing, disk.Type);
        Assert.Empty(disk.GetAllocatedRanges());
    }

    public static TheoryData<string> BadLocators => new() { "no-linkage", "bad-guid", "bad-linkage2", "no-path", "key-offset", "value-length", "odd-length", "count", "type", "duplicate-key" };

    [Theory]
    [MemberData(nameof(BadLocators))]
    public void Open_BadParentLocator_ThrowsFormatException(string kind)
    {
        string g = Guid.NewGuid().ToString("B");
        byte[] locator = kind switch
        {
            "no-linkage" => Locator(("relative_path", @".\p.vhdx")),
            "bad-guid" => Locator(("parent_linkage", "{not-a-guid}"), ("relative_path", @".\p.vhdx")),
            "bad-linkage2" => Locator(("parent_linkage", g), ("parent_linkage2", "zzz"), ("relative_path", @".\p.vhdx")),
            "no-path" => Locator(("parent_linkage", g)),
            "duplicate-key" => Locator(("parent_linkage", g), ("relative_path", @".\p.vhdx"), ("relative_path", @".\q.vhdx")),
            _ => Locator(("parent_linkage", g), ("relative_path", @".\p.vhdx")),
        };
        switch (kind)
        {
            case "key-offset": BinaryPrimitives.WriteUInt32LittleEndian(locator.AsSpan(20), 60000); break;
            case "value-length": BinaryPrimitives.WriteUInt16LittleEndian(locator.AsSpan(20 + 10), 60000); break;
            case "odd-length": BinaryPrimitives.WriteUInt16LittleEndian(locator.AsSpan(20 + 8), 27); break;
            case "count": BinaryPrimitives.WriteUInt16LittleEndian(locator.AsSpan(18), 999); break;
            case "type": locator[0] ^= 1; break;
        }

        byte[] image = ChildWithLocator(locator);
        Exception? e = Record.Exception(() =>
        {
            using VhdxDisk d = VhdxTestKit.OpenMemory(image, FakePath);
        });
        VhdxFormatException f = Assert.IsType<VhdxFormatException>(e);
        Assert.Contains(FakePath, f.Message, StringComparison.Ordinal);
        Assert.Contains("0x", f.Message, StringComparison.Ordinal);
    }

    // ---- log ----

    private static byte[] WithLog(byte[] image, byte[] entry, long logPosition = 0)
    {
        var guid = new Guid(entry.AsSpan(32, 16));
        entry.CopyTo(image, LogOffset + logPosition);
        ChangeHeaders(image, h => h with { LogGuid = guid });
        return image;
    }

    private static byte[] DataEntry(Guid guid, long target, byte[] page, long flushed, long last) =>
        VhdxLog.BuildEntry(1, 0, guid, flushed, last, [(target, page)]);

    private static byte[] ZeroEntry(Guid guid, long target, ulong length, long flushed, long last)
    {
        byte[] e = new byte[4096];
        BinaryPrimitives.WriteUInt32LittleEndian(e, 0x6567_6F6C);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(8), 4096);
        BinaryPrimitives.WriteUInt64LittleEndian(e.AsSpan(16), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(24), 1);
        guid.TryWriteBytes(e.AsSpan(32));
        BinaryPrimitives.WriteUInt64LittleEndian(e.AsSpan(48), (ulong)flushed);
        BinaryPrimitives.WriteUInt64LittleEndian(e.AsSpan(56), (ulong)last);
        Span<byte> d = e.AsSpan(64, 32);
        BinaryPrimitives.WriteUInt32LittleEndian(d, 0x6F72_657A);
        BinaryPrimitives.WriteUInt64LittleEndian(d[8..], length);
        BinaryPrimitives.WriteUInt64LittleEndian(d[16..], (ulong)target);
        BinaryPrimitives.WriteUInt64LittleEndian(d[24..], 1);
        VhdxChecksum.Stamp(e, 4);
        return e;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Open_ValidLogEntryZeroingABatPage_ReplaysIt(bool writable)
    {
        byte[] image = Dynamic();
        long fileLength = image.Length;
        image = WithLog(image, ZeroEntry(Guid.NewGuid(), BatOffset, 4096, fileLength / MiB * MiB, fileLength));
        byte[] content = OpenReadCheck(image, writable);
        Assert.False(content.AsSpan().ContainsAnyExcept((byte)0), "the replayed zero descriptor cleared the BAT: the disk must read as zeros");
    }

    public static TheoryData<string> BadLogs => new() { "no-entry", "wrong-guid", "bad-crc", "header-target", "truncated", "bad-seq-in-descriptor" };

    [Theory]
    [MemberData(nameof(BadLogs))]
    public void Open_DirtyLogWithoutValidSequence_ThrowsFormatException(string kind)
    {
        byte[] image = Dynamic();
        long len = image.Length;
        var guid = Guid.NewGuid();
        byte[] page = new byte[4096];
        byte[] entry = kind switch
        {
            "header-target" => DataEntry(guid, VhdxLayout.Header1Offset, page, len / MiB * MiB, len),
            "truncated" => DataEntry(guid, BatOffset, page, 64 * MiB, 64 * MiB),
            _ => DataEntry(guid, BatOffset, page, len / MiB * MiB, len),
        };
        switch (kind)
        {
            case "no-entry": entry.AsSpan().Clear(); break;
            case "wrong-guid": Guid.NewGuid().TryWriteBytes(entry.AsSpan(32)); VhdxChecksum.Stamp(entry, 4); break;
            case "bad-crc": entry[5000] ^= 1; break;
            case "bad-seq-in-descriptor": BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(64 + 24), 9); VhdxChecksum.Stamp(entry, 4); break;
        }

        entry.CopyTo(image, LogOffset);
        ChangeHeaders(image, h => h with { LogGuid = guid });
        AssertFormatError(image);
        AssertFormatError(image, writable: true);
    }

    public static TheoryData<string> HugeLogTargets => new() { "zero-length", "data-far" };

    [Theory]
    [MemberData(nameof(HugeLogTargets))]
    public async Task Open_LogEntryWithHugeTarget_FailsTypedWithoutUnboundedWork(string kind)
    {
        byte[] image = Dynamic();
        long len = image.Length;
        var guid = Guid.NewGuid();
        byte[] entry = kind switch
        {
            "zero-length" => ZeroEntry(guid, BatOffset, 1UL << 50, len / MiB * MiB, len),
            _ => DataEntry(guid, 1L << 50, new byte[4096], len / MiB * MiB, len),
        };
        image = WithLog(image, entry);
        foreach (bool writable in new[] { false, true })
        {
            Task<Exception?> run = Task.Run<Exception?>(() => Record.Exception(() => OpenReadCheck(image, writable)));
            Assert.True(await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(20))) == run, $"open (writable={writable}) did not finish");
            Exception? e = await run;
            Assert.True(e is VhdxFormatException, $"writable={writable}: expected VhdxFormatException, got {e?.GetType().Name ?? "success"}: {e?.Message}");
            Assert.Contains("0x", e!.Message, StringComparison.Ordinal);
        }
    }

    // ---- seeded random mutations ----

    private static byte[] DirtyLogImage()
    {
        byte[] image = Dynamic();
        byte[] batPage = image.AsSpan((int)BatOffset, 4096).ToArray();
        long len = image.Length;
        return WithLog(image, VhdxLog.BuildEntry(1, 0, Guid.NewGuid(), len / MiB * MiB, len, [(BatOffset, batPage)]));
    }

    private static byte[] ChildImage()
    {
        using var dir = new TempDir();
        string parent = dir.File("p.vhdx");
        string child = dir.File("c.vhdx");
        VhdxDisk.Create(parent, new VhdxCreateOptions { VirtualSize = 8 * MiB, BlockSize = MiB });
        VhdxDisk.CreateDifferencing(child, parent, new VhdxDifferencingOptions { BlockSize = MiB });
        using (VhdxDisk d = VhdxDisk.Open(child, new VhdxOpenOptions { Writable = true }))
        {
            var rng = new Random(8);
            for (int i = 0; i < 8; i++)
            {
                (long offset, byte[] data) = VhdxTestKit.RandomWrite(rng, d.VirtualSize, 300_000);
                d.Write(data, offset);
            }
        }

        return File.ReadAllBytes(child);
    }

    public static TheoryData<string> MutationSeeds => new() { "dynamic", "dirty-log", "differencing" };

    [Theory]
    [MemberData(nameof(MutationSeeds))]
    public void Open_RandomSingleFieldMutations_OnlyTypedErrorsOrConsistentOpen(string seedImage)
    {
        byte[] original = seedImage switch
        {
            "dynamic" => Dynamic(),
            "dirty-log" => DirtyLogImage(),
            _ => ChildImage(),
        };
        using (VhdxDisk sane = VhdxTestKit.OpenMemory(original, FakePath, options: new VhdxOpenOptions { SkipParent = true }))
        {
            VhdxTestKit.AssertNoCheckErrors(sane);
        }

        byte[] image = (byte[])original.Clone();
        int window = (int)Math.Min(4 * MiB, image.Length);
        var rng = new Random(seedImage.Length * 7919);
        int opened = 0;
        int rejected = 0;
        var slowest = TimeSpan.Zero;
        for (int iteration = 0; iteration < 1000; iteration++)
        {
            string what = Mutate(image, rng);
            bool writable = iteration % 8 == 0;
            var sw = System.Diagnostics.Stopwatch.StartNew();
            Exception? e = Record.Exception(() =>
            {
                byte[] target = writable ? (byte[])image.Clone() : image;
                using VhdxDisk disk = VhdxTestKit.OpenMemory(target, FakePath, writable, new VhdxOpenOptions { SkipParent = true }, copy: false);
                ReadEverything(disk);
                Assert.NotNull(disk.Check());
                if (writable)
                {
                    disk.Write(new byte[] { 0xEE, 0xEE, 0xEE }, disk.VirtualSize / 3);
                    disk.Flush();
                }
            });
            sw.Stop();
            slowest = sw.Elapsed > slowest ? sw.Elapsed : slowest;
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"iteration {iteration} ({what}) took {sw.Elapsed}");
            if (e is null)
            {
                opened++;
            }
            else
            {
                rejected++;
                Assert.True(e is VhdxFormatException or DiskChainException,
                    $"iteration {iteration} ({what}, writable={writable}): {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
                if (e is VhdxFormatException)
                {
                    Assert.Contains(FakePath, e.Message, StringComparison.Ordinal);
                    Assert.Contains("0x", e.Message, StringComparison.Ordinal);
                }
                else
                {
                    Assert.Contains(FakePath, e.Message, StringComparison.Ordinal);
                }
            }

            original.AsSpan(0, window).CopyTo(image);
        }

        // Both outcomes must actually occur, or the mutations are not reaching the parser.
        Assert.True(opened > 50 && rejected > 50, $"opened {opened}, rejected {rejected}");
    }

    private static void ReadEverything(VhdxDisk disk)
    {
        byte[] buf = new byte[MiB];
        long step = Math.Max(MiB, disk.VirtualSize / 16);
        for (long o = 0; o < disk.VirtualSize; o += step)
        {
            try
            {
                disk.Read(buf, o);
            }
            catch (DiskChainException)
            {
                // A sector that lives in the (skipped) parent: fine, the rest must still be readable.
            }
        }

        Assert.True(disk.GetAllocatedRanges().Count() >= 0);
    }

    /// <summary>One mutation inside the first 4 MiB (headers, region tables, log, metadata, BAT); re-stamps checksums most of the time.</summary>
    private static string Mutate(byte[] image, Random rng)
    {
        (long start, int length, int crcStart, int crcLength) = rng.Next(10) switch
        {
            0 => (VhdxLayout.Header1Offset, 80, (int)VhdxLayout.Header1Offset, VhdxHeader.Size),
            1 => (VhdxLayout.Header2Offset, 80, (int)VhdxLayout.Header2Offset, VhdxHeader.Size),
            2 => (VhdxLayout.RegionTable1Offset, 80, (int)VhdxLayout.RegionTable1Offset, VhdxLayout.RegionTableSize),
            3 => (VhdxLayout.RegionTable2Offset, 80, (int)VhdxLayout.RegionTable2Offset, VhdxLayout.RegionTableSize),
            4 => (LogOffset, 8192, (int)LogOffset, -1),
            5 or 6 => (MetadataOffset, 0, -1, 0),
            7 or 8 => (BatOffset, 4096, -1, 0),
            _ => (0, (int)Math.Min(4 * MiB, image.Length), -1, 0),
        };
        if (start == MetadataOffset)
        {
            // Either the table (header + entries) or the items.
            (start, length) = rng.Next(2) == 0 ? (MetadataOffset, 32 + (7 * 32)) : (MetadataOffset + 0x10000, 0x400);
        }

        int width = rng.Next(4) switch { 0 => 1, 1 => 2, 2 => 4, _ => 8 };
        long at = start + (rng.Next(Math.Max(1, length - width)) / width * width);
        ulong value = rng.Next(6) switch
        {
            0 => 0,
            1 => ulong.MaxValue,
            2 => (ulong)rng.NextInt64(),
            3 => (ulong)rng.Next(0, 256) * (ulong)MiB,
            4 => BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan((int)at)) ^ (1UL << rng.Next(width * 8)),
            _ => (uint)rng.Next(0, 8) | ((ulong)(uint)rng.Next(0, 16) << 20),
        };
        Span<byte> v = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(v, value);
        v[..width].CopyTo(image.AsSpan((int)at));
        bool stamp = crcStart >= 0 && rng.Next(10) < 8;
        if (stamp)
        {
            if (crcLength < 0)
            {
                uint entryLength = BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(crcStart + 8));
                if (entryLength >= 4096 && entryLength <= MiB && entryLength % 4096 == 0)
                {
                    VhdxChecksum.Stamp(image.AsSpan(crcStart, (int)entryLength), 4);
                }
            }
            else
            {
                VhdxChecksum.Stamp(image.AsSpan(crcStart, crcLength), 4);
            }
        }

        return $"{width}-byte 0x{value:X} at 0x{at:X}{(stamp ? " + crc" : "")}";
    }
}
