using System.Security.Cryptography;
using System.Text;
using Prism.Disks.Ext4;
using Prism.Disks.Guest;
using Prism.Disks.IO;
using Prism.Testing;

namespace Prism.Disks.Tests.Ext4;

/// <summary>Builds ext2/3/4 images with mke2fs -d (no mounting) and reads them back through the oracles.</summary>
internal static class Ext4Images
{
    public const string Uuid = "4f1c2a9e-6b3d-4e8f-9a21-5c7d0e3b8f46";

    // Files above this size are compared by the hashes of their first and last MiB only (both sides alike): reading a
    // 5 GiB sparse file through FUSE would dominate the run.
    public const long WholeHashLimit = 32L * 1024 * 1024;

    /// <summary>The source tree every variant is built from (deterministic content, seeded).</summary>
    public const string TreeScript = """
import os, sys, random, socket
root = sys.argv[1]
rnd = random.Random(12)
def w(p, data):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, 'wb') as f: f.write(data)
for n in [0, 1, 59, 60, 61, 100, 1000, 4095, 4096, 4097, 65536, 200000]:
    w(root + '/sizes/s%06d.bin' % n, rnd.randbytes(n))
d = root
for i in range(40):
    d += '/d%02d' % i
w(d + '/deep.txt', b'bottom of the tree\n')
w(root + '/names/' + 'n' * 255, b'long name')
w(root + '/names/caf\u00e9-\u65e5\u672c\u8a9e-\u00fcn\u00ef.txt', 'utf-8 name'.encode())
w(root + '/names/with space & $ymbols!.txt', b'odd characters')
w(root + '/data/original.txt', b'hard linked content\n' * 50)
os.makedirs(root + '/links', exist_ok=True)
os.link(root + '/data/original.txt', root + '/links/hard1')
os.link(root + '/data/original.txt', root + '/hard2')
os.symlink('data/original.txt', root + '/links/fast')
os.symlink('/' + 'x' * 299, root + '/links/slow')
os.symlink('../sizes/s000100.bin', root + '/links/relative')
with open(root + '/sparse.bin', 'wb') as f:
    f.write(rnd.randbytes(4096)); f.seek(1 << 20); f.write(rnd.randbytes(8192)); f.truncate(3 << 20)
with open(root + '/far.bin', 'wb') as f:
    f.seek(100 << 20); f.write(rnd.randbytes(5000))
with open(root + '/huge.bin', 'wb') as f:
    f.seek((5 << 30) + 12345); f.write(rnd.randbytes(3000))
for i in range(300):
    w(root + '/many/file-%03d-%s.txt' % (i, 'y' * (i % 50)), rnd.randbytes(i * 3))
os.makedirs(root + '/empty-dir')
os.makedirs(root + '/dev')
os.mkfifo(root + '/dev/fifo')
os.mknod(root + '/dev/null-ish', 0o20644, os.makedev(1, 3))
os.mknod(root + '/dev/loop-ish', 0o60644, os.makedev(7, 0))
s = socket.socket(socket.AF_UNIX); s.bind(root + '/dev/socket'); s.close()
""";

    /// <summary>The manifest of a mounted tree: one line per path, "type size hash path" (hash: sha256 or symlink target).</summary>
    public const string ManifestScript = """
import os, sys, stat, hashlib
root = sys.argv[1]; limit = int(sys.argv[2])
out = []
def digest(p, size):
    h = hashlib.sha256()
    with open(p, 'rb') as f:
        if size <= limit:
            while True:
                b = f.read(1 << 20)
                if not b: break
                h.update(b)
        else:
            h.update(f.read(1 << 20)); f.seek(size - (1 << 20)); h.update(f.read(1 << 20))
    return h.hexdigest()
for d, dirs, files in os.walk(root):
    for n in dirs + files:
        p = os.path.join(d, n); rel = p[len(root):]
        st = os.lstat(p); m = st.st_mode
        if stat.S_ISDIR(m): out.append('Directory\t0\t-\t' + rel)
        elif stat.S_ISREG(m): out.append('File\t%d\t%s\t%s' % (st.st_size, digest(p, st.st_size), rel))
        elif stat.S_ISLNK(m): out.append('Symlink\t%d\t%s\t%s' % (st.st_size, os.readlink(p), rel))
        elif stat.S_ISFIFO(m): out.append('Fifo\t0\t-\t' + rel)
        elif stat.S_ISCHR(m): out.append('CharacterDevice\t0\t-\t' + rel)
        elif stat.S_ISBLK(m): out.append('BlockDevice\t0\t-\t' + rel)
        elif stat.S_ISSOCK(m): out.append('Socket\t0\t-\t' + rel)
for line in sorted(out): print(line)
""";

    public static void BuildTree(string dir)
    {
        string python = Oracle.Require("python3", "python3");
        Oracle.Run(python, ["-c", TreeScript, dir]);
    }

    /// <summary>Runs mke2fs -d on a sparse file of <paramref name="sizeMiB"/> MiB, deterministically (fixed UUID, hash seed, time).</summary>
    public static string Make(string image, string sourceDir, int sizeMiB, params string[] options)
    {
        string mke2fs = Oracle.Require("mke2fs", "e2fsprogs");
        using (var f = File.Create(image))
        {
            f.SetLength(sizeMiB * 1024L * 1024);
        }

        var psi = new System.Diagnostics.ProcessStartInfo(mke2fs) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in (string[])["-q", "-F", "-U", Uuid, "-E", $"hash_seed={Uuid}", .. options, "-d", sourceDir, image])
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["E2FSPROGS_FAKE_TIME"] = "1700000000";
        using var p = System.Diagnostics.Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd() + p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"mke2fs {string.Join(' ', options)} failed: {err}");
        }

        return image;
    }

    /// <summary>Runs e2fsck with <paramref name="options"/>; exit codes 0 and 1 (errors corrected) are success.</summary>
    public static string Fsck(string image, string options)
    {
        string e2fsck = Oracle.Require("e2fsck", "e2fsprogs");
        var psi = new System.Diagnostics.ProcessStartInfo(e2fsck) { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(options);
        psi.ArgumentList.Add(image);
        psi.Environment["E2FSPROGS_FAKE_TIME"] = "1700000000";
        using var p = System.Diagnostics.Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode > 1)
        {
            throw new InvalidOperationException($"e2fsck {options} {image} exited {p.ExitCode}: {output}");
        }

        return output;
    }

    /// <summary>The fuse2fs view of the image as manifest lines.</summary>
    public static string[] FuseManifest(string image, string mountPoint)
    {
        string fuse2fs = Oracle.Require("fuse2fs", "fuse2fs");
        Oracle.Require("fusermount", "fuse3");
        string python = Oracle.Require("python3", "python3");
        Directory.CreateDirectory(mountPoint);
        Oracle.Run(fuse2fs, ["-o", "ro,fakeroot", image, mountPoint]);
        try
        {
            string text = Oracle.Run(python, ["-c", ManifestScript, mountPoint, WholeHashLimit.ToString(System.Globalization.CultureInfo.InvariantCulture)]).StdOut;
            return text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
        finally
        {
            FuseMount.Unmount(mountPoint);
        }
    }

    /// <summary>
    /// The diff of two trees from their manifests (<see cref="ManifestScript"/> lines; a path compared by its type and
    /// hash): the paths added, deleted, and present in both with another type or content, each in ordinal order.
    /// </summary>
    public static (string[] Added, string[] Deleted, string[] Modified) ManifestDiff(IEnumerable<string> before, IEnumerable<string> after)
    {
        static Dictionary<string, string> ByPath(IEnumerable<string> lines) =>
            lines.Select(l => l.Split('\t')).ToDictionary(f => f[3], f => f[0] + " " + f[2], StringComparer.Ordinal);
        Dictionary<string, string> b = ByPath(before);
        Dictionary<string, string> a = ByPath(after);
        return ([.. a.Keys.Except(b.Keys).Order(StringComparer.Ordinal)], [.. b.Keys.Except(a.Keys).Order(StringComparer.Ordinal)],
            [.. a.Keys.Where(k => b.TryGetValue(k, out string? v) && v != a[k]).Order(StringComparer.Ordinal)]);
    }

    /// <summary>fls -r -p: path → (inode, type letter of the directory entry), without deleted entries and $OrphanFiles.</summary>
    public static Dictionary<string, (uint Inode, char Type)> Fls(string image)
    {
        string fls = Oracle.Require("fls", "sleuthkit");
        var result = new Dictionary<string, (uint, char)>(StringComparer.Ordinal);
        foreach (string line in Oracle.Run(fls, ["-r", "-p", image]).StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int tab = line.IndexOf('\t', StringComparison.Ordinal);
            string head = line[..tab];
            string path = line[(tab + 1)..];
            if (head.StartsWith("V/V", StringComparison.Ordinal) || head.Contains('*', StringComparison.Ordinal) || path.StartsWith("$OrphanFiles", StringComparison.Ordinal))
            {
                continue;
            }

            string[] parts = head.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            uint inode = uint.Parse(parts[1].TrimEnd(':').Split('-')[0], System.Globalization.CultureInfo.InvariantCulture);
            result["/" + path] = (inode, parts[0][0]);
        }

        return result;
    }

    /// <summary>Our reader's manifest lines, in the fuse manifest's format.</summary>
    public static string[] OurManifest(Ext4Volume volume, IReadOnlyList<Ext4FileEntry> entries)
    {
        var lines = new List<string>();
        foreach (Ext4FileEntry e in entries)
        {
            string line = e.Type switch
            {
                GuestFileType.Directory => $"Directory\t0\t-\t{e.Path}",
                GuestFileType.File => $"File\t{e.Size}\t{Digest(volume, e)}\t{e.Path}",
                GuestFileType.Symlink => $"Symlink\t{e.Size}\t{volume.ReadSymlink(e)}\t{e.Path}",
                _ => $"{e.Type}\t0\t-\t{e.Path}",
            };
            lines.Add(line);
        }

        lines.Sort(StringComparer.Ordinal);
        return [.. lines];
    }

    public static string Digest(Ext4Volume volume, Ext4FileEntry e) => Digest(volume.OpenFile(e), e.Size);

    /// <summary>
    /// sha256 of the whole content when its <paramref name="size"/> is at most <paramref name="limit"/>, else of its first
    /// and last MiB (as <see cref="ManifestScript"/> hashes the mounted file).
    /// </summary>
    public static string Digest(IDiskSource content, long size, long limit = WholeHashLimit)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[1 << 20];
        if (size <= limit)
        {
            for (long at = 0; at < size; at += buffer.Length)
            {
                int n = (int)Math.Min(buffer.Length, size - at);
                content.ReadExactly(buffer.AsSpan(0, n), at);
                sha.AppendData(buffer, 0, n);
            }
        }
        else
        {
            content.ReadExactly(buffer, 0);
            sha.AppendData(buffer);
            content.ReadExactly(buffer, size - buffer.Length);
            sha.AppendData(buffer);
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>The letter fls -r -p gives a file type (r, d, l, p, c, b, s); '?' for a type fls has no letter for.</summary>
    public static char FlsLetter(GuestFileType t) => t switch
    {
        GuestFileType.File => 'r',
        GuestFileType.Directory => 'd',
        GuestFileType.Symlink => 'l',
        GuestFileType.Fifo => 'p',
        GuestFileType.CharacterDevice => 'c',
        GuestFileType.BlockDevice => 'b',
        GuestFileType.Socket => 's',
        _ => '?',
    };

    /// <summary>
    /// A walk of <paramref name="volume"/> through <see cref="IGuestVolume.Visit"/> (path → id, type, size), asserted
    /// free of errors and equal to <paramref name="fls"/>'s listing: the same paths, each with fls's inode and type.
    /// </summary>
    public static Dictionary<string, (long Id, GuestFileType Type, long Size)> WalkMatchingFls(IGuestVolume volume, Dictionary<string, (uint Inode, char Type)> fls)
    {
        var walked = new Dictionary<string, (long Id, GuestFileType Type, long Size)>(StringComparer.Ordinal);
        var errors = new List<GuestEnumerationError>();
        volume.Visit((in GuestFileView f) => walked.Add(f.Path.ToString(), (f.Id, f.Type, f.Size)), onError: errors.Add);
        Assert.Empty(errors);
        string[] missing = [.. fls.Where(kv => !walked.TryGetValue(kv.Key, out var w) || w.Id != kv.Value.Inode || FlsLetter(w.Type) != kv.Value.Type)
            .Select(kv => $"{kv.Key} {kv.Value}")];
        string[] extra = [.. walked.Keys.Where(k => !fls.ContainsKey(k))];
        Assert.True(missing.Length == 0 && extra.Length == 0, $"differs from fls:\n{Describe(missing)}\nextra:\n{Describe(extra)}");
        return walked;
    }

    /// <summary>debugfs "blocks" for many inodes at once: inode → physical data blocks in logical order.</summary>
    public static Dictionary<uint, long[]> DebugfsBlocks(string image, IEnumerable<uint> inodes, string dir)
    {
        string debugfs = Oracle.Require("debugfs", "e2fsprogs");
        uint[] list = [.. inodes.Distinct()];
        string commands = Path.Combine(dir, "blocks-" + Guid.NewGuid().ToString("N") + ".cmd");
        File.WriteAllLines(commands, list.Select(i => $"blocks <{i}>"));
        string output = Oracle.Run(debugfs, ["-f", commands, image]).StdOut;
        var result = new Dictionary<uint, long[]>();
        string[] lines = output.Split('\n');
        int k = -1;
        foreach (string raw in lines)
        {
            string line = raw.Trim();
            if (line.StartsWith("debugfs:", StringComparison.Ordinal))
            {
                k++;
                result[list[k]] = [];
                continue;
            }

            if (k >= 0 && line.Length > 0)
            {
                result[list[k]] = [.. result[list[k]], .. line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse)];
            }
        }

        return result;
    }

    /// <summary>The physical blocks of the Data and Unwritten ranges of a sector map, in file order.</summary>
    public static long[] MappedBlocks(IReadOnlyList<Ext4Extent> map, int blockSize)
    {
        var blocks = new List<long>();
        foreach (Ext4Extent e in map)
        {
            if (e.Kind is Ext4ExtentKind.Data or Ext4ExtentKind.Unwritten)
            {
                long count = (e.Length + blockSize - 1) / blockSize;
                for (long i = 0; i < count; i++)
                {
                    blocks.Add((e.VolumeOffset / blockSize) + i);
                }
            }
        }

        return [.. blocks];
    }

    public static string Describe(IEnumerable<string> lines) => string.Join('\n', lines.Take(20));

    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
}
