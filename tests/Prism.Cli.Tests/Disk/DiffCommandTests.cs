using System.Text.Json;
using Prism.Disks.Guest;
using Prism.Disks.IO;
using Prism.Disks.Tests.Ext4;
using Prism.Disks.Tests.Ntfs;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Cli.Tests.Disk;

/// <summary>
/// <c>prism diff</c> on an ext4 golden (mke2fs -d, MBR, VHDX) and a clone a guest changed through a fuse2fs read-write
/// mount: the path-level result equals a diff of the two mounted trees (paths + sha256); renames, identical rewrites
/// and metadata-only changes are told apart.
/// </summary>
public sealed class DiffCommandTests
{
    private const long Start = 1 << 20;

    [SkippableFact]
    public void Ext4CloneDiffEqualsTheMountedTreesDiff()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "fuse2fs and Unix file modes: Linux only");
        Oracle.Require("sfdisk", "fdisk");
        Oracle.Require("fuse2fs", "fuse2fs");
        Skip.If(!File.Exists("/dev/fuse") && !Oracle.Required, "FUSE unavailable");
        using var dir = new TempDir();
        string tree = Directory.CreateDirectory(dir.File("tree")).FullName;
        Ext4Images.BuildTree(tree);
        string golden = Ext4Images.Make(dir.File("golden.img"), tree, 96, "-t", "ext4", "-b", "4096");
        string changed = dir.File("clone.img");
        File.Copy(golden, changed);
        FuseMount.WithFuse2fs(changed, dir.Path, readOnly: false, m =>
        {
            Directory.CreateDirectory(m + "/new/dir");
            for (int i = 0; i < 60; i++)
            {
                File.WriteAllText(m + $"/new/dir/f{i:D2}.txt", $"new file {i}\n");
            }

            File.Delete(m + "/sizes/s004096.bin");
            using (var f = new FileStream(m + "/sizes/s065536.bin", FileMode.Open, FileAccess.Write))
            {
                f.Position = 1000;
                f.Write("changed in place"u8);
            }

            byte[] same = File.ReadAllBytes(m + "/sizes/s001000.bin");
            using (var f = new FileStream(m + "/sizes/s001000.bin", FileMode.Open, FileAccess.Write))
            {
                f.Write(same);
            }

            File.Move(m + "/names/with space & $ymbols!.txt", m + "/names/renamed.txt");
            File.WriteAllBytes(m + "/sizes/s000100.bin.new", [.. File.ReadAllBytes(m + "/sizes/s000100.bin"), 1, 2, 3]);
            File.Move(m + "/sizes/s000100.bin.new", m + "/sizes/s000100.bin", overwrite: true);
            Oracle.Run("/bin/chmod", ["0700", m + "/sizes/s000059.bin"]);
        });

        (string goldenVhdx, string child) = MakeChain(dir, golden, changed, "83");
        List<Change> ours = RunDiff(goldenVhdx, child);

        // The oracle: both trees mounted by fuse2fs, compared by path and content hash.
        (string[] added, string[] deleted, string[] modified) = Ext4Images.ManifestDiff(
            Ext4Images.FuseManifest(golden, dir.File("mnt-golden.img")), Ext4Images.FuseManifest(changed, dir.File("mnt-clone.img")));
        Assert.Equal(63, added.Length); // 60 files, 2 directories, the rename target
        Assert.Equal(["/sizes/s000100.bin", "/sizes/s065536.bin"], modified);

        AssertSameAsTrees(ours, added, deleted, modified);
        Assert.Contains(new Change("renamed", "/names/renamed.txt", "/names/with space & $ymbols!.txt", null), ours);
        Assert.Contains(new Change("metadata", "/sizes/s000059.bin", null, null), ours);
        Assert.DoesNotContain(ours, c => c.Path == "/sizes/s001000.bin" && c.Kind == "modified");

        // The text form, and a clone against itself: nothing.
        var stdout = new StringWriter();
        Assert.Equal(0, Program.Run(["diff", goldenVhdx, child], stdout, TextWriter.Null));
        Assert.Contains("renamed", stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains("(was /names/with space & $ymbols!.txt)", stdout.ToString(), StringComparison.Ordinal);
        stdout = new StringWriter();
        Assert.Equal(0, Program.Run(["diff", child, child, "--json"], stdout, TextWriter.Null));
        Assert.Equal("[]", stdout.ToString().Trim());
    }

    [SkippableFact]
    public void NtfsCloneDiffEqualsTheMountedTreesDiff()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "ntfs-3g: Linux only");
        Oracle.Require("sfdisk", "fdisk");
        Oracle.Require("ntfs-3g", "ntfs-3g");
        Oracle.RequireFuse();
        using var dir = new TempDir();
        string golden = NtfsImages.Create(dir, "golden.img", 64L << 20, 4096);
        using (NtfsImages.Mount m = NtfsImages.MountImage(dir, golden, readOnly: false))
        {
            NtfsImages.RunPython(NtfsFill, m.Path);
        }

        string changed = dir.File("clone.img");
        File.Copy(golden, changed);
        using (NtfsImages.Mount m = NtfsImages.MountImage(dir, changed, readOnly: false))
        {
            NtfsImages.RunPython(NtfsChange, m.Path);
        }

        (string goldenVhdx, string child) = MakeChain(dir, golden, changed, "7");
        List<Change> ours = RunDiff(goldenVhdx, child);

        // The oracle: both trees mounted by ntfs-3g, compared by path and content hash (unnamed streams).
        string[] Manifest(string image)
        {
            using NtfsImages.Mount m = NtfsImages.MountImage(dir, image, readOnly: true);
            return NtfsImages.RunPython(Ext4Images.ManifestScript, m.Path, "1000000000").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }

        (string[] added, string[] deleted, string[] modified) = Ext4Images.ManifestDiff(Manifest(golden), Manifest(changed));
        Assert.Equal(["/apps/a03.bin", "/apps/a05.bin", "/apps/a07.bin", "/apps/a09.bin", "/logs/app.log"], modified);
        Assert.Equal(43, added.Length); // 40 files, 2 directories, the rename target

        AssertSameAsTrees([.. ours.Where(c => c.Stream is null)], added, deleted, modified);
        Assert.Contains(new Change("renamed", "/docs/renamed.txt", "/docs/d02.txt", null), ours);
        Assert.Contains(new Change("added", "/docs/d05.txt", null, "notes"), ours);
        Assert.DoesNotContain(ours, c => c.Path == "/apps/a11.bin" && c.Kind == "modified");

        // The read bound: the clone reads its divergence, the content of the files whose content lies in it, and the
        // volume's boot sector and root index (on this small volume a walk of the whole $MFT costs little more; the
        // 100,000-file figures are in the README).
        using VhdxDisk goldenDisk = VhdxDisk.Open(goldenVhdx);
        using VhdxDisk childDisk = VhdxDisk.Open(child);
        List<ByteRange> divergent = [.. childDisk.GetAllocatedRanges()];
        var cloneCounting = new CountingSource(childDisk);
        GuestDiff.Compare(new CountingSource(goldenDisk), cloneCounting, divergent, e => Assert.Fail(e));
        var walkCounting = new CountingSource(childDisk);
        IGuestVolume volume = GuestDisk.Open(walkCounting).Volumes.Single();
        var touched = new Dictionary<long, long>();
        volume.Visit((in GuestFileView f) =>
        {
            GuestSectorMap map = f.GetSectorMap();
            for (int i = 0; i < f.StreamCount; i++)
            {
                if (ByteRanges.Touches(map.StreamRanges(i).ToArray(), divergent))
                {
                    touched[f.Id] = touched.GetValueOrDefault(f.Id) + ((f.StreamSize(i) + 4095) / 4096 * 4096);
                }
            }
        });
        long divergentBytes = divergent.Sum(r => r.Length);
        long touchedBytes = touched.Values.Sum();
        const long Slack = 256 * 1024; // partition table, boot sector, $MFT's own record, the root index
        Assert.True(cloneCounting.BytesRead <= divergentBytes + touchedBytes + Slack,
            $"clone read {cloneCounting.BytesRead} bytes > divergence {divergentBytes} + touched files {touchedBytes} + {Slack}");
    }

    // A small Windows-like tree: programs, documents, a log, a hard link, a named stream.
    private const string NtfsFill = """
import os, sys, random
m = sys.argv[1]
rnd = random.Random(31)
for d, n, lo, hi in [('apps', 20, 3000, 200000), ('docs', 30, 0, 2000), ('logs', 0, 0, 0)]:
    os.makedirs(os.path.join(m, d))
    for i in range(n):
        with open(os.path.join(m, d, '%s%02d.%s' % (d[0], i, 'bin' if d == 'apps' else 'txt')), 'wb') as h: h.write(rnd.randbytes(rnd.randrange(lo, hi)))
with open(m + '/logs/app.log', 'wb') as h: h.write(rnd.randbytes(50000))
os.link(m + '/docs/d01.txt', m + '/docs/d01-link.txt')
with open(m + '/docs/d04.txt:meta', 'wb') as h: h.write(b'stream')
""";

    // A guest's changes: new files and directories, deletions, in-place rewrites (one identical), a rename, a write-and-
    // rename replacement, a log append, a truncation, a named stream added.
    private const string NtfsChange = """
import os, sys, random
m = sys.argv[1]
rnd = random.Random(32)
os.makedirs(m + '/new/sub')
for i in range(40):
    with open('%s/new/%sf%02d.dat' % (m, 'sub/' if i % 2 else '', i), 'wb') as h: h.write(rnd.randbytes(i * 300))
os.remove(m + '/docs/d10.txt')
os.remove(m + '/apps/a01.bin')
for n in ['a03', 'a05']:
    p = m + '/apps/%s.bin' % n
    size = os.path.getsize(p)
    with open(p, 'r+b') as h: h.seek(size // 2); h.write(b'changed in place')
same = open(m + '/apps/a11.bin', 'rb').read()
with open(m + '/apps/a11.bin', 'r+b') as h: h.write(same)
os.rename(m + '/docs/d02.txt', m + '/docs/renamed.txt')
with open(m + '/apps/a07.bin.new', 'wb') as h: h.write(rnd.randbytes(7000))
os.replace(m + '/apps/a07.bin.new', m + '/apps/a07.bin')
with open(m + '/logs/app.log', 'ab') as h: h.write(rnd.randbytes(9000))
os.truncate(m + '/apps/a09.bin', 1000)
with open(m + '/docs/d05.txt:notes', 'wb') as h: h.write(b'a new named stream')
""";

    // A line of prism diff --json.
    private sealed record Change(string Kind, string Path, string? OldPath, string? Stream);

    // The golden volume imported as partition 1 (MBR type) of a VHDX golden, and a differencing child holding the 4 KiB
    // sectors in which the changed volume differs.
    private static (string GoldenVhdx, string Child) MakeChain(TempDir dir, string golden, string changed, string type)
    {
        string goldenVhdx = dir.File("golden.vhdx");
        Import(golden, goldenVhdx, dir.File("disk.raw"), type);
        string child = dir.File("child.vhdx");
        VhdxDisk.CreateDifferencing(child, goldenVhdx);
        WriteDivergence(child, golden, changed);
        return (goldenVhdx, child);
    }

    // prism diff --json of the two disks: exit 0, nothing on stderr, its changes.
    private static List<Change> RunDiff(string golden, string clone)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.True(Program.Run(["diff", golden, clone, "--json"], stdout, stderr) == 0, stderr.ToString());
        Assert.Equal(string.Empty, stderr.ToString());
        using JsonDocument doc = JsonDocument.Parse(stdout.ToString());
        return [.. doc.RootElement.EnumerateArray().Select(e => new Change(e.GetProperty("change").GetString()!, e.GetProperty("path").GetString()!,
            e.TryGetProperty("oldPath", out JsonElement o) ? o.GetString() : null, e.TryGetProperty("stream", out JsonElement st) ? st.GetString() : null))];
    }

    // prism's changes equal the mounted trees' diff: a rename is the new path added and the old one deleted.
    private static void AssertSameAsTrees(List<Change> ours, string[] added, string[] deleted, string[] modified)
    {
        Assert.Equal(added, ours.Where(c => c.Kind is "added" or "renamed").Select(c => c.Path).Order(StringComparer.Ordinal));
        Assert.Equal(deleted, ours.Where(c => c.Kind is "deleted").Select(c => c.Path)
            .Concat(ours.Where(c => c.Kind == "renamed").Select(c => c.OldPath!)).Order(StringComparer.Ordinal));
        Assert.Equal(modified, ours.Where(c => c.Kind == "modified").Select(c => c.Path).Order(StringComparer.Ordinal));
    }

    private static void Import(string volume, string vhdx, string raw, string type)
    {
        long length = new FileInfo(volume).Length;
        using (FileStream f = File.Create(raw))
        {
            f.SetLength(Start + length + (1 << 20));
        }

        Oracle.Run("sfdisk", ["--quiet", raw], stdin: $"label: dos\nstart=2048, size={length / 512}, type={type}\n");
        VhdxDisk.Create(vhdx, new VhdxCreateOptions { VirtualSize = Start + length + (1 << 20) });
        using VhdxDisk g = VhdxDisk.Open(vhdx, new VhdxOpenOptions { Writable = true });
        using FileStream src = File.OpenRead(raw);
        using FileStream vol = File.OpenRead(volume);
        byte[] sector = new byte[4096];
        src.ReadExactly(sector);
        g.Write(sector, 0);
        for (long at = 0; at < length; at += sector.Length)
        {
            vol.ReadExactly(sector);
            if (sector.AsSpan().ContainsAnyExcept((byte)0))
            {
                g.Write(sector, Start + at);
            }
        }

        g.Flush();
    }

    private static void WriteDivergence(string vhdx, string before, string after)
    {
        using VhdxDisk disk = VhdxDisk.Open(vhdx, new VhdxOpenOptions { Writable = true });
        byte[] x = File.ReadAllBytes(before);
        byte[] y = File.ReadAllBytes(after);
        for (int s = 0; s < x.Length; s += 4096)
        {
            if (!x.AsSpan(s, 4096).SequenceEqual(y.AsSpan(s, 4096)))
            {
                disk.Write(y.AsSpan(s, 4096), Start + s);
            }
        }

        disk.Flush();
    }
}
