using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Prism.Disks.Ext4;
using Prism.Disks.Guest;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Disks.Tests.Ext4;

/// <summary>
/// A directory of 100,000 names in a two-level htree (<see cref="HugeDirectoryFixture"/>) lists as debugfs lists it and
/// reads as debugfs rdump, sleuthkit icat and a fuse2fs mount read it, on the bare image and inside a GPT disk behind a
/// 2-level VHDX chain; a name is found through the htree, reading a few blocks of the 5.8 MB directory. What the other
/// oracles cannot do here (e2fsprogs 1.47, sleuthkit 4.11.1):
/// <list type="bullet">
/// <item>sleuthkit's <c>fls -r -p</c> lists every name of this image plus five phantom entries in /big of unknown type
/// ("-/-"), with two-byte names such as "U^" and small inode numbers (56, 637, 1314, 388, 28): bytes of the htree's index
/// blocks decoded as directory entries (e2fsck, debugfs and fuse2fs list no such names). On another build of this tree
/// (same commands, random hash seed) fls listed none of /big's names, exit 0: <c>fls IMAGE 12</c> said "Error extracting
/// file from image (ext2fs_dir_open_meta: Error reading directory contents: 12)" and <c>istat</c> "fs_attr_add_run: error
/// adding additional run (12): No filler entry for 0. Final: 1024". So the listing oracle for /big is debugfs
/// <c>ls -p</c>; fls is compared on every name but the phantoms; icat (by inode) reads the files.</item>
/// <item>fuse2fs resolves every path with a linear scan of the directory (ext2fs_namei), so a FUSE walk that stats all
/// 100,000 names is quadratic (over 12 minutes here without finishing); it checks a sample of names, each looked up once.</item>
/// </list>
/// </summary>
public sealed class HugeDirectoryTests(HugeDirectoryFixture fixture, ITestOutputHelper output) : IClassFixture<HugeDirectoryFixture>
{
    [SkippableFact]
    public void HugeHtree_ListsAsDebugfsAndReadsAsRdumpIcatAndFls()
    {
        HugeDirectoryFixture.Built built = fixture.Get();
        string debugfs = Oracle.Require("debugfs", "e2fsprogs");
        string icat = Oracle.Require("icat", "sleuthkit");
        output.WriteLine($"image built in {built.BuildTime.TotalSeconds:F1} s");
        Assert.Contains("Indirect levels: 1", Oracle.Run(debugfs, ["-R", "htree /big", built.Image]).StdOut, StringComparison.Ordinal);
        Assert.Equal(HugeDirectoryFixture.Entries, built.Listing.Count);

        using var source = new FileDiskSource(built.Image);
        Ext4Volume volume = Ext4Volume.Open(source);
        IReadOnlyList<Ext4FileEntry> entries = volume.Enumerate(onError: e => Assert.Fail(e.ToString()));
        Ext4FileEntry[] big = [.. entries.Where(e => e.Path.StartsWith("/big/", StringComparison.Ordinal))];
        Assert.Equal(HugeDirectoryFixture.Entries, big.Length);

        int files = 0, symlinks = 0, specials = 0;
        foreach (Ext4FileEntry e in big)
        {
            string name = e.Path["/big/".Length..];
            Assert.True(built.Listing.TryGetValue(name, out var d), $"{e.Path} is not in debugfs's listing");
            Assert.True(d.Inode == e.Inode && TypeOf(d.Mode) == e.Type, $"{e.Path}: inode {e.Inode} {e.Type}, debugfs {d.Inode} mode {Convert.ToString(d.Mode, 8)}");
            switch (e.Type)
            {
                case GuestFileType.File:
                    Assert.Equal(d.Size, e.Size);
                    Assert.True(built.Content[name] == Ext4Images.Digest(volume, e), $"{e.Path}: content differs from debugfs rdump");
                    files++;
                    break;
                case GuestFileType.Symlink:
                    Assert.Equal(built.Content[name], "-> " + volume.ReadSymlink(e));
                    symlinks++;
                    break;
                default:
                    Assert.Equal(0, e.Size);
                    specials++;
                    break;
            }
        }

        Assert.Equal(built.Content.Count, files + symlinks);
        Assert.True(files > 2900 && symlinks == 5 && specials == HugeDirectoryFixture.Entries - HugeDirectoryFixture.SourceEntries, $"{files} files, {symlinks} symlinks, {specials} special files");
        for (int i = 0; i < 5; i++)
        {
            uint inode = big.Single(e => e.Path == $"/big/hard-{i}").Inode;
            Assert.Equal(2, big.Count(e => e.Inode == inode));
        }

        // icat by inode: every 50th regular file, byte for byte (sha256).
        Ext4FileEntry[] sample = [.. big.Where(e => e.Type == GuestFileType.File).Where((_, i) => i % 50 == 0)];
        string script = string.Join('\n', sample.Select(e => $"{icat} '{built.Image}' {e.Inode} | sha256sum"));
        string[] theirs = [.. Oracle.Run("sh", ["-c", script]).StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0])];
        Assert.Equal(sample.Length, theirs.Length);
        for (int i = 0; i < sample.Length; i++)
        {
            Assert.True(theirs[i] == Ext4Images.Digest(volume, sample[i]), $"{sample[i].Path}: differs from icat");
        }

        // fls: every name as we list it, plus a few phantoms in /big (see the class comment).
        var fls = Ext4Images.Fls(built.Image);
        var ours = entries.ToDictionary(e => e.Path, e => e.Inode, StringComparer.Ordinal);
        string[] phantoms = [.. fls.Keys.Where(p => p.StartsWith("/big/", StringComparison.Ordinal) && !built.Listing.ContainsKey(p["/big/".Length..]))];
        Assert.All(phantoms, p => Assert.True(fls[p].Type == '-' && !ours.ContainsKey(p), $"fls phantom {p}: {fls[p]}"));
        Assert.True(phantoms.Length < 20, $"{phantoms.Length} phantom names from fls");
        Assert.All(fls.Where(kv => !phantoms.Contains(kv.Key)), kv => Assert.True(ours.TryGetValue(kv.Key, out uint inode) && inode == kv.Value.Inode, $"fls lists {kv.Key} as inode {kv.Value.Inode}"));
        Assert.Equal(ours.Count, fls.Count - phantoms.Length);
        output.WriteLine($"fls: {fls.Count - phantoms.Length} names as ours, {phantoms.Length} phantoms: {string.Join(", ", phantoms.Select(p => $"{p} ({fls[p].Inode})"))}");
    }

    [SkippableFact]
    public void HugeHtree_FindsNamesThroughTheIndexAsFuse2fsReadsThem()
    {
        HugeDirectoryFixture.Built built = fixture.Get();
        string python = Oracle.Require("python3", "python3");
        string fuse2fs = Oracle.Require("fuse2fs", "fuse2fs");
        Oracle.Require("fusermount", "fuse3");
        Oracle.RequireFuse();

        using var file = new FileDiskSource(built.Image);
        var counting = new CountingSource(file);
        Ext4Volume volume = Ext4Volume.Open(counting);
        long directoryBytes = volume.Find("/big")!.Size;
        Assert.True(directoryBytes > 100 * volume.BlockSize, $"/big is only {directoryBytes} bytes");

        // Every name of the listing is found with its inode, each lookup reading the root, /big's inode, one index block per
        // level and its leaf (or the next leaf on a hash collision): a bound far below the directory's size.
        long worst = 0;
        string[] names = [.. built.Listing.Keys.Order(StringComparer.Ordinal)];
        for (int i = 0; i < names.Length; i += 7)
        {
            long before = counting.BytesRead;
            Ext4FileEntry? found = volume.Find("/big/" + names[i]);
            worst = Math.Max(worst, counting.BytesRead - before);
            Assert.True(found is not null && found.Inode == built.Listing[names[i]].Inode, $"/big/{names[i]}: found {found}");
        }

        long missBefore = counting.BytesRead;
        Assert.Null(volume.Find("/big/r00001-not-there"));
        Assert.Null(volume.Find("/big/" + names[0] + "x"));
        worst = Math.Max(worst, (counting.BytesRead - missBefore) / 2);
        output.WriteLine($"worst lookup read {worst} bytes of a {directoryBytes}-byte directory");
        Assert.True(worst <= 12L * volume.BlockSize, $"a lookup read {worst} bytes (directory {directoryBytes})");

        // fuse2fs: a sample of names (all kinds, the 255-byte and UTF-8 ones) looked up once each.
        string[] sample = [.. names.Where((n, i) => i % 9973 == 0 || n.Length > 200 || n.Contains('\u65e5', StringComparison.Ordinal) || n.StartsWith("sym-", StringComparison.Ordinal) || n == "hard-1").Take(24)];
        string mount = Path.Combine(fixture.Directory, "fuse-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(mount);
        Oracle.Run(fuse2fs, ["-o", "ro,fakeroot", built.Image, mount]);
        string[] lines;
        try
        {
            lines = Oracle.Run(python, ["-c", FuseSampleScript, mount + "/big"], stdin: string.Join('\n', sample)).StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
        finally
        {
            FuseMount.Unmount(mount);
        }

        Assert.Equal(sample.Length, lines.Length);
        foreach (string line in lines)
        {
            string[] f = line.Split('\t');
            Ext4FileEntry e = volume.Find("/big/" + f[0])!;
            Assert.True(e is not null, $"/big/{f[0]} not found");
            Assert.True(TypeOf(int.Parse(f[1], CultureInfo.InvariantCulture)) == e.Type, $"{e.Path}: {e.Type}, fuse2fs mode {f[1]}");
            string ours = e.Type switch
            {
                GuestFileType.File => Ext4Images.Digest(volume, e),
                GuestFileType.Symlink => "-> " + volume.ReadSymlink(e),
                _ => "-",
            };
            Assert.True(f[3] == ours && long.Parse(f[2], CultureInfo.InvariantCulture) == (e.Type is GuestFileType.File or GuestFileType.Symlink ? e.Size : 0),
                $"{e.Path}: ours {ours} {e.Size}, fuse2fs {f[3]} {f[2]}");
        }
    }

    [SkippableFact]
    public void HugeHtree_InGptBehindTwoLevelVhdxChain_ListsAndReads()
    {
        HugeDirectoryFixture.Built built = fixture.Get();
        Ext4VolumesFixture.Chained chained = fixture.GetChained();
        using VhdxDisk disk = VhdxDisk.Open(chained.Vhdx);
        Assert.Equal(3, disk.Chain.Count);
        GuestDisk layout = GuestDisk.Open(disk, chained.Vhdx);
        Assert.Null(layout.TableProblem);
        GuestPartition partition = Assert.Single(layout.Partitions, p => p.Volume is not null);
        Assert.Equal(1, partition.Number);
        IGuestVolume volume = partition.Volume!;
        Assert.Equal(chained.Offset, volume.DiskOffset);

        var walked = new Dictionary<string, (long Id, GuestFileType Type, long Size)>(StringComparer.Ordinal);
        volume.Visit((in GuestFileView f) => walked.Add(f.Path.ToString(), (f.Id, f.Type, f.Size)), "/big", recursive: false, onError: e => Assert.Fail(e.ToString()));
        Assert.Equal(HugeDirectoryFixture.Entries, walked.Count);
        Assert.All(built.Listing, kv =>
        {
            (long id, GuestFileType type, _) = walked["/big/" + kv.Key];
            Assert.True(id == kv.Value.Inode && type == TypeOf(kv.Value.Mode), $"/big/{kv.Key}: {id} {type}, debugfs {kv.Value.Inode} mode {Convert.ToString(kv.Value.Mode, 8)}");
        });

        // prism fs cat's path: Find through the htree, then the file's stream through the chain.
        int read = 0;
        foreach ((string name, string expected) in built.Content.Where(kv => !kv.Value.StartsWith("->", StringComparison.Ordinal)).Where((_, i) => i % 10 == 0))
        {
            GuestFileEntry entry = volume.Find("/big/" + name) ?? throw new InvalidOperationException($"/big/{name} not found");
            Assert.Equal(walked["/big/" + name].Id, entry.Id);
            IDiskSource stream = volume.OpenStream(entry);
            byte[] bytes = new byte[entry.Size];
            stream.ReadExactly(bytes, 0);
            Assert.True(expected == Convert.ToHexStringLower(SHA256.HashData(bytes)), $"/big/{name}: differs from debugfs rdump");
            read++;
        }

        Assert.True(read > 290, $"only {read} files read");
    }

    [SkippableFact]
    public void DirHash_EqualsDebugfsDxHash_ForEveryVersion()
    {
        string debugfs = Oracle.Require("debugfs", "e2fsprogs");
        HugeDirectoryFixture.Built built = fixture.Get();
        const string Seed = Ext4Images.Uuid;
        byte[] seedBytes = Convert.FromHexString(Seed.Replace("-", string.Empty, StringComparison.Ordinal));
        uint[] seed = [.. Enumerable.Range(0, 4).Select(i => System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(seedBytes.AsSpan(i * 4)))];
        string[] versions = ["legacy", "half_md4", "tea", "legacy_unsigned", "half_md4_unsigned", "tea_unsigned"];
        string[] names = ["a", "hello", "r01234-xxxxxxxxxxxxxxx", "caf\u00e9-\u65e5\u672c\u8a9e", new string('L', 255), "\u00ff\u00fe-high-bytes", "exactly-16-bytes", "exactly-32-bytes-long-name-here!", "0123456789abcdefg", .. built.Listing.Keys.Take(20)];
        // debugfs's -h knows only the signed versions by name (others fall back to legacy), so versions go as numbers.
        var script = new StringBuilder();
        var expected = new List<(string Name, int Version, bool Seeded)>();
        foreach (string name in names)
        {
            for (int v = 0; v < versions.Length; v++)
            {
                foreach (bool seeded in (bool[])[false, true])
                {
                    script.Append("dx_hash -h ").Append(v).Append(seeded ? " -s " + Seed : string.Empty).Append(' ').Append(name).Append('\n');
                    expected.Add((name, v, seeded));
                }
            }
        }

        string commands = Path.Combine(fixture.Directory, "dxhash-" + Guid.NewGuid().ToString("N") + ".cmd");
        File.WriteAllText(commands, script.ToString());
        string[] hashes = [.. Oracle.Run(debugfs, ["-f", commands, built.Image]).StdOut.Split('\n')
            .Where(l => l.StartsWith("Hash of ", StringComparison.Ordinal)).Select(l => l[(l.LastIndexOf(" is 0x", StringComparison.Ordinal) + 6)..].Split(' ')[0])];
        Assert.Equal(expected.Count, hashes.Length);
        for (int i = 0; i < expected.Count; i++)
        {
            (string name, int v, bool seeded) = expected[i];
            uint ours = Ext4DirHash.Hash(Encoding.UTF8.GetBytes(name), (byte)v, seeded ? seed : [0, 0, 0, 0]);
            Assert.True(uint.Parse(hashes[i], NumberStyles.HexNumber, CultureInfo.InvariantCulture) == ours,
                $"{versions[v]} {(seeded ? "seeded" : "default seed")} '{name}': ours 0x{ours:x8}, debugfs 0x{hashes[i]}");
        }
    }

    private const string FuseSampleScript = """
import os, sys, stat, hashlib
root = sys.argv[1]
for name in sys.stdin.read().split('\n'):
    if not name: continue
    p = os.path.join(root, name); st = os.lstat(p); m = st.st_mode
    if stat.S_ISREG(m):
        with open(p, 'rb') as f: h = hashlib.sha256(f.read()).hexdigest()
        print('%s\t%d\t%d\t%s' % (name, m, st.st_size, h))
    elif stat.S_ISLNK(m): print('%s\t%d\t%d\t-> %s' % (name, m, st.st_size, os.readlink(p)))
    else: print('%s\t%d\t0\t-' % (name, m))
""";

    private static GuestFileType TypeOf(int mode) => (mode & 0xF000) switch
    {
        0x8000 => GuestFileType.File,
        0x4000 => GuestFileType.Directory,
        0xA000 => GuestFileType.Symlink,
        0x1000 => GuestFileType.Fifo,
        0x2000 => GuestFileType.CharacterDevice,
        0x6000 => GuestFileType.BlockDevice,
        0xC000 => GuestFileType.Socket,
        _ => throw new InvalidOperationException($"mode {Convert.ToString(mode, 8)}"),
    };
}
