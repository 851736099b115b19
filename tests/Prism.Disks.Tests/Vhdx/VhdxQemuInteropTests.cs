using System.Security.Cryptography;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.Vhdx;

/// <summary>qemu as the oracle: Prism reads what qemu wrote, and qemu reads (and checks) what Prism wrote.</summary>
public sealed class VhdxQemuInteropTests
{
    private const long MiB = VhdxTestKit.MiB;

    public static TheoryData<string, long> QemuBlockSizes => new()
    {
        { "1M", 48 * MiB },
        { "8M", 100 * MiB },
        { "32M", 96 * MiB },
        { "256M", 300 * MiB },
    };

    [SkippableTheory]
    [MemberData(nameof(QemuBlockSizes))]
    public void Read_QemuWrittenDynamicDisk_MatchesQemuConvert(string blockSize, long size)
    {
        string qemuImg = VhdxTestKit.QemuImg();
        string qemuIo = VhdxTestKit.QemuIo();
        using var dir = new TempDir();
        string path = dir.File("q.vhdx");
        Oracle.Run(qemuImg, ["create", "-q", "-f", "vhdx", "-o", $"block_size={blockSize}", path, size.ToString()]);
        long bs = long.Parse(blockSize.TrimEnd('M')) * MiB;
        var rng = new Random(blockSize.GetHashCode(StringComparison.Ordinal) & 0xFFFF);
        var writes = new List<(long Offset, int Length)>
        {
            (0, 512),
            (bs - 1000, 3000), // crosses the first block boundary
            (size - 4096, 4096), // the last sector(s)
            (rng.NextInt64(1, size - 200_000), rng.Next(1, 200_000)),
            (rng.NextInt64(1, size - 200_000), rng.Next(1, 200_000)),
        };
        if (size > 2 * bs)
        {
            writes.Add(((2 * bs) - 7, 14)); // second boundary, unaligned both ends
        }

        var args = new List<string> { "-f", "vhdx" };
        for (int i = 0; i < writes.Count; i++)
        {
            args.Add("-c");
            args.Add($"write -P 0x{0x31 + i:x2} {writes[i].Offset} {writes[i].Length}");
        }

        args.Add(path);
        Oracle.Run(qemuIo, args);
        string raw = dir.File("q.raw");
        Oracle.Run(qemuImg, ["convert", "-f", "vhdx", "-O", "raw", path, raw]);
        string expected;
        using (FileStream f = File.OpenRead(raw))
        {
            expected = Convert.ToHexStringLower(SHA256.HashData(f));
        }

        using VhdxDisk disk = VhdxDisk.Open(path);
        Assert.Equal(bs, disk.BlockSize);
        Assert.Equal(size, disk.VirtualSize);
        Assert.Equal(expected, VhdxTestKit.DiskSha256(disk));
        byte[] probe = new byte[3000];
        disk.Read(probe, bs - 1000);
        Assert.False(probe.AsSpan().ContainsAnyExcept((byte)0x32), "block-crossing write reads back wrong");
        VhdxTestKit.AssertNoCheckErrors(disk);
    }

    public static TheoryData<VhdxDiskType, long, int, long> PrismGeometries => new()
    {
        { VhdxDiskType.Dynamic, MiB, 512, 40 * MiB },
        { VhdxDiskType.Dynamic, 8 * MiB, 4096, 40 * MiB },
        { VhdxDiskType.Dynamic, 32 * MiB, 512, 40 * MiB },
        { VhdxDiskType.Dynamic, 256 * MiB, 4096, 20 * MiB },
        { VhdxDiskType.Fixed, MiB, 4096, 16 * MiB },
        { VhdxDiskType.Fixed, 2 * MiB, 512, 10 * MiB },
    };

    [SkippableTheory]
    [MemberData(nameof(PrismGeometries))]
    public void Write_PrismDisk_QemuCheckCleanAndConvertMatchesModel(VhdxDiskType type, long blockSize, int lss, long size)
    {
        VhdxTestKit.QemuImg();
        using var dir = new TempDir();
        string path = dir.File("p.vhdx");
        VhdxDisk.Create(path, new VhdxCreateOptions { VirtualSize = size, Type = type, BlockSize = blockSize, LogicalSectorSize = lss });
        byte[] model = new byte[size];
        var rng = new Random((int)(blockSize / MiB) + lss + (int)type);
        using (VhdxDisk disk = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true }))
        {
            for (int i = 0; i < 12; i++)
            {
                (long offset, byte[] data) = VhdxTestKit.RandomWrite(rng, size, 3 * (int)MiB);
                VhdxTestKit.WriteBoth(disk, model, data, offset);
                if (i % 4 == 3)
                {
                    disk.Flush();
                }
            }

            // Block boundary, unaligned on both sides.
            VhdxTestKit.WriteBoth(disk, model, VhdxTestKit.RandomBytes(rng, 1001), Math.Min(blockSize, size / 2) - 333);
        }

        if (lss == 512)
        {
            VhdxTestKit.AssertQemuCheckClean(path);
            byte[] qemu = VhdxTestKit.QemuConvertRaw(path, dir);
            VhdxTestKit.AssertSameBytes(model, qemu, "qemu-img convert vs model");
        }
        else
        {
            // qemu 7.2 opens only 512-byte logical sectors ("Operation not supported"); libvhdi is the oracle here.
            (long libSize, string libSha) = VhdxTestKit.PyvhdiSha256(dir, [path]);
            Assert.Equal(size, libSize);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(model)), libSha);
        }
        using VhdxDisk again = VhdxDisk.Open(path);
        Assert.Equal(type, again.Type);
        Assert.Equal(Guid.Empty, again.LogGuid);
        VhdxTestKit.AssertSameBytes(model, VhdxTestKit.ReadAll(again), "Prism read vs model");
        VhdxTestKit.AssertNoCheckErrors(again);
    }

    [SkippableFact]
    public void Create_PrismDisk_QemuInfoReportsSizeAndClusterSize()
    {
        string qemuImg = VhdxTestKit.QemuImg();
        using var dir = new TempDir();
        string path = dir.File("i.vhdx");
        VhdxDisk.Create(path, new VhdxCreateOptions { VirtualSize = 24 * MiB, BlockSize = 4 * MiB });
        ProcessResult r = Oracle.Run(qemuImg, ["info", "--output=json", path]);
        using var json = System.Text.Json.JsonDocument.Parse(r.StdOut);
        Assert.Equal("vhdx", json.RootElement.GetProperty("format").GetString());
        Assert.Equal(24 * MiB, json.RootElement.GetProperty("virtual-size").GetInt64());
        Assert.Equal(4 * MiB, json.RootElement.GetProperty("cluster-size").GetInt64());
    }

    /// <summary>sha256 of the disk as qemu reads it (convert to raw), for an image qemu can open.</summary>
    private static string QemuRawSha256(string qemuImg, string vhdx, TempDir dir)
    {
        string raw = dir.File(System.IO.Path.GetFileNameWithoutExtension(vhdx) + ".raw");
        Oracle.Run(qemuImg, ["convert", "-f", "vhdx", "-O", "raw", vhdx, raw]);
        string sha = VhdxTestKit.FileSha256(raw);
        File.Delete(raw);
        return sha;
    }

    [SkippableFact]
    public void Open_QemuDirtyLogAfterTheLogWrapped_ReplaysAsQemuDoes()
    {
        // qemu logs each BAT update as one 8 KiB entry and keeps advancing through the log within a session, so 140
        // block allocations wrap its 1 MiB log. The 141st allocation's BAT write (a page no earlier write touched) fails
        // through blkdebug, which leaves a real qemu dirty log: header LogGuid set, the entry in the wrapped log, stale
        // entries of older LogGuids all around it. qemu-img check -r all is the oracle replay.
        string qemuImg = VhdxTestKit.QemuImg();
        string qemuIo = VhdxTestKit.QemuIo();
        using var dir = new TempDir();
        string path = dir.File("dirty.vhdx");
        Oracle.Run(qemuImg, ["create", "-q", "-f", "vhdx", "-o", "block_size=1M,log_size=1M", path, (640 * MiB).ToString()]);
        long bat;
        long logLength;
        using (VhdxDisk d = VhdxDisk.Open(path))
        {
            bat = d.Regions.Bat.FileOffset;
            logLength = d.Header.LogLength;
        }

        const int Allocations = 140;
        const long LastBlock = 600; // its BAT entry is in the second BAT page
        string config = dir.File("blkdebug.conf");
        File.WriteAllText(config, $"""
            [inject-error]
            event = "pwritev"
            errno = "5"
            sector = "{(bat + 4096) / 512}"
            iotype = "write"
            once = "on"
            """);
        var args = new List<string>();
        for (int i = 0; i < Allocations; i++)
        {
            args.AddRange(["-c", $"write -P {(i % 250) + 1} {i * MiB} 4k"]);
        }

        args.AddRange(["-c", $"write -P 0x4d {LastBlock * MiB} 4k"]);
        args.Add("json:{\"driver\":\"vhdx\",\"file\":{\"driver\":\"blkdebug\",\"config\":\"" + config
            + "\",\"image\":{\"driver\":\"file\",\"filename\":\"" + path + "\"}}}");
        ProcessResult run = Oracle.Run(qemuIo, args, check: false);
        Assert.Contains("write failed: Input/output error", run.StdOut + run.StdErr, StringComparison.Ordinal);
        string dirtySha = VhdxTestKit.FileSha256(path);

        string prismSha;
        byte[] sector = new byte[4096];
        using (VhdxDisk ro = VhdxDisk.Open(path))
        {
            Assert.True(ro.LogReplayedInMemory, "qemu did not leave a dirty log");
            byte[] log = new byte[logLength];
            using (FileStream f = File.OpenRead(path))
            {
                f.Position = (long)ro.Header.LogOffset;
                f.ReadExactly(log);
            }

            LogEntry head = VhdxLog.FindActiveSequence(log, ro.LogGuid)![^1];
            Assert.True(head.SequenceNumber * 8192 > (ulong)logLength, $"the log did not wrap (head sequence number {head.SequenceNumber})");
            Assert.Equal((long)((head.SequenceNumber - 1) * 8192 % (ulong)logLength), head.LogOffset);
            VhdxTestKit.AssertNoCheckErrors(ro);
            ro.Read(sector, LastBlock * MiB);
            Assert.False(sector.AsSpan().ContainsAnyExcept((byte)0x4d), "the logged BAT update of the last allocation was not replayed");
            prismSha = VhdxTestKit.DiskSha256(ro);
        }

        Assert.Equal(dirtySha, VhdxTestKit.FileSha256(path));

        // qemu's replay of a copy.
        string byQemu = dir.File("by-qemu.vhdx");
        File.Copy(path, byQemu);
        Oracle.Run(qemuImg, ["check", "-q", "-r", "all", "-f", "vhdx", byQemu], check: false);
        VhdxTestKit.AssertQemuCheckClean(byQemu);
        Assert.Equal(QemuRawSha256(qemuImg, byQemu, dir), prismSha);

        // Prism's writable replay of another copy: qemu then opens it without a log and reads the same disk.
        string byPrism = dir.File("by-prism.vhdx");
        File.Copy(path, byPrism);
        using (VhdxDisk rw = VhdxDisk.Open(byPrism, new VhdxOpenOptions { Writable = true }))
        {
            Assert.Equal(Guid.Empty, rw.LogGuid);
        }

        VhdxTestKit.AssertQemuCheckClean(byPrism);
        Assert.Equal(prismSha, QemuRawSha256(qemuImg, byPrism, dir));
    }

    [SkippableFact]
    public void Open_PrismDirtyLogWhoseHeadStraddlesTheLogEnd_QemuReplaysIt()
    {
        // Prism writes its entries end to end around the circular log, so an entry can pass the end of the log and
        // continue at its start. Keep the disk open (the log stays dirty) until the newest entry straddles the end, copy
        // the file, undo that entry's pages in place in the copy, and let qemu replay the copy: only a reader that
        // follows the entry across the wrap restores them.
        string qemuImg = VhdxTestKit.QemuImg();
        using var dir = new TempDir();
        string path = dir.File("prism.vhdx");
        VhdxDisk.Create(path, new VhdxCreateOptions { VirtualSize = 1024 * MiB, BlockSize = MiB });
        string copy = dir.File("copy.vhdx");
        string expectedSha;
        LogEntry? straddling = null;
        using (VhdxDisk disk = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true }))
        {
            long logOffset = (long)disk.Header.LogOffset;
            long logLength = disk.Header.LogLength;
            byte[] log = new byte[logLength];

            // The first flush allocates blocks in two BAT pages (a 12 KiB entry), the rest one block each (8 KiB), so
            // entries sit at odd 4 KiB positions and one of them straddles the end of the 1 MiB log.
            disk.Write(new byte[] { 0x11 }, 0);
            disk.Write(new byte[] { 0x22 }, 600 * MiB);
            disk.Flush();
            for (int block = 1; block < 400 && straddling is null; block++)
            {
                disk.Write(VhdxTestKit.RandomBytes(new Random(block), 4096), block * MiB);
                disk.Flush();
                using (FileStream f = new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
                {
                    f.Position = logOffset;
                    f.ReadExactly(log);
                }

                LogEntry head = VhdxLog.FindActiveSequence(log, disk.LogGuid)![^1];
                if (head.LogOffset + head.Length > logLength)
                {
                    straddling = head;
                }
            }

            Assert.NotNull(straddling);
            expectedSha = VhdxTestKit.DiskSha256(disk);
            File.Copy(path, copy);
        }

        // Undo the straddling entry's pages in the copy (its BAT page goes back to all zeros).
        using (FileStream f = new(copy, FileMode.Open, FileAccess.ReadWrite))
        {
            foreach (LogDescriptor d in straddling.Descriptors)
            {
                f.Position = d.FileOffset;
                f.Write(new byte[d.Length]);
            }
        }

        using (VhdxDisk ro = VhdxDisk.Open(copy))
        {
            Assert.True(ro.LogReplayedInMemory);
            Assert.Equal(expectedSha, VhdxTestKit.DiskSha256(ro));
        }

        Oracle.Run(qemuImg, ["check", "-q", "-r", "all", "-f", "vhdx", copy], check: false);
        VhdxTestKit.AssertQemuCheckClean(copy);
        Assert.Equal(expectedSha, QemuRawSha256(qemuImg, copy, dir));
    }
}
