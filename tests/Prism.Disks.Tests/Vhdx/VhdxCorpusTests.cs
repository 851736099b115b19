using Prism.Disks.Errors;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.Vhdx;

/// <summary>Every real image of ../shared/corpus/vhdx opens and reads as SOURCES.md describes.</summary>
public sealed class VhdxCorpusTests
{
    private const long MiB = VhdxTestKit.MiB;

    /// <summary>One SOURCES.md entry. DataWriteGuid is a prefix where SOURCES.md gives only the first group.</summary>
    public sealed record Image(string File, VhdxDiskType Type, long BlockSize, long VirtualSize, int Lss, int Pss,
        string DataWriteGuidPrefix, string? DiskId, string ContentSha256, long AllocatedBytes)
    {
        public override string ToString() => File;
    }

    public static TheoryData<Image> Images => new()
    {
        new Image("vhdx/dynamic.vhdx.gz", VhdxDiskType.Dynamic, 32 * MiB, 10 * MiB, 512, 4096,
            "28e09ae1-ab94-4815-a155-f143e2d00a3f", "788015f0-5e93-4bd2-a5de-b0cd8459db11",
            "8e2b5e9265d694b42b81819e3bff29770eff4ed0f4f9f311693ff3dbdc93efac", 10 * MiB),
        new Image("vhdx/fixed.vhdx.gz", VhdxDiskType.Fixed, 2 * MiB, 10 * MiB, 512, 4096, "bfc189a1", null,
            "bc0be4623b15aa84216fb31ba24e3b621ec7f1c72d198c990ac0eced222d9f62", 10 * MiB),
        new Image("vhdx/iotest-dynamic-1G.vhdx.bz2", VhdxDiskType.Dynamic, 32 * MiB, 1024 * MiB, 512, 4096, "d247cbb2", null,
            "d3d112d8dab7fd360609f7d5a7b769904b7a2a7d7b6b8c535f65a23293c05478", 3 * 32 * MiB),
        new Image("vhdx/test-disk2vhd.vhdx.bz2", VhdxDiskType.Dynamic, 2 * MiB, 256 * MiB, 512, 512, "fd03891c", null,
            "96d964042be9b58dda1725567abfb0cf9fd8380e2118754afa979c2ad445938a", 256 * MiB),
        new Image("vhdx/generated-qemu/qemu-dynamic-bs1M-pattern.vhdx.xz", VhdxDiskType.Dynamic, MiB, 64 * MiB, 512, 512, "", null,
            "a1fd3cb55aa88871de579daf834f8662f1ff584921626ef0caadabb85e333b84", 4 * MiB),
        new Image("vhdx/generated-qemu/qemu-dynamic-default.vhdx.xz", VhdxDiskType.Dynamic, 8 * MiB, 100 * MiB, 512, 512, "", null,
            "20492a4d0d84f8beb1767f6616229f85d44c2827b64bdbfb260ee12fa1109e0e", 0),
        new Image("vhdx/generated-qemu/qemu-fixed-bs1M.vhdx.xz", VhdxDiskType.Fixed, MiB, 4 * MiB, 512, 512, "", null,
            "7b5f54ae26be3de39827faad5c1005bc3f517166f88d4a0616b4bed27f9f18a6", 4 * MiB),
    };

    [SkippableTheory]
    [MemberData(nameof(Images))]
    public void Open_CorpusImage_MatchesSourcesFacts(Image image)
    {
        using var dir = new TempDir();
        string path = Corpus.Unpack(image.File, dir);
        string fileHashBefore = VhdxTestKit.FileSha256(path);
        using (VhdxDisk disk = VhdxDisk.Open(path))
        {
            Assert.Equal(image.Type, disk.Type);
            Assert.Equal(image.BlockSize, disk.BlockSize);
            Assert.Equal(image.VirtualSize, disk.VirtualSize);
            Assert.Equal(image.Lss, disk.LogicalSectorSize);
            Assert.Equal(image.Pss, disk.PhysicalSectorSize);
            Assert.Equal(Guid.Empty, disk.LogGuid);
            Assert.StartsWith(image.DataWriteGuidPrefix, disk.DataWriteGuid.ToString("D"), StringComparison.Ordinal);
            if (image.DiskId is not null)
            {
                Assert.Equal(Guid.Parse(image.DiskId), disk.DiskId);
            }

            Assert.Equal(image.ContentSha256, VhdxTestKit.DiskSha256(disk));
            Assert.Equal(image.AllocatedBytes, disk.GetAllocatedBytes());
            VhdxTestKit.AssertNoCheckErrors(disk);
            Assert.Single(disk.Chain);
        }

        Assert.Equal(fileHashBefore, VhdxTestKit.FileSha256(path));
    }

    [SkippableFact]
    public void Open_QemuPatternImage_ReadsTheQemuIoPatternsAcrossTheBlockBoundary()
    {
        using var dir = new TempDir();
        string path = Corpus.Unpack("vhdx/generated-qemu/qemu-dynamic-bs1M-pattern.vhdx.xz", dir);
        using VhdxDisk disk = VhdxDisk.Open(path);
        byte[] model = new byte[disk.VirtualSize];
        model.AsSpan(0, 4096).Fill(0xaa);
        model.AsSpan(5767168, 1049088).Fill(0xbb);
        model.AsSpan(67104768, 4096).Fill(0xcc);
        VhdxTestKit.AssertSameBytes(model, VhdxTestKit.ReadAll(disk), "pattern image");
        Assert.Equal(
            [new ByteRange(0, MiB), new ByteRange(5 * MiB, 2 * MiB), new ByteRange(63 * MiB, MiB)],
            disk.GetAllocatedRanges().ToArray());
    }

    [SkippableFact]
    public void Open_IotestDynamic_ReadsA5Then96ThenZero()
    {
        using var dir = new TempDir();
        string path = Corpus.Unpack("vhdx/iotest-dynamic-1G.vhdx.bz2", dir);
        using VhdxDisk disk = VhdxDisk.Open(path);
        byte[] buf = new byte[MiB];
        foreach ((long at, byte expected) in new[] { (0L, (byte)0xA5), (32 * MiB, (byte)0xA5), (33 * MiB, (byte)0x96), (65 * MiB, (byte)0x96), (66 * MiB, (byte)0), (500 * MiB, (byte)0) })
        {
            disk.Read(buf, at);
            Assert.True(!buf.AsSpan().ContainsAnyExcept(expected), $"MiB at 0x{at:X} is not all 0x{expected:X2}");
        }

        // Blocks 3-31 are PAYLOAD_BLOCK_ZERO.
        Assert.Equal(VhdxDisk.StateZero, VhdxDisk.StateOf(disk.GetBatEntry(disk.PayloadBatIndex(3))));
    }

    [SkippableFact]
    public void Open_Disk2VhdEqualSequenceNumbers_UsesBothIdenticalHeaders()
    {
        using var dir = new TempDir();
        string path = Corpus.Unpack("vhdx/test-disk2vhd.vhdx.bz2", dir);
        using VhdxDisk disk = VhdxDisk.Open(path);
        Assert.Equal(2, disk.ValidHeaderCopies);
        Assert.Equal(1ul, disk.Header.SequenceNumber);
        Assert.Equal(VhdxLayout.MetadataRegion, disk.Regions.Entries[0].Guid);
    }

    [SkippableFact]
    public void Open_HyperVDifferencingWithoutParent_ThrowsChainExceptionNamingLinkage()
    {
        using var dir = new TempDir();
        string path = Corpus.Unpack("vhdx/differencing.avhdx.gz", dir);
        DiskChainException e = Assert.Throws<DiskChainException>(() => VhdxDisk.Open(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("ff34003b-11ed-4cf8-a166-b2be05e20b80", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [SkippableFact]
    public void Open_HyperVDifferencingSkipParent_HasSourcesFactsAndPresentSectors()
    {
        using var dir = new TempDir();
        string path = Corpus.Unpack("vhdx/differencing.avhdx.gz", dir);
        string before = VhdxTestKit.FileSha256(path);
        using (VhdxDisk disk = VhdxDisk.Open(path, new VhdxOpenOptions { SkipParent = true }))
        {
            Assert.Equal(VhdxDiskType.Differencing, disk.Type);
            Assert.Equal(2 * MiB, disk.BlockSize);
            Assert.Equal(8L << 30, disk.VirtualSize);
            Assert.Equal(512, disk.LogicalSectorSize);
            Assert.Equal(4096, disk.PhysicalSectorSize);
            Assert.Equal(2048, disk.ChunkRatio);
            Assert.Equal(Guid.Empty, disk.LogGuid);
            Assert.Equal(Guid.Parse("b298d413-f67e-412a-9a72-c7c7fc9b6cb5"), disk.DataWriteGuid);
            Assert.Equal(Guid.Parse("89ca62b5-b00d-4b8e-b79a-87e20cad5a40"), disk.DiskId);
            Assert.Equal(Guid.Parse("ff34003b-11ed-4cf8-a166-b2be05e20b80"), disk.ParentLinkage);
            Assert.Equal(["parent_linkage", "absolute_win32_path", "relative_path", "volume_path", "parent_linkage2"],
                disk.ParentLocatorEntries.Select(kv => kv.Key).ToArray());
            Assert.Equal(@"C:\Users\Public\Documents\Hyper-V\Virtual hard disks\Generation 1_49C4BAF3-4B25-4406-8C4B-D39E65C32385.avhdx",
                disk.ParentLocatorEntries.Single(kv => kv.Key == "absolute_win32_path").Value);
            Assert.Null(disk.Parent);

            // 6200 present sectors, every run a multiple of 4 KiB (the physical sector).
            ByteRange[] ranges = disk.GetAllocatedRanges().ToArray();
            Assert.Equal(6200L * 512, ranges.Sum(r => r.Length));
            Assert.All(ranges, r => Assert.True(r.Offset % 4096 == 0 && r.Length % 4096 == 0, $"run {r.Offset:X}+{r.Length:X}"));

            // 32 payload blocks, all PARTIALLY_PRESENT at 1 MiB-aligned offsets; bitmaps at 7 MiB (entry 2048) and 4 MiB (entry 4097).
            var payload = Enumerable.Range(0, (int)disk.DataBlockCount)
                .Select(b => disk.GetBatEntry(disk.PayloadBatIndex(b))).Where(e => e != 0).ToList();
            Assert.Equal(32, payload.Count);
            Assert.All(payload, e => Assert.Equal(VhdxDisk.StatePartiallyPresent, VhdxDisk.StateOf(e)));
            Assert.Equal((ulong)(7 * MiB) | VhdxDisk.SbStatePresent, disk.GetBatEntry(2048));
            Assert.Equal((ulong)(4 * MiB) | VhdxDisk.SbStatePresent, disk.GetBatEntry(4097));

            // Sectors the child holds read from the file; the first sector the child does not hold needs the parent.
            ByteRange first = ranges[0];
            byte[] buf = new byte[first.Length];
            Assert.Equal(buf.Length, disk.Read(buf, first.Offset));
            long outside = FirstGap(ranges);
            DiskChainException e = Assert.Throws<DiskChainException>(() => disk.Read(new byte[512], outside));
            Assert.Contains("0x", e.Message, StringComparison.Ordinal);

            VhdxTestKit.AssertNoCheckErrors(disk);
        }

        Assert.Equal(before, VhdxTestKit.FileSha256(path));
    }

    [SkippableFact]
    public void Read_HyperVDifferencingOverAllZeroParent_MatchesSourcesContentSha()
    {
        using var dir = new TempDir();
        string path = Corpus.Unpack("vhdx/differencing.avhdx.gz", dir);

        // An empty 8 GiB parent whose header carries the child's parent_linkage as its DataWriteGuid.
        string parent = dir.File("zero-parent.vhdx");
        VhdxDisk.Create(parent, new VhdxCreateOptions { VirtualSize = 8L << 30, BlockSize = 32 * MiB });
        var linkage = Guid.Parse("ff34003b-11ed-4cf8-a166-b2be05e20b80");
        using (var f = new FileStream(parent, FileMode.Open, FileAccess.ReadWrite))
        {
            byte[] buf = new byte[VhdxHeader.Size];
            foreach (long at in new[] { VhdxLayout.Header1Offset, VhdxLayout.Header2Offset })
            {
                f.Position = at;
                f.ReadExactly(buf);
                Assert.True(VhdxHeader.TryRead(buf, out VhdxHeader h));
                (h with { DataWriteGuid = linkage }).Write(buf);
                f.Position = at;
                f.Write(buf);
            }
        }

        using VhdxDisk disk = VhdxDisk.Open(path, new VhdxOpenOptions { ParentPath = parent });
        Assert.Equal(parent, disk.Parent!.Path);
        Assert.Equal("fc5c91bfd8f7ee388cf482dc7eb6cef64b39a7e1bd043516ee95887b839f2b78", VhdxTestKit.DiskSha256(disk));
    }

    private static long FirstGap(ByteRange[] ranges) => ranges[0].Offset > 0 ? 0 : ranges[0].End;

    [SkippableFact]
    public void Open_DirtyLogReadOnly_ReplaysInMemoryAndLeavesFileUnchanged()
    {
        using var dir = new TempDir();
        string path = Corpus.Unpack("vhdx/iotest-dirtylog-10G-4M.vhdx.bz2", dir);
        string before = VhdxTestKit.FileSha256(path);
        using (VhdxDisk disk = VhdxDisk.Open(path))
        {
            Assert.True(disk.LogReplayedInMemory);
            Assert.Equal(Guid.Parse("c82755bc-427f-1245-b72c-da70aaabe031"), disk.LogGuid);
            Assert.StartsWith("5ab1b2ee", disk.DataWriteGuid.ToString("D"), StringComparison.Ordinal);
            Assert.Equal(VhdxDiskType.Dynamic, disk.Type);
            Assert.Equal(MiB, disk.BlockSize);
            Assert.Equal(10L << 30, disk.VirtualSize);
            Assert.Equal((29 * MiB) | VhdxDisk.StateFullyPresent, (long)disk.GetBatEntry(17));
            byte[] first = new byte[18 * MiB];
            disk.Read(first, 0);
            Assert.False(first.AsSpan().ContainsAnyExcept((byte)0xA5), "bytes 0-18 MiB are not all 0xA5 after the in-memory replay");
            VhdxTestKit.AssertNoCheckErrors(disk);
            Assert.Contains(disk.Check(), i => i.Severity == VhdxCheckSeverity.Warning && i.Message.Contains("replay", StringComparison.Ordinal));
        }

        Assert.Equal(before, VhdxTestKit.FileSha256(path));
    }

    [SkippableFact]
    public void Open_DirtyLogWritableCopy_ReplaysIntoFileAndQemuAgrees()
    {
        string qemuIo = VhdxTestKit.QemuIo();
        using var dir = new TempDir();
        string path = Corpus.Unpack("vhdx/iotest-dirtylog-10G-4M.vhdx.bz2", dir);
        string before = VhdxTestKit.FileSha256(path);
        using (VhdxDisk disk = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true }))
        {
            Assert.False(disk.LogReplayedInMemory);
            Assert.Equal(Guid.Empty, disk.LogGuid);
        }

        Assert.NotEqual(before, VhdxTestKit.FileSha256(path));
        using (VhdxDisk again = VhdxDisk.Open(path))
        {
            Assert.Equal(Guid.Empty, again.LogGuid);
            Assert.False(again.LogReplayedInMemory);
            byte[] first = new byte[18 * MiB];
            again.Read(first, 0);
            Assert.False(first.AsSpan().ContainsAnyExcept((byte)0xA5));
        }

        VhdxTestKit.AssertQemuCheckClean(path);
        // qemu opens it read-only now (it refuses a dirty log) and sees the replayed block 17.
        ProcessResult r = Oracle.Run(qemuIo, ["-r", "-f", "vhdx", "-c", "read -P 0xa5 0 18M", path], check: false);
        Assert.True(r.ExitCode == 0 && !r.StdOut.Contains("Pattern verification failed", StringComparison.Ordinal), r.StdOut + r.StdErr);
    }

    public static TheoryData<string> VhdFiles => new()
    {
        "vhdx/hyperv2012r2-dynamic.vhd.bz2",
        "vhdx/virtualpc-dynamic.vhd.bz2",
        "vhdx/d2v-zerofilled.vhd.bz2",
    };

    [SkippableTheory]
    [MemberData(nameof(VhdFiles))]
    public void Open_VhdVersion1File_ThrowsFormatExceptionNamingFileAndOffset(string file)
    {
        using var dir = new TempDir();
        string path = Corpus.Unpack(file, dir);
        VhdxFormatException e = Assert.Throws<VhdxFormatException>(() => VhdxDisk.Open(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("0x", e.Message, StringComparison.Ordinal);
    }
}
