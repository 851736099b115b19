using System.Globalization;
using System.Text.Json;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;
using Prism.Scanner.Fleet;
using Prism.Scanner.Tests.Signatures;
using Prism.Testing;

namespace Prism.Scanner.Tests.Fleet;

/// <summary>(path, stream, signature): what the scanner and the oracles are compared on.</summary>
internal readonly record struct Hit(string Path, string? Stream, string Signature)
{
    public override string ToString() => $"{Path}{(Stream is null ? "" : ":" + Stream)} {Signature}";
}

/// <summary>
/// Builds guest-like disks with the ntfs-3g tools: an MBR disk with one NTFS partition at 1 MiB, imported into a
/// dynamic VHDX; clones get exactly the 4 KiB sectors a guest's changes produced; flattening and clamscan over an
/// ntfs-3g mount are the oracle side.
/// </summary>
internal static class FleetDisks
{
    public const long DiskSize = 128L << 20;
    public const long PartitionStart = 1L << 20;
    public const long VolumeSize = DiskSize - PartitionStart;
    public const int Sector = 4096;

    /// <summary>Skips (or fails under PRISM_REQUIRE_ORACLES=1) when a tool the builder and oracles need is missing.</summary>
    public static void RequireTools()
    {
        Oracle.Require("mkntfs", "ntfs-3g");
        Oracle.Require("ntfs-3g", "ntfs-3g");
        Oracle.Require("ntfscp", "ntfs-3g");
        Oracle.Require("ntfsinfo", "ntfs-3g");
        Oracle.Require("sfdisk", "fdisk");
        Oracle.Require("fusermount", "fuse3");
        Oracle.Require("python3", "python3");
        Oracle.Require("clamscan", "clamav");
        Oracle.RequireFuse();
    }

    public static bool ToolsPresent() =>
        new[] { "mkntfs", "ntfs-3g", "ntfscp", "ntfsinfo", "sfdisk", "fusermount", "python3", "clamscan" }.All(t => Oracle.Find(t) is not null)
        && File.Exists("/dev/fuse");

    /// <summary>An empty NTFS volume file the size of the partition (geometry as if at sector 2048).</summary>
    public static void CreateVolume(string path)
    {
        using (FileStream f = File.Create(path))
        {
            f.SetLength(VolumeSize);
        }

        Oracle.Run(Oracle.Require("mkntfs", "ntfs-3g"), ["-F", "-Q", "-T", "-q", "-c", "4096", "-s", "512", "-p", "2048", "-H", "16", "-S", "63", "-L", "Golden", path]);
    }

    /// <summary>Mounts <paramref name="volume"/> with ntfs-3g, runs <paramref name="action"/> on the mount point, always unmounts.</summary>
    public static T WithMount<T>(string volume, string scratch, bool readOnly, string streams, Func<string, T> action)
    {
        string mountPoint = Path.Combine(scratch, "mnt-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(mountPoint);
        Oracle.Run(Oracle.Require("ntfs-3g", "ntfs-3g"), ["-o", (readOnly ? "ro," : "") + "streams_interface=" + streams, volume, mountPoint]);
        try
        {
            return action(mountPoint);
        }
        finally
        {
            FuseMount.Unmount(mountPoint);
            Directory.Delete(mountPoint);
        }
    }

    public static void WithMount(string volume, string scratch, Action<string> action) =>
        WithMount(volume, scratch, readOnly: false, "windows", m =>
        {
            action(m);
            return 0;
        });

    /// <summary>ntfscp: host file into the volume (the target's directory must exist).</summary>
    public static void NtfsCp(string volume, string hostFile, string target) =>
        Oracle.Run(Oracle.Require("ntfscp", "ntfs-3g"), ["-f", volume, hostFile, target]);

    /// <summary>First LCN of a file's unnamed data stream, from ntfsinfo's runlist.</summary>
    public static long FirstLcn(string volume, string path)
    {
        string output = Oracle.Run(Oracle.Require("ntfsinfo", "ntfs-3g"), ["-v", "-F", path, volume]).StdOut;
        int i = output.IndexOf("Runlist:", StringComparison.Ordinal);
        Assert.True(i >= 0, $"ntfsinfo shows no runlist for {path}: {output}");
        string line = output[i..].Split('\n')[1].Trim();
        string[] f = line.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("0x0", f[0]);
        return long.Parse(f[1].AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    public static void SparseCopy(string from, string to) => Oracle.Run("/bin/cp", ["--sparse=always", from, to]);

    /// <summary>A raw disk: MBR (sfdisk, one partition of MBR type <paramref name="type"/> at sector 2048) and the volume copied in at 1 MiB.</summary>
    public static void AssembleDisk(string volume, string raw, string type = "7")
    {
        using (FileStream f = File.Create(raw))
        {
            f.SetLength(DiskSize);
        }

        Oracle.Run(Oracle.Require("sfdisk", "fdisk"), ["-q", raw], stdin: $"label: dos\nstart=2048, type={type}\n");
        using FileStream src = File.OpenRead(volume);
        using FileStream dst = new(raw, FileMode.Open, FileAccess.ReadWrite);
        byte[] buffer = new byte[1 << 20];
        for (long off = 0; off < VolumeSize; off += buffer.Length)
        {
            src.ReadExactly(buffer, 0, (int)Math.Min(buffer.Length, VolumeSize - off));
            if (buffer.AsSpan().ContainsAnyExcept((byte)0))
            {
                dst.Position = PartitionStart + off;
                dst.Write(buffer, 0, (int)Math.Min(buffer.Length, VolumeSize - off));
            }
        }
    }

    /// <summary>Imports a raw disk into a new dynamic VHDX (only the non-zero 4 KiB sectors are written).</summary>
    public static void Import(string raw, string vhdx)
    {
        VhdxDisk.Create(vhdx, new VhdxCreateOptions { VirtualSize = DiskSize });
        using VhdxDisk disk = VhdxDisk.Open(vhdx, new VhdxOpenOptions { Writable = true });
        using FileStream src = File.OpenRead(raw);
        byte[] buffer = new byte[Sector];
        for (long off = 0; off < DiskSize; off += Sector)
        {
            src.ReadExactly(buffer);
            if (buffer.AsSpan().ContainsAnyExcept((byte)0))
            {
                disk.Write(buffer, off);
            }
        }

        disk.Flush();
    }

    /// <summary>
    /// Writes into <paramref name="vhdx"/> (at the partition) only the 4 KiB sectors in which <paramref name="after"/>
    /// differs from <paramref name="before"/>: what the guest's writes put into its differencing disk. Returns the count.
    /// </summary>
    public static int WriteDivergence(string vhdx, string before, string after)
    {
        using VhdxDisk disk = VhdxDisk.Open(vhdx, new VhdxOpenOptions { Writable = true });
        using FileStream a = File.OpenRead(before);
        using FileStream b = File.OpenRead(after);
        byte[] x = new byte[1 << 20];
        byte[] y = new byte[1 << 20];
        int written = 0;
        for (long off = 0; off < VolumeSize; off += x.Length)
        {
            int n = (int)Math.Min(x.Length, VolumeSize - off);
            a.ReadExactly(x, 0, n);
            b.ReadExactly(y, 0, n);
            for (int s = 0; s < n; s += Sector)
            {
                if (!x.AsSpan(s, Sector).SequenceEqual(y.AsSpan(s, Sector)))
                {
                    disk.Write(y.AsSpan(s, Sector), PartitionStart + off + s);
                    written++;
                }
            }
        }

        disk.Flush();
        return written;
    }

    /// <summary>Writes raw bytes into the disk (outside any file system, or under one behind its back).</summary>
    public static void WriteRaw(string vhdx, long offset, ReadOnlySpan<byte> data)
    {
        using VhdxDisk disk = VhdxDisk.Open(vhdx, new VhdxOpenOptions { Writable = true });
        disk.Write(data, offset);
        disk.Flush();
    }

    /// <summary>Flattens the chain into a raw disk, finds the partition with sfdisk, and extracts it into a volume file.</summary>
    public static string ExtractVolume(string vhdx, string scratch)
    {
        string raw = Path.Combine(scratch, "flat-" + Guid.NewGuid().ToString("N")[..8] + ".raw");
        using (VhdxDisk disk = VhdxDisk.Open(vhdx))
        using (FileStream dst = File.Create(raw))
        {
            dst.SetLength(disk.VirtualSize);
            byte[] buffer = new byte[1 << 20];
            for (long off = 0; off < disk.VirtualSize; off += buffer.Length)
            {
                int n = (int)Math.Min(buffer.Length, disk.VirtualSize - off);
                disk.ReadExactly(buffer.AsSpan(0, n), off);
                if (buffer.AsSpan(0, n).ContainsAnyExcept((byte)0))
                {
                    dst.Position = off;
                    dst.Write(buffer, 0, n);
                }
            }
        }

        using JsonDocument table = JsonDocument.Parse(Oracle.Run(Oracle.Require("sfdisk", "fdisk"), ["-J", raw]).StdOut);
        JsonElement part = table.RootElement.GetProperty("partitiontable").GetProperty("partitions")[0];
        long start = part.GetProperty("start").GetInt64() * 512;
        long size = part.GetProperty("size").GetInt64() * 512;
        string volume = Path.ChangeExtension(raw, ".vol");
        using (FileStream src = File.OpenRead(raw))
        using (FileStream dst = File.Create(volume))
        {
            dst.SetLength(size);
            src.Position = start;
            byte[] buffer = new byte[1 << 20];
            for (long off = 0; off < size; off += buffer.Length)
            {
                int n = (int)Math.Min(buffer.Length, size - off);
                src.ReadExactly(buffer, 0, n);
                if (buffer.AsSpan(0, n).ContainsAnyExcept((byte)0))
                {
                    dst.Position = off;
                    dst.Write(buffer, 0, n);
                }
            }
        }

        File.Delete(raw);
        return volume;
    }

    /// <summary>
    /// clamscan over every file and every alternate data stream (of files and directories) of the volume (ntfs-3g read-only mounts: the xattr
    /// interface lists the streams, the windows interface opens "file:stream"), mapped back to volume paths.
    /// </summary>
    public static HashSet<Hit> Clamscan(string volume, string scratch, IReadOnlyList<string> databases, bool allMatch = true)
    {
        const string ListStreams = """
import os, sys
m = sys.argv[1]
for root, dirs, files in os.walk(m):
    for f in dirs + files:
        p = os.path.join(root, f)
        for x in os.listxattr(p):
            if x.startswith('user.'):
                sys.stdout.write(os.path.relpath(p, m) + '\0' + x[5:] + '\0')
""";
        string[] ads = WithMount(volume, scratch, readOnly: true, "xattr",
            m => Oracle.Run(Oracle.Require("python3", "python3"), ["-c", ListStreams, m]).StdOut.Split('\0'));
        return WithMount(volume, scratch, readOnly: true, "windows", m =>
        {
            var targets = new Dictionary<string, (string Path, string? Stream)>(StringComparer.Ordinal);
            foreach (string file in Directory.EnumerateFiles(m, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
            {
                targets[file] = ("/" + Path.GetRelativePath(m, file), null);
            }

            for (int i = 0; i + 1 < ads.Length; i += 2)
            {
                targets[Path.Combine(m, ads[i]) + ":" + ads[i + 1]] = ("/" + ads[i], ads[i + 1]);
            }

            var hits = new HashSet<Hit>();
            foreach ((string file, SortedSet<string> sigs) in ClamscanOracle.Scan(databases, targets.Keys.ToList(), allMatch))
            {
                foreach (string sig in sigs)
                {
                    hits.Add(new Hit(targets[file].Path, targets[file].Stream, sig));
                }
            }

            return hits;
        });
    }

    public static HashSet<Hit> Hits(DiskReport report) => report.Findings.Select(f => new Hit(f.Path, f.Stream, f.Signature)).ToHashSet();

    /// <summary>Asserts set equality with a readable difference.</summary>
    public static void AssertSame(IEnumerable<Hit> expected, IEnumerable<Hit> actual, string what)
    {
        var e = expected.ToHashSet();
        var a = actual.ToHashSet();
        var missing = e.Except(a).Select(h => h.ToString()).Order(StringComparer.Ordinal).ToList();
        var extra = a.Except(e).Select(h => h.ToString()).Order(StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"{what}: missing [{string.Join(", ", missing)}] extra [{string.Join(", ", extra)}] (expected {e.Count})");
    }
}
