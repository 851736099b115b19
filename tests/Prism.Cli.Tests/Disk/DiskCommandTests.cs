using System.Text.Json;
using Prism.Cli;
using Prism.Disks.Tests.Ntfs;
using Prism.Disks.Tests.Vhdx;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Cli.Tests.Disk;

/// <summary><c>prism disk ...</c> end to end on real files: exit codes, one-line errors, JSON shapes, import/export.</summary>
public sealed class DiskCommandTests
{
    private const long MiB = VhdxTestKit.MiB;

    private sealed record CliResult(int ExitCode, string StdOut, string StdErr);

    private static CliResult Prism(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Program.Run(args, stdout, stderr);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }

    private static void AssertOneLineError(CliResult r, int exitCode, params string[] mentions)
    {
        Assert.Equal(exitCode, r.ExitCode);
        string firstLine = r.StdErr.Split('\n')[0];
        Assert.StartsWith("prism: ", firstLine, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", r.StdErr, StringComparison.Ordinal);
        foreach (string m in mentions)
        {
            Assert.Contains(m, firstLine, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Create_ValidOptions_MakesTheRequestedDisk()
    {
        using var dir = new TempDir();
        string path = dir.File("d.vhdx");
        CliResult r = Prism("disk", "create", path, "--size", "24MiB", "--type", "fixed", "--block-size", "4MiB", "--logical-sector", "4096");
        Assert.Equal(0, r.ExitCode);
        using VhdxDisk disk = VhdxDisk.Open(path);
        Assert.Equal((VhdxDiskType.Fixed, 24 * MiB, 4 * MiB, 4096), (disk.Type, disk.VirtualSize, disk.BlockSize, disk.LogicalSectorSize));
    }

    public static TheoryData<string[], int> FailingCreates => new()
    {
        { ["--size", "1000"], 2 }, // not a multiple of 512
        { ["--size", "16MiB", "--block-size", "3MiB"], 2 },
        { ["--size", "16MiB", "--type", "sparse"], 2 },
        { ["--size", "16MiB", "--logical-sector", "1024"], 2 },
        { ["--size", "100TiB"], 2 },
        { [], 2 },
    };

    [Theory]
    [MemberData(nameof(FailingCreates))]
    public void Create_InvalidOptions_ExitsTwoAndLeavesNoFile(string[] options, int exitCode)
    {
        using var dir = new TempDir();
        string path = dir.File("bad.vhdx");
        CliResult r = Prism(["disk", "create", path, .. options]);
        AssertOneLineError(r, exitCode);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Create_ExistingFileOrMissingDirectory_ExitsOneAndKeepsExistingFile()
    {
        using var dir = new TempDir();
        string path = dir.File("x.vhdx");
        File.WriteAllText(path, "precious");
        AssertOneLineError(Prism("disk", "create", path, "--size", "8MiB"), 1, path);
        Assert.Equal("precious", File.ReadAllText(path));
        string missing = dir.File("no/such/dir/y.vhdx");
        AssertOneLineError(Prism("disk", "create", missing, "--size", "8MiB"), 1);
        Assert.Single(Directory.EnumerateFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Info_NotAVhdxFile_ExitsOneNamingFileAndOffset()
    {
        using var dir = new TempDir();
        string path = dir.File("notes.txt");
        File.WriteAllText(path, "this is not a virtual disk, just some text\n");
        AssertOneLineError(Prism("disk", "info", path), 1, path, "0x");
        AssertOneLineError(Prism("disk", "info", dir.File("missing.vhdx")), 1, "missing.vhdx");
        AssertOneLineError(Prism("disk", "frobnicate"), 2);
        Assert.Equal(2, Prism("disk", "info").ExitCode);
    }

    [SkippableFact]
    public void InfoJson_BaseAndChild_HaveDocumentedKeysAndQemuAgreesOnSizes()
    {
        string qemuImg = VhdxTestKit.QemuImg();
        using var dir = new TempDir();
        string parent = dir.File("base.vhdx");
        string child = dir.File("child.vhdx");
        Assert.Equal(0, Prism("disk", "create", parent, "--size", "20MiB", "--block-size", "2MiB").ExitCode);
        Assert.Equal(0, Prism("disk", "clone", parent, child).ExitCode);
        string payload = dir.File("payload.bin");
        File.WriteAllBytes(payload, VhdxTestKit.RandomBytes(new Random(2), 5000));
        Assert.Equal(0, Prism("disk", "write", child, "--offset", "1000", "--input", payload).ExitCode);

        CliResult r = Prism("disk", "info", parent, "--json");
        Assert.Equal(0, r.ExitCode);
        using var info = JsonDocument.Parse(r.StdOut);
        JsonElement root = info.RootElement;
        foreach (string key in new[] { "format", "type", "virtualSize", "fileSize", "blockSize", "logicalSectorSize", "physicalSectorSize", "diskId", "parentPath", "chain", "allocatedBytes" })
        {
            Assert.True(root.TryGetProperty(key, out _), $"info --json lacks \"{key}\": {r.StdOut}");
        }

        using var qemu = JsonDocument.Parse(Oracle.Run(qemuImg, ["info", "--output=json", parent]).StdOut);
        Assert.Equal("vhdx", root.GetProperty("format").GetString());
        Assert.Equal("dynamic", root.GetProperty("type").GetString());
        Assert.Equal(qemu.RootElement.GetProperty("virtual-size").GetInt64(), root.GetProperty("virtualSize").GetInt64());
        Assert.Equal(qemu.RootElement.GetProperty("cluster-size").GetInt64(), root.GetProperty("blockSize").GetInt64());
        Assert.Equal(new FileInfo(parent).Length, root.GetProperty("fileSize").GetInt64());
        Assert.Equal(512, root.GetProperty("logicalSectorSize").GetInt32());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("parentPath").ValueKind);
        Assert.Equal(0, root.GetProperty("allocatedBytes").GetInt64());
        Assert.True(Guid.TryParse(root.GetProperty("diskId").GetString(), out _));

        CliResult rc = Prism("disk", "info", child, "--json");
        using var childInfo = JsonDocument.Parse(rc.StdOut);
        JsonElement c = childInfo.RootElement;
        Assert.Equal("differencing", c.GetProperty("type").GetString());
        Assert.Equal(parent, c.GetProperty("parentPath").GetString());
        Assert.Equal(new[] { child, parent }, c.GetProperty("chain").EnumerateArray().Select(e => e.GetString() ?? "").ToArray());
        Assert.Equal(root.GetProperty("diskId").GetString(), c.GetProperty("diskId").GetString());
        // Sectors 1..11 (bytes 512..6143) hold the 5000 bytes written at 1000.
        Assert.Equal(11 * 512, c.GetProperty("allocatedBytes").GetInt64());
    }

    [Fact]
    public void MapJson_Child_ListsLayerRangesAscending()
    {
        using var dir = new TempDir();
        string parent = dir.File("p.vhdx");
        string child = dir.File("c.vhdx");
        Assert.Equal(0, Prism("disk", "create", parent, "--size", "16MiB", "--block-size", "1MiB").ExitCode);
        string payload = dir.File("x.bin");
        File.WriteAllBytes(payload, VhdxTestKit.RandomBytes(new Random(4), 4096));
        Assert.Equal(0, Prism("disk", "write", parent, "--offset", $"{5 * MiB}", "--input", payload).ExitCode);
        Assert.Equal(0, Prism("disk", "clone", parent, child, "--block-size", "1MiB").ExitCode);
        Assert.Equal(0, Prism("disk", "write", child, "--offset", $"{5 * MiB}", "--input", payload).ExitCode);

        CliResult r = Prism("disk", "map", child, "--json");
        Assert.Equal(0, r.ExitCode);
        using var map = JsonDocument.Parse(r.StdOut);
        var ranges = map.RootElement.EnumerateArray()
            .Select(e => (Offset: e.GetProperty("offset").GetInt64(), Length: e.GetProperty("length").GetInt64(), Layer: e.GetProperty("layer").GetInt32()))
            .ToList();
        // The child holds the 4 KiB it wrote; the parent serves the rest of its allocated 1 MiB block.
        Assert.Equal([(5 * MiB, 4096L, 0), ((5 * MiB) + 4096, MiB - 4096, 1)], ranges);
    }

    [Fact]
    public void WriteThenRead_Child_RoundTripsBytesAndLeavesParentAlone()
    {
        using var dir = new TempDir();
        string parent = dir.File("p.vhdx");
        string child = dir.File("c.vhdx");
        Assert.Equal(0, Prism("disk", "create", parent, "--size", "8MiB", "--block-size", "1MiB").ExitCode);
        Assert.Equal(0, Prism("disk", "clone", parent, child).ExitCode);
        string parentHash = VhdxTestKit.FileSha256(parent);
        byte[] data = VhdxTestKit.RandomBytes(new Random(9), 1_234_567);
        string input = dir.File("in.bin");
        File.WriteAllBytes(input, data);
        Assert.Equal(0, Prism("disk", "write", child, "--offset", "777", "--input", input).ExitCode);
        string output = dir.File("out.bin");
        Assert.Equal(0, Prism("disk", "read", child, "--offset", "777", "--length", $"{data.Length}", "--output", output).ExitCode);
        VhdxTestKit.AssertSameBytes(data, File.ReadAllBytes(output), "read back");
        Assert.Equal(parentHash, VhdxTestKit.FileSha256(parent));
        AssertOneLineError(Prism("disk", "read", child, "--offset", $"{8 * MiB}", "--length", "1", "--output", output), 2);
    }

    [Fact]
    public void Check_CleanAndCorruptDisk_ExitZeroThenOne()
    {
        using var dir = new TempDir();
        string path = dir.File("d.vhdx");
        Assert.Equal(0, Prism("disk", "create", path, "--size", "8MiB", "--block-size", "1MiB").ExitCode);
        string payload = dir.File("x.bin");
        File.WriteAllBytes(payload, new byte[3 * MiB]);
        File.WriteAllBytes(payload, VhdxTestKit.RandomBytes(new Random(5), (int)(3 * MiB)));
        Assert.Equal(0, Prism("disk", "write", path, "--offset", "0", "--input", payload).ExitCode);
        CliResult ok = Prism("disk", "check", path, "--json");
        Assert.Equal(0, ok.ExitCode);
        using (var json = JsonDocument.Parse(ok.StdOut))
        {
            Assert.True(json.RootElement.GetProperty("consistent").GetBoolean());
            Assert.Equal(JsonValueKind.Array, json.RootElement.GetProperty("issues").ValueKind);
        }

        // Point block 1 at block 0's data: two blocks overlap.
        using (var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            byte[] e0 = new byte[8];
            f.Position = 3 * MiB;
            f.ReadExactly(e0);
            f.Position = (3 * MiB) + 8;
            f.Write(e0);
        }

        CliResult bad = Prism("disk", "check", path);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("overlaps", bad.StdOut, StringComparison.Ordinal);
        Assert.Contains("problems found", bad.StdOut, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void ImportExport_SparseRaw_RoundTripsAndOutputIsSparse()
    {
        string qemuImg = VhdxTestKit.QemuImg();
        using var dir = new TempDir();
        string raw = dir.File("in.raw");
        const long Size = (40 * MiB) + 1000; // not a multiple of 512
        using (var f = new FileStream(raw, FileMode.CreateNew, FileAccess.Write))
        {
            f.SetLength(Size);
            var rng = new Random(6);
            foreach (long at in new[] { 0L, (7 * MiB) + 3, 33 * MiB, Size - 700 })
            {
                f.Position = at;
                f.Write(VhdxTestKit.RandomBytes(rng, (int)Math.Min(300_000, Size - at)));
            }
        }

        string vhdx = dir.File("img.vhdx");
        Assert.Equal(0, Prism("disk", "import", raw, vhdx, "--block-size", "2MiB").ExitCode);
        string expected = dir.File("expected.raw");
        File.Copy(raw, expected);
        using (var f = new FileStream(expected, FileMode.Open, FileAccess.Write))
        {
            f.SetLength((Size + 511) / 512 * 512); // the virtual size is rounded up to a sector
        }

        ProcessResult compare = Oracle.Run(qemuImg, ["compare", "-f", "vhdx", "-F", "raw", vhdx, expected], check: false);
        Assert.True(compare.ExitCode == 0, compare.StdOut + compare.StdErr);

        string back = dir.File("out.raw");
        Assert.Equal(0, Prism("disk", "export", vhdx, back).ExitCode);
        VhdxTestKit.AssertSameBytes(File.ReadAllBytes(expected), File.ReadAllBytes(back), "export");
        long allocatedBytes = long.Parse(Oracle.Run("stat", ["-c", "%b", back]).StdOut.Trim()) * 512;
        Assert.True(allocatedBytes < Size / 4, $"exported file occupies {allocatedBytes} bytes: not sparse");
        Assert.DoesNotContain(Directory.EnumerateFiles(dir.Path), p => p.EndsWith(".prism-tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void Import_EmptyRaw_ExitsTwoAndLeavesNoVhdx()
    {
        using var dir = new TempDir();
        string raw = dir.File("empty.raw");
        File.WriteAllBytes(raw, []);
        string vhdx = dir.File("e.vhdx");
        AssertOneLineError(Prism("disk", "import", raw, vhdx), 2);
        Assert.False(File.Exists(vhdx));
    }

    [SkippableFact]
    public void BuiltCli_InfoJsonAndError_OverProcessStdout()
    {
        string dotnet = Oracle.Require("dotnet", "dotnet-sdk");
        string dll = Path.Combine(AppContext.BaseDirectory, "prism.dll");
        Assert.True(File.Exists(dll), dll);
        using var dir = new TempDir();
        string path = dir.File("d.vhdx");
        VhdxDisk.Create(path, new VhdxCreateOptions { VirtualSize = 8 * MiB });
        ProcessResult ok = Oracle.Run(dotnet, [dll, "disk", "info", path, "--json"]);
        using var json = JsonDocument.Parse(ok.StdOut);
        Assert.Equal(8 * MiB, json.RootElement.GetProperty("virtualSize").GetInt64());

        string junk = dir.File("junk.vhdx");
        File.WriteAllBytes(junk, new byte[2 * MiB]);
        ProcessResult bad = Oracle.Run(dotnet, [dll, "disk", "info", junk], check: false);
        Assert.Equal(1, bad.ExitCode);
        Assert.Single(bad.StdErr.Trim().Split('\n'));
        Assert.Contains(junk, bad.StdErr, StringComparison.Ordinal);
        Assert.Contains("0x", bad.StdErr, StringComparison.Ordinal);
    }
}
