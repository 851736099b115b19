using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Nbd.Tests;

/// <summary>Real NBD clients against the server: qemu-io and qemu-img (QEMU's NBD client), nbdinfo and nbdcopy (libnbd);
/// the written clone afterwards through libvhdi.</summary>
public sealed class OracleTests : NbdServerTest
{
    /// <summary>sha256 of a chain (argv[2] the child, then each parent) as libvhdi reads it, with the ranges of argv[1]
    /// ("(first,end),...", or "") read as zeros.</summary>
    private const string PyvhdiSha256Masked = """
        import pyvhdi, sys, hashlib
        files = [pyvhdi.file() for _ in sys.argv[2:]]
        for f, p in zip(files, sys.argv[2:]):
            f.open(p)
        for child, parent in zip(files, files[1:]):
            child.set_parent(parent)
        data = bytearray(files[0].read_buffer(files[0].get_media_size()))
        for first, end in eval("[" + sys.argv[1] + "]"):
            data[first:end] = bytes(end - first)
        print(hashlib.sha256(data).hexdigest())
        """;

    private static byte[] Flatten(string path)
    {
        using VhdxDisk d = VhdxDisk.Open(path);
        byte[] all = new byte[d.VirtualSize];
        d.ReadExactly(all, 0);
        return all;
    }

    [SkippableFact]
    public async Task QemuIoRandomWrites_OnAThreeDeepChain_AgreeWithAByteModel_ThroughEveryReader()
    {
        string qemuIo = Oracle.Require("qemu-io", "qemu-utils");
        string qemuImg = Oracle.Require("qemu-img", "qemu-utils");
        string baseHash = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Server.Base)));
        string midHash = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Server.Mid)));
        byte[] model = Flatten(Server.Leaf);
        var rng = new Random(5);
        var commands = new List<string>();
        for (int i = 0; i < 60; i++)
        {
            bool aligned = i % 2 == 0;
            long offset = aligned ? rng.NextInt64(0, (NbdTestServer.Size >> 12) - 64) << 12 : rng.NextInt64(0, NbdTestServer.Size - 300_000);
            int length = aligned ? rng.Next(1, 64) * 4096 : rng.Next(1, 300_000);
            byte pattern = (byte)rng.Next(1, 255);
            commands.AddRange(["-c", string.Create(CultureInfo.InvariantCulture, $"write -P {pattern} {offset} {length}")]);
            Array.Fill(model, pattern, (int)offset, length);
            if (i % 10 == 9)
            {
                commands.AddRange(["-c", "flush"]);
            }
        }

        Oracle.Run(qemuIo, ["-f", "raw", .. commands, Server.Uri("leaf")]);

        string viaNbd = Dir.File("via-nbd.raw");
        Oracle.Run(qemuImg, ["convert", "-f", "raw", "-O", "raw", Server.Uri("leaf"), viaNbd]);
        Assert.True(model.AsSpan().SequenceEqual(File.ReadAllBytes(viaNbd)), "qemu-img convert over NBD differs from the model");
        await Server.Server.StopAsync();

        Assert.True(model.AsSpan().SequenceEqual(Flatten(Server.Leaf)), "the clone read by Prism differs from the model");
        string python = Oracle.RequirePythonModule("pyvhdi", "python3-libvhdi");
        ProcessResult r = Oracle.Run(python, ["-c", PyvhdiSha256Masked, "", Server.Leaf, Server.Mid, Server.Base]);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(model)), r.StdOut.Trim());
        using (VhdxDisk leaf = VhdxDisk.Open(Server.Leaf))
        {
            Assert.DoesNotContain(leaf.CheckChain(), i => i.Issue.Severity == VhdxCheckSeverity.Error);
        }

        Assert.Equal(baseHash, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Server.Base))));
        Assert.Equal(midHash, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Server.Mid))));
        Assert.False(File.Exists(DiskLease.LockPath(Server.Leaf)), "the lease is released when the server stops");
    }

    [SkippableFact]
    public async Task WriteZeroesAndTrim_WholeBlocksBecomeZeroInTheBat_AndEveryReaderAgrees()
    {
        string qemuIo = Oracle.Require("qemu-io", "qemu-utils");
        string baseHash = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Server.Base)));
        byte[] model = Flatten(Server.Leaf);
        long sizeBefore = new FileInfo(Server.Leaf).Length;
        int block;
        using (VhdxDisk leaf = VhdxDisk.Open(Server.Leaf))
        {
            block = (int)leaf.BlockSize;
        }

        // Zeroed whole: blocks 1-2 (the base's and mid's data under them), 12-15 (never written). Zeroed partly: an
        // unaligned range over the leaf's own data. Discarded whole: block 0 (base data); the partial ends of a discard
        // stay as they were.
        (long Offset, long Length)[] zeroes = [(block, 2 * block), (12L * block, 4 * block), ((10L << 20) + 100, 3000)];
        (long Offset, long Length)[] discards = [(0, block), ((5L * block) + 512, block)];
        var commands = new List<string>();
        foreach ((long o, long l) in zeroes)
        {
            commands.AddRange(["-c", string.Create(CultureInfo.InvariantCulture, $"write -z {o} {l}")]);
            Array.Fill(model, (byte)0, (int)o, (int)l);
        }

        foreach ((long o, long l) in discards)
        {
            commands.AddRange(["-c", string.Create(CultureInfo.InvariantCulture, $"discard {o} {l}")]);
            long first = (o + block - 1) / block * block, end = (o + l) / block * block;
            if (end > first)
            {
                Array.Fill(model, (byte)0, (int)first, (int)(end - first));
            }
        }

        // --discard=unmap: without it QEMU drops discards before they reach the server.
        Oracle.Run(qemuIo, ["-f", "raw", "--discard=unmap", .. commands, "-c", "flush", Server.Uri("leaf")]);
        await Server.Server.StopAsync();

        byte[] read = Flatten(Server.Leaf);
        int diff = model.AsSpan().CommonPrefixLength(read);
        Assert.True(diff == model.Length, $"the clone read by Prism differs from the model at 0x{diff:X}");
        // 7-Zip reads the chain as MS-VHDX 2.5.1.1 says ("for reads from the blocks in this state [PAYLOAD_BLOCK_ZERO],
        // implementations MUST return zeros"), in a differencing disk too.
        string sevenZip = Oracle.Require("7zz", "7zip");
        string extracted = Dir.File("leaf-7z");
        Directory.CreateDirectory(extracted);
        Oracle.Run(sevenZip, ["x", "-y", "-o" + extracted, Server.Leaf]);
        string[] images = Directory.GetFiles(extracted);
        Assert.Single(images);
        Assert.True(model.AsSpan().SequenceEqual(File.ReadAllBytes(images[0])), "7-Zip reads the chain differently from the model");

        // libvhdi (Debian 20210425) reads a ZERO block of a differencing disk from the parent, against the spec; it agrees
        // everywhere else, the partly zeroed range included.
        string python = Oracle.RequirePythonModule("pyvhdi", "python3-libvhdi");
        string wholeBlocks = string.Join(",", zeroes.Concat(discards).Select(z => (First: (z.Offset + block - 1) / block * block, End: (z.Offset + z.Length) / block * block))
            .Where(z => z.End > z.First).Select(z => string.Create(CultureInfo.InvariantCulture, $"({z.First},{z.End})")));
        ProcessResult r = Oracle.Run(python, ["-c", PyvhdiSha256Masked, wholeBlocks, Server.Leaf, Server.Mid, Server.Base]);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(model)), r.StdOut.Trim());

        // Recorded in the BAT, not written: the zeroed and discarded whole blocks are the leaf's own layer in the chain
        // map, yet the file grew by at most the one partial block the unaligned zeroing wrote and a bitmap block.
        using (VhdxDisk leaf = VhdxDisk.Open(Server.Leaf))
        {
            Assert.DoesNotContain(leaf.CheckChain(), i => i.Issue.Severity == VhdxCheckSeverity.Error);
            IReadOnlyList<ChainRange> map = leaf.GetChainMap();
            foreach ((long o, long l) in (ReadOnlySpan<(long, long)>)[(0, 3L * block), (12L * block, 4L * block)])
            {
                Assert.Contains(map, c => c.Layer == 0 && c.Offset <= o && c.End >= o + l);
            }
        }

        Assert.True(new FileInfo(Server.Leaf).Length - sizeBefore <= block + (1 << 20),
            $"the leaf grew by {new FileInfo(Server.Leaf).Length - sizeBefore} bytes: zeroed blocks were written as payload");
        Assert.Equal(baseHash, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Server.Base))));
    }

    [SkippableFact]
    public void QemuImgMapAndNbdinfoMap_EqualTheChainMap()
    {
        string qemuImg = Oracle.Require("qemu-img", "qemu-utils");
        string nbdinfo = Oracle.Require("nbdinfo", "libnbd-bin");
        IReadOnlyList<ChainRange> chain;
        using (VhdxDisk d = VhdxDisk.Open(Server.Leaf))
        {
            chain = d.GetChainMap();
        }

        var expected = Merge(chain.Select(r => (r.Offset, r.Length)));

        using JsonDocument qemu = JsonDocument.Parse(Oracle.Run(qemuImg, ["map", "--output=json", "-f", "raw", Server.Uri("leaf")]).StdOut);
        var fromQemu = Merge(qemu.RootElement.EnumerateArray().Where(e => e.GetProperty("data").GetBoolean())
            .Select(e => (e.GetProperty("start").GetInt64(), e.GetProperty("length").GetInt64())));
        Assert.Equal(expected, fromQemu);

        var fromNbdinfo = new List<(long, long)>();
        foreach (string line in Oracle.Run(nbdinfo, ["--map", Server.Uri("leaf")]).StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] w = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (w[2] == "0")
            {
                fromNbdinfo.Add((long.Parse(w[0], CultureInfo.InvariantCulture), long.Parse(w[1], CultureInfo.InvariantCulture)));
            }
        }

        Assert.Equal(expected, Merge(fromNbdinfo));
        Assert.NotEmpty(expected);
    }

    [SkippableFact]
    public void Nbdcopy_EqualsTheFlattenedChain_AndNbdinfoSeesTheFlags()
    {
        string nbdcopy = Oracle.Require("nbdcopy", "libnbd-bin");
        string nbdinfo = Oracle.Require("nbdinfo", "libnbd-bin");
        string copy = Dir.File("copy.raw");

        Oracle.Run(nbdcopy, [Server.Uri("leaf"), copy]);

        Assert.True(Flatten(Server.Leaf).AsSpan().SequenceEqual(File.ReadAllBytes(copy)));
        string info = Oracle.Run(nbdinfo, [Server.Uri("base")]).StdOut;
        Assert.Contains("is_read_only: true", info, StringComparison.Ordinal);
        Assert.Contains("base:allocation", info, StringComparison.Ordinal);
        string leafInfo = Oracle.Run(nbdinfo, [Server.Uri("leaf")]).StdOut;
        Assert.Contains("is_read_only: false", leafInfo, StringComparison.Ordinal);
        Assert.Contains("can_multi_conn: true", leafInfo, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void QemuIoWriteToTheReadOnlyParent_Fails_AndTheParentIsUnchanged()
    {
        string qemuIo = Oracle.Require("qemu-io", "qemu-utils");
        string before = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Server.Base)));

        ProcessResult r = Oracle.Run(qemuIo, ["-f", "raw", "-c", "write -P 7 0 4096", Server.Uri("base")], check: false);

        Assert.True(r.ExitCode != 0 || (r.StdErr + r.StdOut).Contains("ermission", StringComparison.Ordinal) || (r.StdErr + r.StdOut).Contains("read-only", StringComparison.Ordinal),
            $"the write to a read-only export did not fail: {r.StdOut}{r.StdErr}");
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Server.Base))));
    }

    [Fact]
    public void ASecondWritableServerOfTheSameDisk_IsRefusedByTheLease()
    {
        IOException e = Assert.Throws<IOException>(() => NbdExport.Open(Server.Leaf, "again", readOnly: false, protectedReason: null));
        Assert.Contains("in use by another Prism process", e.Message, StringComparison.Ordinal);
        Assert.True(DiskLease.IsHeld(Server.Leaf));
    }

    private static List<(long, long)> Merge(IEnumerable<(long Offset, long Length)> ranges)
    {
        var list = new List<(long, long)>();
        foreach ((long o, long l) in ranges.OrderBy(r => r.Offset))
        {
            if (list.Count > 0 && list[^1].Item1 + list[^1].Item2 == o)
            {
                list[^1] = (list[^1].Item1, list[^1].Item2 + l);
            }
            else
            {
                list.Add((o, l));
            }
        }

        return list;
    }
}
