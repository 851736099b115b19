using System.Text.Json;
using Prism.Cli.Ntfs;
using Prism.Disks.IO;
using Prism.Disks.Tests.Ntfs;
using Prism.Testing;

namespace Prism.Cli.Tests.Disk;

public sealed class NtfsCommandTests
{
    private static readonly Func<string, IDiskSource> s_open = path => new FileDiskSource(path);

    [SkippableFact]
    public void LsJson_MatchesNtfsls()
    {
        using var dir = new TempDir();
        string image = ClusterSizeTests.BuildVolume(dir, 4096, 512, out _);
        var oracle = NtfsImages.NtfsLsListing(image);
        (int code, string stdout, string stderr) = Run(["ls", image, "-r", "--json"]);
        Assert.True(code == 0, stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        var items = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(oracle.Keys.Order(StringComparer.Ordinal), items.Select(i => i.GetProperty("path").GetString()!).Order(StringComparer.Ordinal));
        foreach (JsonElement i in items)
        {
            var expected = oracle[i.GetProperty("path").GetString()!];
            Assert.Equal(expected.Record, i.GetProperty("mftRecord").GetInt64());
            Assert.Equal(expected.Size, i.GetProperty("size").GetInt64());
            Assert.Equal(expected.IsDirectory, i.GetProperty("isDirectory").GetBoolean());
            Assert.Equal(expected.Size, i.GetProperty("streams")[0].GetProperty("size").GetInt64());
            Assert.Equal(string.Empty, i.GetProperty("streams")[0].GetProperty("name").GetString());
        }
    }

    [SkippableFact]
    public void Cat_MatchesNtfscat_ToFileAndToStdout()
    {
        using var dir = new TempDir();
        string image = ClusterSizeTests.BuildVolume(dir, 4096, 512, out _);
        const string Path = "/file-6-1000000.bin";
        byte[] expected = NtfsImages.NtfsCat(image, Path);
        string output = dir.File("out.bin");
        (int code, _, string stderr) = Run(["cat", image, "FILE-6-1000000.BIN", "--output", output]);
        Assert.True(code == 0, stderr);
        Assert.Equal(expected, File.ReadAllBytes(output));

        using var ms = new MemoryStream();
        using (var writer = new StreamWriter(ms, leaveOpen: true))
        {
            Assert.Equal(0, NtfsCommand.Run(["cat", image, Path], s_open, writer, TextWriter.Null));
        }

        Assert.Equal(expected, ms.ToArray());
    }

    /// <summary>Issue 10, item 5: --output never writes over a sealed VHDX (as root the permission bit alone would not stop it).</summary>
    [SkippableFact]
    public void Cat_OutputOnASealedVhdx_IsRefusedAndUnchanged()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new SkipException("permission bits and file identity: Linux");
        }

        using var dir = new TempDir();
        string image = ClusterSizeTests.BuildVolume(dir, 4096, 512, out _);
        string golden = dir.File("golden.vhdx");
        Prism.Disks.Vhdx.VhdxDisk.Create(golden, new Prism.Disks.Vhdx.VhdxCreateOptions { VirtualSize = 4 << 20 });
        File.SetUnixFileMode(golden, UnixFileMode.UserRead | UnixFileMode.GroupRead);
        byte[] before = File.ReadAllBytes(golden);
        string link = dir.File("link.bin");
        File.CreateSymbolicLink(link, golden);
        foreach (string target in new[] { golden, link })
        {
            (int code, _, string stderr) = Run(["cat", image, "/file-6-1000000.bin", "--output", target]);
            Assert.True(code == 2, $"exit {code}: {stderr}");
            Assert.Contains("refusing to write", stderr, StringComparison.Ordinal);
        }

        Assert.Equal(before, File.ReadAllBytes(golden));
    }

    [SkippableFact]
    public void ExtentsJson_RangesHoldTheFileOnTheDisk()
    {
        using var dir = new TempDir();
        string image = ClusterSizeTests.BuildVolume(dir, 4096, 512, out _);
        (int code, string stdout, string stderr) = Run(["extents", image, "/file-5-70001.bin", "--json"]);
        Assert.True(code == 0, stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        byte[] disk = File.ReadAllBytes(image);
        byte[] joined = [.. doc.RootElement.GetProperty("streams")[0].GetProperty("ranges").EnumerateArray()
            .SelectMany(r => disk.AsSpan((int)r.GetProperty("offset").GetInt64(), (int)r.GetProperty("length").GetInt64()).ToArray())];
        byte[] expected = NtfsImages.NtfsCat(image, "/file-5-70001.bin");
        Assert.True(expected.AsSpan().SequenceEqual(joined.AsSpan(0, expected.Length)));
        Assert.Equal(1, doc.RootElement.GetProperty("mftRecords").GetArrayLength());
    }

    [SkippableFact]
    public void MissingFile_FailsWithOneLine()
    {
        using var dir = new TempDir();
        string image = ClusterSizeTests.BuildVolume(dir, 4096, 512, out _);
        (int code, string stdout, string stderr) = Run(["cat", image, "/nope.txt", "--output", dir.File("x")]);
        Assert.Equal(1, code);
        Assert.Empty(stdout);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("nope.txt", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void NotAnImage_FailsWithOneLine()
    {
        using var dir = new TempDir();
        string junk = dir.File("junk.img");
        File.WriteAllBytes(junk, new byte[1024 * 1024]);
        (int code, _, string stderr) = Run(["ls", junk]);
        Assert.Equal(1, code);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("NTFS boot sector", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData]
    [InlineData("frobnicate", "x")]
    [InlineData("ls")]
    [InlineData("cat", "disk.img")]
    [InlineData("ls", "disk.img", "--partition", "zero")]
    [InlineData("cat", "disk.img", "/a", "--json")]
    public void BadArguments_ExitTwo(params string[] args)
    {
        (int code, _, string stderr) = Run(args);
        Assert.Equal(2, code);
        Assert.Contains("usage", stderr, StringComparison.OrdinalIgnoreCase);
    }

    [SkippableFact]
    public void TwoNtfsPartitions_FirstIsUsedWithANote_PartitionOptionChooses()
    {
        using var dir = new TempDir();
        string first = ClusterSizeTests.BuildVolumeOfSize(dir, 16L * 1024 * 1024, 4096);
        string second = NtfsImages.Create(dir, "second.img", 16L * 1024 * 1024, 4096);
        using (var host = new TempDir())
        {
            string file = host.File("only-in-second.txt");
            File.WriteAllText(file, "second partition");
            NtfsImages.Copy(second, file, "only-in-second.txt");
        }

        byte[] disk = new byte[40 * 1024 * 1024];
        File.ReadAllBytes(first).CopyTo(disk, 2048 * 512);
        File.ReadAllBytes(second).CopyTo(disk, (2048 + 32768) * 512);
        WriteMbrEntry(disk, 0, 0x07, 2048, 32768);
        WriteMbrEntry(disk, 1, 0x07, 2048 + 32768, 32768);
        string image = dir.File("two.img");
        File.WriteAllBytes(image, disk);

        (int code, string stdout, string stderr) = Run(["ls", image]);
        Assert.Equal(0, code);
        Assert.Contains("using partition 1", stderr, StringComparison.Ordinal);
        Assert.Contains("/file-6-1000000.bin", stdout, StringComparison.Ordinal);

        (code, stdout, stderr) = Run(["ls", image, "--partition", "2", "--json"]);
        Assert.True(code == 0, stderr);
        Assert.Empty(stderr);
        Assert.Contains("\"/only-in-second.txt\"", stdout, StringComparison.Ordinal);
        Assert.Equal(NtfsImages.NtfsLsListing(second)["/only-in-second.txt"].Record,
            JsonDocument.Parse(stdout).RootElement[0].GetProperty("mftRecord").GetInt64());

        (code, _, stderr) = Run(["ls", image, "--partition", "3"]);
        Assert.Equal(1, code);
        Assert.Contains("no partition 3", stderr, StringComparison.Ordinal);
    }

    private static void WriteMbrEntry(byte[] disk, int slot, byte type, uint firstLba, uint sectors)
    {
        new Prism.Disks.Partitions.MbrEntry(0, type, firstLba, sectors).Write(disk.AsSpan(0x1BE + (16 * slot)));
        disk[0x1FE] = 0x55;
        disk[0x1FF] = 0xAA;
    }

    private static (int Code, string StdOut, string StdErr) Run(string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = NtfsCommand.Run(args, s_open, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
