using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Prism.Testing;

namespace Prism.Disks.Tests.Ext4;

/// <summary>
/// An ext4 volume (4 KiB blocks, 64bit, metadata_csum: mke2fs 1.47's defaults) whose /big directory holds 100,000 names
/// in a two-level htree, built with e2fsprogs only and without root in a few seconds:
/// <list type="number">
/// <item><c>mke2fs -d</c> writes 3,000 entries into /big (regular files of seeded random sizes, long and UTF-8 names, a
/// 255-byte name, symlinks, hard links). mke2fs -d links each name into a linear directory, which is quadratic: 69,000
/// names took it 7 min 46 s here, so it cannot write all 100,000.</item>
/// <item><c>e2fsck -fyD</c> rebuilds /big as an htree.</item>
/// <item><c>debugfs -w -f</c> adds 97,000 FIFOs and character and block devices with <c>mknod</c>: libext2fs 1.47 inserts
/// into an indexed directory through its htree (about 3 s for 97,000 names here). debugfs <c>write</c> and <c>symlink</c>
/// cost about 1 ms each (they look the name up first), which is why the bulk is special files.</item>
/// <item><c>e2fsck -fn</c> must then find the volume clean.</item>
/// </list>
/// The oracles' views are made once: debugfs <c>ls -p /big</c> (inode, mode, size of every name) and debugfs
/// <c>rdump /big</c> (the content of every regular file and the target of every symlink, read by e2fsprogs' own code).
/// </summary>
public sealed class HugeDirectoryFixture : IDisposable
{
    public const int Entries = 100_000;
    public const int SourceEntries = 3_000;
    public const int SizeMiB = 256;

    public static readonly string[] Options = ["-t", "ext4", "-b", "4096", "-N", "110000"];

    private const string SourceScript = """
import os, sys, random
root = sys.argv[1]; n = int(sys.argv[2])
rnd = random.Random(1000)
big = root + '/big'
os.makedirs(big)
names = []
for i in range(n - 10):
    name = 'r%05d-%s' % (i, 'x' * (i % 45))
    if i % 300 == 7: name += '-caf\u00e9-\u65e5\u672c\u8a9e'
    if i == 1234: name = ('r%05d-' % i) + 'L' * 248
    with open(big + '/' + name, 'wb') as f:
        f.write(rnd.randbytes(rnd.choice([0, 1, 60, 61, 100, 1000, 4096, 5000, 20000, 70000]) + i % 7))
    names.append(name)
for i in range(5):
    os.link(big + '/' + names[i * 101], big + '/hard-%d' % i)
    os.symlink(names[i * 211] if i % 2 == 0 else '/etc/' + 's' * (70 * i), big + '/sym-%d' % i)
with open(root + '/top.txt', 'wb') as f: f.write(b'top\n')
""";

    private readonly TempDir _dir = new();
    private readonly Lazy<Built> _built;
    private readonly Lazy<Ext4VolumesFixture.Chained> _chained;

    public HugeDirectoryFixture()
    {
        _built = new Lazy<Built>(Build);
        _chained = new Lazy<Ext4VolumesFixture.Chained>(() =>
            Ext4VolumesFixture.BuildChain(_dir.File("chain"), _built.Value.Image, SizeMiB, Options, "gpt", "huge-dir"));
    }

    public string Directory => _dir.Path;

    /// <summary>The image and the oracles' views of it; skips when e2fsprogs or python3 is missing.</summary>
    public Built Get()
    {
        Oracle.Require("mke2fs", "e2fsprogs");
        Oracle.Require("debugfs", "e2fsprogs");
        Oracle.Require("python3", "python3");
        return _built.Value;
    }

    /// <summary>The image as partition 1 of a GPT disk behind a 2-level VHDX chain (built once).</summary>
    public Ext4VolumesFixture.Chained GetChained()
    {
        Get();
        Oracle.Require("sfdisk", "fdisk");
        return _chained.Value;
    }

    private Built Build()
    {
        var clock = Stopwatch.StartNew();
        string python = Oracle.Require("python3", "python3");
        string debugfs = Oracle.Require("debugfs", "e2fsprogs");
        string src = _dir.File("src");
        System.IO.Directory.CreateDirectory(src);
        Oracle.Run(python, ["-c", SourceScript, src, SourceEntries.ToString(CultureInfo.InvariantCulture)]);
        string image = Ext4Images.Make(_dir.File("huge.img"), src, SizeMiB, Options);
        Ext4Images.Fsck(image, "-fyD");

        string commands = _dir.File("mknod.cmd");
        using (var w = new StreamWriter(commands))
        {
            w.WriteLine("cd /big");
            for (int i = 0; i < Entries - SourceEntries; i++)
            {
                string tail = new('y', i % 60);
                w.WriteLine((i % 10) switch
                {
                    8 => $"mknod c{i:D5}-{tail} c 1 {i % 250}",
                    9 => $"mknod b{i:D5}-{tail} b 7 {i % 250}",
                    _ => $"mknod p{i:D5}-{tail} p",
                });
            }
        }

        Oracle.Run(debugfs, ["-w", "-f", commands, image]);
        string check = Ext4Images.Fsck(image, "-fn");
        Assert.DoesNotContain("Fix?", check, StringComparison.Ordinal);

        // debugfs ls -p: /inode/mode/uid/gid/name/size/ per entry.
        var listing = new Dictionary<string, (uint Inode, int Mode, long Size)>(StringComparer.Ordinal);
        foreach (string line in Oracle.Run(debugfs, ["-R", "ls -p /big", image]).StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split('/');
            if (f.Length >= 7 && f[1] != "0" && f[5] is not ("" or "." or ".."))
            {
                listing.Add(f[5], (uint.Parse(f[1], CultureInfo.InvariantCulture), Convert.ToInt32(f[2], 8),
                    f[6].Length == 0 ? 0 : long.Parse(f[6], CultureInfo.InvariantCulture)));
            }
        }

        // debugfs rdump: regular files as files, symlinks as symlinks (special files are skipped).
        string dump = _dir.File("rdump");
        System.IO.Directory.CreateDirectory(dump);
        Oracle.Run(debugfs, ["-R", $"rdump /big {dump}", image]);
        var content = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string path in System.IO.Directory.EnumerateFileSystemEntries(Path.Combine(dump, "big")))
        {
            var info = new FileInfo(path);
            content.Add(info.Name, info.LinkTarget is { } target ? "-> " + target : Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
        }

        return new Built(image, listing, content, clock.Elapsed);
    }

    /// <inheritdoc />
    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// The image; debugfs's listing of /big (name → inode, i_mode, size); rdump's view (name → sha256 of a regular file,
    /// "-> target" of a symlink); how long building took.
    /// </summary>
    public sealed record Built(string Image, Dictionary<string, (uint Inode, int Mode, long Size)> Listing, Dictionary<string, string> Content, TimeSpan BuildTime);
}
