using System.Globalization;
using System.Security.Cryptography;
using Prism.Disks.IO;
using Prism.Disks.Tests.Partitions;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.Ntfs;

/// <summary>
/// NTFS volumes inside GPT- and MBR-partitioned disks (512- and 4096-byte sectors, NTFS in primary, GPT and MBR
/// logical partitions), each disk stored as a 2-level VHDX differencing chain base → child1 → child2. Every volume
/// lives through three states: mkntfs + ntfscp (state 0), then filled through an ntfs-3g mount with the rich content
/// (state 1) (the complex volume: filled and fragmented first, then ntfscp), then edited (overwrites, appends, deletes, renames, new streams and files, one more ntfscp;
/// state 2). The base holds the raw disk in state 0; child1 only the sectors that changed from state 0 to 1; child2
/// only those that changed from 1 to 2. Reading the final state therefore needs all three layers.
/// Layouts are made by sfdisk (512) and fdisk -b 4096 (util-linux), volumes by the same builders as the other tests.
/// Built once per test class; no disks when the oracles are missing (each test then skips or, under
/// PRISM_REQUIRE_ORACLES=1, fails).
/// </summary>
public sealed class PartitionedChainFixture : IDisposable
{
    /// <summary>The disk names, one per layout.</summary>
    public static readonly string[] DiskNames = ["gpt512", "mbr512", "gpt4096", "mbr4096"];

    private const string BasicDataGuid = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7";
    private const string LinuxDataGuid = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
    private const long MiB = 1024 * 1024;

    // State 1 → 2: each existing file gets at most one edit, two subtrees go, 1,000 files and some streams appear.
    private const string EditScript = """
import os, sys, random, shutil
m = sys.argv[1]
rnd = random.Random(777)
for d in ('/dir2', '/level00/level01/level02/level03/level04/level05/level06/level07/level08/level09/level10'):
    if os.path.isdir(m + d):
        shutil.rmtree(m + d)
files = []
for root, dirs, names in os.walk(m):
    dirs.sort()
    files.extend(os.path.join(root, n) for n in sorted(names))
for i, p in enumerate(files):
    size = os.path.getsize(p)
    if i % 7 == 0 and size > 0:
        with open(p, 'r+b') as f:
            f.seek(size // 2); f.write(rnd.randbytes(min(size - size // 2, 20000)))
    elif i % 13 == 0:
        with open(p, 'ab') as f: f.write(rnd.randbytes(i % 5000 + 1))
    elif i % 17 == 0:
        os.rename(p, p + '.renamed')
    elif i % 19 == 0:
        with open(p + ':late', 'wb') as f: f.write(rnd.randbytes(i % 3000 + 1))
    elif i % 31 == 5:
        os.remove(p)
for i in range(1000):
    p = m + '/late/%02d/new-%04d.bin' % (i % 8, i)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    try:
        with open(p, 'wb') as f: f.write(rnd.randbytes(i * 7 % 5000))
    except OSError:
        break
""";

    private readonly TempDir _dir = new();
    private readonly Dictionary<string, ChainDisk> _disks = new(StringComparer.Ordinal);

    public PartitionedChainFixture()
    {
        if (Oracle.Find("mkntfs") is null || Oracle.Find("ntfs-3g") is null || Oracle.Find("python3") is null
            || Oracle.Find("sfdisk") is null || Oracle.Find("fdisk") is null || Oracle.Find("partx") is null || !File.Exists("/dev/fuse"))
        {
            return;
        }

        VolumeHistory complex = BuildHistory("complex", 12 * MiB, 512, 512, ComplexVolumeFixture.Script, minFiles: 100, fillFirst: true);
        VolumeHistory rich = BuildHistory("rich", 96 * MiB, 4096, 512, RichVolumeFixture.Script, minFiles: 10_000);
        VolumeHistory rich64k = BuildHistory("rich64k", 192 * MiB, 65536, 4096, RichVolumeFixture.Script, minFiles: 10_000);

        // GPT (sfdisk): the complex volume in partition 1, the rich one in 2, a Linux partition after them.
        Add(BuildDisk("gpt512", 512, 116 * MiB, "sfdisk", $"""
            label: gpt
            first-lba: 2048
            start=2048, size={Sectors(complex, 512)}, type={BasicDataGuid}, name="complex"
            size={Sectors(rich, 512)}, type={BasicDataGuid}, name="rich"
            size=8192, type={LinuxDataGuid}, name="linux"

            """, (1, complex), (2, rich)));

        // MBR (sfdisk): a Linux primary, then an extended partition whose logical partitions 5 and 6 hold the volumes.
        Add(BuildDisk("mbr512", 512, 120 * MiB, "sfdisk", $"""
            label: dos
            start=2048, size=8192, type=83
            start=10240, type=5
            size={Sectors(complex, 512)}, type=7
            size={Sectors(rich, 512)}, type=7

            """, (5, complex), (6, rich)));

        // GPT on 4096-byte sectors (fdisk -b 4096): a Linux partition, then the volume in partition 2.
        Add(BuildDisk("gpt4096", 4096, 208 * MiB, "fdisk", $"g\nn\n1\n256\n2303\nn\n2\n2304\n{2304 + Sectors(rich64k, 4096) - 1}\nt\n2\n{BasicDataGuid}\nw\n",
            (2, rich64k)));

        // MBR on 4096-byte sectors: primary 1, extended 2 with logical 5 (Linux) and logical 6 (the volume).
        Add(BuildDisk("mbr4096", 4096, 216 * MiB, "fdisk",
            $"o\nn\np\n1\n256\n2303\nn\ne\n2\n2304\n{3840 + Sectors(rich64k, 4096) + 100}\nn\nl\n2560\n3583\nn\nl\n3840\n{3840 + Sectors(rich64k, 4096) - 1}\nt\n6\n7\nw\n",
            (6, rich64k)));
    }

    /// <summary>The disk; skips (or fails under PRISM_REQUIRE_ORACLES=1) when the tools to build it are missing.</summary>
    public ChainDisk RequireDisk(string name)
    {
        Oracle.Require("mkntfs", "ntfs-3g");
        Oracle.Require("ntfs-3g", "ntfs-3g");
        Oracle.Require("python3", "python3");
        Oracle.Require("sfdisk", "fdisk");
        Oracle.Require("fdisk", "fdisk");
        Oracle.Require("partx", "util-linux");
        if (_disks.Count == 0 && Oracle.Required)
        {
            throw new InvalidOperationException("/dev/fuse missing and PRISM_REQUIRE_ORACLES=1");
        }

        Skip.If(_disks.Count == 0, "FUSE (/dev/fuse) unavailable");
        return _disks[name];
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>SHA-256 of a disk's bytes, read in 1 MiB pieces.</summary>
    internal static byte[] Hash(IDiskSource disk)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[MiB];
        for (long offset = 0; offset < disk.Length; offset += buffer.Length)
        {
            int n = (int)Math.Min(buffer.Length, disk.Length - offset);
            disk.ReadExactly(buffer.AsSpan(0, n), offset);
            hash.AppendData(buffer, 0, n);
        }

        return hash.GetHashAndReset();
    }

    private static long Sectors(VolumeHistory volume, int sectorSize) => volume.Size / sectorSize;

    private void Add(ChainDisk disk) => _disks.Add(disk.Name, disk);

    // Rich: state 0 = mkntfs + ntfscp of assorted files, state 1 = + the fill script. Complex: its fill script needs the
    // fresh volume (it fills it to the last cluster), so state 0 = mkntfs + fill script, state 1 = + ntfscp of small files
    // (into 1536-byte holes: ntfscp 2022.10.3 fails with ENOSPC on a 70 KB file there although 3 MB are free).
    private VolumeHistory BuildHistory(string name, long size, int clusterSize, int sectorSize, string fillScript, int minFiles,
        bool fillFirst = false)
    {
        string folder = Path.Combine(_dir.Path, name);
        Directory.CreateDirectory(folder);
        var dir = new TempDir();
        try
        {
            string state0 = Path.Combine(folder, "state0.img");
            string state1 = Path.Combine(folder, "state1.img");
            if (fillFirst)
            {
                File.Move(NtfsImages.Create(dir, "fresh.img", size, clusterSize, sectorSize), state0);
                RunThroughMount(dir, state0, fillScript);
                File.Copy(state0, state1);
                var rnd = new Random(clusterSize);
                foreach (int length in (int[])[0, 1, 600, 4095, 20_000])
                {
                    string file = dir.File($"copied-{length}.bin");
                    byte[] data = new byte[length];
                    rnd.NextBytes(data);
                    File.WriteAllBytes(file, data);
                    NtfsImages.Copy(state1, file, Path.GetFileName(file));
                }
            }
            else
            {
                File.Move(ClusterSizeTests.BuildVolume(dir, size, clusterSize, sectorSize, out _), state0);
                File.Copy(state0, state1);
                RunThroughMount(dir, state1, fillScript);
            }

            string state2 = Path.Combine(folder, "state2.img");
            File.Copy(state1, state2);
            RunThroughMount(dir, state2, EditScript);
            string host = dir.File("late-ntfscp.bin");
            File.WriteAllBytes(host, RandomNumberGenerator.GetBytes(200_001));
            NtfsImages.Copy(state2, host, "late-ntfscp.bin");
            return new VolumeHistory(name, size, clusterSize, sectorSize, [state0, state1, state2], minFiles);
        }
        finally
        {
            dir.Dispose();
        }
    }

    private static void RunThroughMount(TempDir dir, string image, string script)
    {
        using NtfsImages.Mount mount = NtfsImages.MountImage(dir, image, readOnly: false);
        NtfsImages.RunPython(script, mount.Path);
    }

    private ChainDisk BuildDisk(string name, int sectorSize, long diskSize, string tool, string script,
        params (int Number, VolumeHistory Volume)[] volumes)
    {
        string folder = Path.Combine(_dir.Path, name);
        Directory.CreateDirectory(folder);
        string layout = Path.Combine(folder, "layout.img");
        using (FileStream f = File.Create(layout))
        {
            f.SetLength(diskSize);
        }

        string exe = Oracle.Require(tool, "fdisk");
        IEnumerable<string> args = tool == "fdisk" ? ["-b", sectorSize.ToString(CultureInfo.InvariantCulture), layout] : ["-q", layout];
        Oracle.Run(exe, args, stdin: script);
        List<PartitionTableTests.PartxRow> rows = PartitionTableTests.Partx(layout, sectorSize);

        // The raw disk in each state: the layout with every volume copied in at the offset partx reports.
        string[] raws = new string[3];
        for (int state = 0; state < raws.Length; state++)
        {
            raws[state] = Path.Combine(folder, $"state{state}.raw");
            File.Copy(layout, raws[state]);
            using FileStream f = RawFile.OpenForPatch(raws[state]);
            foreach ((int number, VolumeHistory volume) in volumes)
            {
                PartitionTableTests.PartxRow row = rows.Single(r => r.Number == number);
                if (row.Sectors * 512 != volume.Size)
                {
                    throw new InvalidOperationException($"{name}: partition {number} has {row.Sectors * 512} bytes, the volume {volume.Size}");
                }

                f.Position = row.Start * 512;
                f.Write(File.ReadAllBytes(volume.States[state]));
            }
        }

        string basePath = Path.Combine(folder, "base.vhdx");
        string child1 = Path.Combine(folder, "child1.vhdx");
        string child2 = Path.Combine(folder, "child2.vhdx");
        VhdxDisk.Create(basePath, new VhdxCreateOptions { VirtualSize = diskSize, LogicalSectorSize = sectorSize });
        long[] written = new long[3];
        written[0] = WriteChangedSectors(basePath, null, raws[0]);
        VhdxDisk.CreateDifferencing(child1, basePath);
        written[1] = WriteChangedSectors(child1, raws[0], raws[1]);
        VhdxDisk.CreateDifferencing(child2, child1);
        written[2] = WriteChangedSectors(child2, raws[1], raws[2]);

        byte[][] hashes = [.. raws.Select(r => SHA256.HashData(File.ReadAllBytes(r)))];

        // The oracles read the final partitions, cut out of the final raw disk at partx's offsets.
        var images = new Dictionary<int, string>();
        byte[] final = File.ReadAllBytes(raws[2]);
        foreach ((int number, _) in volumes)
        {
            PartitionTableTests.PartxRow row = rows.Single(r => r.Number == number);
            images[number] = Path.Combine(folder, $"partition{number}.img");
            File.WriteAllBytes(images[number], final.AsSpan((int)(row.Start * 512), (int)(row.Sectors * 512)).ToArray());
        }

        File.Delete(raws[0]);
        File.Delete(raws[1]);
        return new ChainDisk(name, sectorSize, basePath, child1, child2, raws[2], hashes, written,
            volumes.ToDictionary(v => v.Number, v => v.Volume), images);
    }

    // Writes into the VHDX, at `diskOffset` on its virtual disk, every logical sector of `current` that differs from
    // `previous` (from zeros when null); returns the bytes written.
    internal static long WriteChangedSectors(string vhdx, string? previous, string current, long diskOffset = 0)
    {
        using VhdxDisk disk = VhdxDisk.Open(vhdx, new VhdxOpenOptions { Writable = true });
        int sector = disk.LogicalSectorSize;
        byte[] before = new byte[MiB];
        byte[] after = new byte[MiB];
        using FileStream now = File.OpenRead(current);
        using FileStream? then = previous is null ? null : File.OpenRead(previous);
        long written = 0;
        for (long offset = 0; offset < now.Length; offset += MiB)
        {
            int n = (int)Math.Min(MiB, now.Length - offset);
            now.ReadExactly(after, 0, n);
            if (then is null)
            {
                Array.Clear(before);
            }
            else
            {
                then.ReadExactly(before, 0, n);
            }

            int runStart = -1;
            for (int at = 0; at <= n; at += sector)
            {
                bool differs = at < n && !before.AsSpan(at, sector).SequenceEqual(after.AsSpan(at, sector));
                if (differs && runStart < 0)
                {
                    runStart = at;
                }
                else if (!differs && runStart >= 0)
                {
                    disk.Write(after.AsSpan(runStart, at - runStart), diskOffset + offset + runStart);
                    written += at - runStart;
                    runStart = -1;
                }
            }
        }

        disk.Flush();
        return written;
    }

    /// <summary>One NTFS volume in its three successive states (raw volume images).</summary>
    public sealed record VolumeHistory(string Name, long Size, int ClusterSize, int SectorSize, IReadOnlyList<string> States, int MinFiles);

    /// <summary>A partitioned disk as a VHDX chain, with what it must read as.</summary>
    /// <param name="Name">Layout name (gpt512, mbr512, gpt4096, mbr4096).</param>
    /// <param name="SectorSize">Logical sector size of the disk and of its VHDX files.</param>
    /// <param name="BasePath">The base VHDX (state 0).</param>
    /// <param name="Child1Path">Differencing child of the base (state 1 through it).</param>
    /// <param name="Child2Path">Differencing child of child1 (state 2 through the whole chain).</param>
    /// <param name="FinalRaw">The raw disk in state 2.</param>
    /// <param name="StateHashes">SHA-256 of the raw disk in states 0, 1 and 2.</param>
    /// <param name="BytesWritten">Bytes written into the base, child1 and child2.</param>
    /// <param name="NtfsPartitions">Partition number → the volume it holds.</param>
    /// <param name="PartitionImages">Partition number → its final bytes cut out of <paramref name="FinalRaw"/> (for the oracles).</param>
    public sealed record ChainDisk(string Name, int SectorSize, string BasePath, string Child1Path, string Child2Path, string FinalRaw,
        IReadOnlyList<byte[]> StateHashes, IReadOnlyList<long> BytesWritten, IReadOnlyDictionary<int, VolumeHistory> NtfsPartitions,
        IReadOnlyDictionary<int, string> PartitionImages);
}
