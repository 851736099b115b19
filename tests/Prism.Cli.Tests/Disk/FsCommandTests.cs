using System.Text.Json;
using Prism.Cli.Fs;
using Prism.Cli.Ntfs;
using Prism.Disks.IO;
using Prism.Disks.Tests.Ext4;
using Prism.Disks.Tests.Ntfs;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Cli.Tests.Disk;

/// <summary>
/// <c>prism fs</c> over ext4 inside an MBR disk in a 2-level VHDX chain (against sleuthkit's fls and the source tree
/// mke2fs copied) and over NTFS (equal to <c>prism ntfs</c>, plus the type); <c>prism disk info</c> names the file system.
/// </summary>
public sealed class FsCommandTests
{
    private static readonly Func<string, IDiskSource> s_raw = path => new FileDiskSource(path);

    [SkippableFact]
    public void Ext4InAVhdxChain_LsCatExtentsAndDiskInfo()
    {
        Oracle.Require("sfdisk", "fdisk");
        using var dir = new TempDir();
        string tree = Directory.CreateDirectory(dir.File("tree")).FullName;
        Ext4Images.BuildTree(tree);
        string volume = Ext4Images.Make(dir.File("vol.img"), tree, 96, "-t", "ext4", "-b", "4096");
        Dictionary<string, (uint Inode, char Type)> fls = Ext4Images.Fls(volume);

        // MBR disk, partition 1 (type 83) at 1 MiB, imported into a VHDX; the CLI reads a child of it.
        const long Start = 1 << 20;
        long volumeLength = new FileInfo(volume).Length;
        string golden = dir.File("golden.vhdx");
        VhdxDisk.Create(golden, new VhdxCreateOptions { VirtualSize = Start + volumeLength + (1 << 20) });
        string raw = dir.File("disk.raw");
        using (FileStream f = File.Create(raw))
        {
            f.SetLength(Start + volumeLength + (1 << 20));
        }

        Oracle.Run("sfdisk", ["--quiet", raw], stdin: $"label: dos\nstart=2048, size={volumeLength / 512}, type=83\n");
        using (VhdxDisk g = VhdxDisk.Open(golden, new VhdxOpenOptions { Writable = true }))
        using (FileStream src = File.OpenRead(raw))
        using (FileStream vol = File.OpenRead(volume))
        {
            byte[] sector = new byte[4096];
            src.ReadExactly(sector);
            g.Write(sector, 0);
            for (long at = 0; at < volumeLength; at += sector.Length)
            {
                vol.ReadExactly(sector);
                if (sector.AsSpan().ContainsAnyExcept((byte)0))
                {
                    g.Write(sector, Start + at);
                }
            }

            g.Flush();
        }

        string child = dir.File("child.vhdx");
        VhdxDisk.CreateDifferencing(child, golden);

        // ls -r --json: every path fls lists (hard links by each path), with its inode and type.
        (int code, string stdout, string stderr) = Fs(["ls", child, "-r", "--json"]);
        Assert.True(code == 0, stderr);
        using (JsonDocument doc = JsonDocument.Parse(stdout))
        {
            var items = doc.RootElement.EnumerateArray().ToDictionary(i => i.GetProperty("path").GetString()!, StringComparer.Ordinal);
            Assert.Equal(fls.Keys.Order(StringComparer.Ordinal), items.Keys.Order(StringComparer.Ordinal));
            foreach ((string path, (uint inode, char type)) in fls)
            {
                JsonElement i = items[path];
                Assert.Equal(inode, i.GetProperty("inode").GetUInt32());
                string expected = type switch
                {
                    'r' => "file",
                    'd' => "directory",
                    'l' => "symlink",
                    'p' => "fifo",
                    'c' => "chardev",
                    'b' => "blockdev",
                    _ => "socket",
                };
                Assert.True(expected == i.GetProperty("type").GetString(), $"{path}: {i.GetProperty("type")} vs fls '{type}'");
                Assert.Equal(expected == "directory", i.GetProperty("isDirectory").GetBoolean());
                Assert.Equal(expected == "file" ? 1 : 0, i.GetProperty("streams").GetArrayLength());
                Assert.False(i.TryGetProperty("mftRecord", out _));
            }

            Assert.Equal(items["/data/original.txt"].GetProperty("inode").GetUInt32(), items["/links/hard1"].GetProperty("inode").GetUInt32());
        }

        // Text listing of one directory (not recursive).
        (code, stdout, stderr) = Fs(["ls", child, "/links"]);
        Assert.True(code == 0, stderr);
        Assert.Equal(["-", "l", "l", "l"], stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[..1]).Order(StringComparer.Ordinal));

        // cat: the bytes mke2fs copied in, by either hard-link path.
        foreach (string path in (string[])["/data/original.txt", "/links/hard1", "/sizes/s200000.bin", "/sparse.bin"])
        {
            string output = dir.File("out.bin");
            (code, _, stderr) = Fs(["cat", child, path, "--output", output]);
            Assert.True(code == 0, stderr);
            Assert.True(File.ReadAllBytes(tree + (path == "/links/hard1" ? "/data/original.txt" : path)).AsSpan().SequenceEqual(File.ReadAllBytes(output)), path);
        }

        (code, _, stderr) = Fs(["cat", child, "/dev/fifo", "--output", dir.File("fifo.out")]);
        Assert.Equal(1, code);
        Assert.Contains("never read", stderr, StringComparison.Ordinal);

        // extents --json: holes marked, data extents hold the file's bytes at their disk offsets.
        (code, stdout, stderr) = Fs(["extents", child, "/sparse.bin", "--json"]);
        Assert.True(code == 0, stderr);
        byte[] sparse = File.ReadAllBytes(tree + "/sparse.bin");
        using (JsonDocument doc = JsonDocument.Parse(stdout))
        using (VhdxDisk c = VhdxDisk.Open(child))
        {
            JsonElement extents = doc.RootElement.GetProperty("streams")[0].GetProperty("extents");
            Assert.Contains(extents.EnumerateArray(), e => e.GetProperty("kind").GetString() == "hole" && e.GetProperty("diskOffset").GetInt64() == -1);
            long covered = 0;
            foreach (JsonElement e in extents.EnumerateArray())
            {
                long fileOffset = e.GetProperty("fileOffset").GetInt64(), length = e.GetProperty("length").GetInt64();
                Assert.Equal(covered, fileOffset);
                covered += length;
                if (e.GetProperty("kind").GetString() == "data")
                {
                    byte[] onDisk = new byte[length];
                    c.ReadExactly(onDisk, e.GetProperty("diskOffset").GetInt64());
                    Assert.True(onDisk.AsSpan().SequenceEqual(sparse.AsSpan((int)fileOffset, (int)length)), $"extent at {fileOffset}");
                }
            }

            Assert.Equal(sparse.Length, covered);
            Assert.True(doc.RootElement.GetProperty("metadata").GetArrayLength() >= 1);
        }

        // disk info: the partition and its file system.
        var info = new StringWriter();
        Assert.Equal(0, Program.Run(["disk", "info", child, "--json"], info, TextWriter.Null));
        using (JsonDocument doc = JsonDocument.Parse(info.ToString()))
        {
            JsonElement p = Assert.Single(doc.RootElement.GetProperty("partitions").EnumerateArray());
            Assert.Equal(1, p.GetProperty("number").GetInt32());
            Assert.Equal(Start, p.GetProperty("offset").GetInt64());
            Assert.Equal("ext4", p.GetProperty("fileSystem").GetString());
            Assert.True(p.GetProperty("readable").GetBoolean());
        }

        info = new StringWriter();
        Assert.Equal(0, Program.Run(["disk", "info", child], info, TextWriter.Null));
        Assert.Contains("Partition 1:", info.ToString(), StringComparison.Ordinal);
        Assert.Contains("0x100000", info.ToString(), StringComparison.Ordinal);

        // A partition without a readable file system is refused with its name.
        (code, _, stderr) = Fs(["ls", child, "--partition", "2"]);
        Assert.Equal(1, code);
        Assert.Contains("no partition 2", stderr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Ntfs_LsJsonIsNtfsLsPlusType_CatAndExtentsAgree()
    {
        using var dir = new TempDir();
        string image = ClusterSizeTests.BuildVolume(dir, 4096, 512, out _);
        (int code, string fsOut, string stderr) = Fs(["ls", image, "-r", "--json"], s_raw);
        Assert.True(code == 0, stderr);
        var ntfsOut = new StringWriter();
        Assert.Equal(0, NtfsCommand.Run(["ls", image, "-r", "--json"], s_raw, ntfsOut, TextWriter.Null));
        using JsonDocument fs = JsonDocument.Parse(fsOut);
        using JsonDocument ntfs = JsonDocument.Parse(ntfsOut.ToString());
        var a = fs.RootElement.EnumerateArray().ToList();
        var b = ntfs.RootElement.EnumerateArray().ToList();
        Assert.Equal(b.Count, a.Count);
        for (int i = 0; i < a.Count; i++)
        {
            foreach (string field in (string[])["path", "isDirectory", "size", "mftRecord", "streams"])
            {
                Assert.Equal(b[i].GetProperty(field).GetRawText(), a[i].GetProperty(field).GetRawText());
            }

            Assert.Equal(b[i].GetProperty("isDirectory").GetBoolean() ? "directory" : "file", a[i].GetProperty("type").GetString());
        }

        const string Path = "/file-6-1000000.bin";
        string output = dir.File("out.bin");
        (code, _, stderr) = Fs(["cat", image, Path, "--output", output], s_raw);
        Assert.True(code == 0, stderr);
        Assert.Equal(NtfsImages.NtfsCat(image, Path), File.ReadAllBytes(output));
        (code, string extents, stderr) = Fs(["extents", image, Path, "--json"], s_raw);
        Assert.True(code == 0, stderr);
        using JsonDocument e = JsonDocument.Parse(extents);
        Assert.True(e.RootElement.GetProperty("mftRecord").GetInt64() > 0);
        Assert.Equal(1_000_000, e.RootElement.GetProperty("streams")[0].GetProperty("extents").EnumerateArray().Sum(x => x.GetProperty("length").GetInt64()));
    }

    private static (int Code, string Out, string Err) Fs(string[] args, Func<string, IDiskSource>? open = null)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = FsCommand.Run(args, open ?? Program.OpenDisk, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
