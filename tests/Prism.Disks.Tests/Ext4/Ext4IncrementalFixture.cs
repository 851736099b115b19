using Prism.Disks.Ext4;
using Prism.Disks.Guest;
using Prism.Disks.IO;
using Prism.Disks.Tests.Ntfs;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.Ext4;

/// <summary>
/// A golden ext4 volume of more than 10,000 files laid out like a server install (10 top directories of 10 leaf
/// directories of 100 files, a 2,000-entry htree directory, hard links, symlinks, devices), made by mke2fs -d and stored
/// 1 MiB into a VHDX golden; and clones made as a guest makes them: a copy of the volume changed through a fuse2fs
/// read-write mount, its changed sectors written into a VHDX differencing child of the golden. Built once per test
/// class; nothing when the oracles are missing (each test then skips or, under PRISM_REQUIRE_ORACLES=1, fails).
/// </summary>
public sealed class Ext4IncrementalFixture : IDisposable
{
    public const long VolumeOffset = 1024 * 1024;
    public const long VolumeSize = 160 * 1024 * 1024;

    private const string TreeScript = """
import os, sys, random
root = sys.argv[1]
rnd = random.Random(5151)
def w(p, data):
    with open(p, 'wb') as f: f.write(data)
for t in range(10):
    for d in range(10):
        dd = '%s/usr%d/lib%02d' % (root, t, d)
        os.makedirs(dd)
        for f in range(100):
            p = '%s/f%03d.%s' % (dd, f, 'so' if f % 10 == 0 else 'txt')
            w(p, rnd.randbytes(rnd.randrange(3000, 60000) if f % 10 == 0 else rnd.randrange(0, 2500)))
            if f % 40 == 7:
                os.link(p, '%s/link%03d' % (dd, f))
            if f % 45 == 9:
                os.symlink('f%03d.txt' % f, '%s/sym%03d' % (dd, f))
os.makedirs(root + '/var/cache')
for i in range(2000):
    w('%s/var/cache/entry-%04d-%s' % (root, i, 'c' * (i % 30)), rnd.randbytes(i % 200))
os.makedirs(root + '/var/log')
w(root + '/var/log/syslog', rnd.randbytes(300000))
os.makedirs(root + '/etc')
w(root + '/etc/hostname', b'golden\n')
""";

    private readonly TempDir _dir = new();
    private int _clones;
    private string[]? _goldenManifest;

    public Ext4IncrementalFixture()
    {
        if (Oracle.Find("mke2fs") is null || Oracle.Find("fuse2fs") is null || Oracle.Find("python3") is null || !File.Exists("/dev/fuse"))
        {
            return;
        }

        string tree = Directory.CreateDirectory(_dir.File("tree")).FullName;
        Oracle.Run(Oracle.Find("python3")!, ["-c", TreeScript, tree]);
        string image = Ext4Images.Make(_dir.File("golden.img"), tree, (int)(VolumeSize >> 20), "-t", "ext4", "-b", "4096", "-N", "40000");
        GoldenImage = image;
        GoldenVhdx = _dir.File("golden.vhdx");
        IncrementalDisks.CreateGolden(GoldenVhdx, image, VolumeOffset, VolumeSize, partitionType: 0x83);
        using VhdxDisk golden = VhdxDisk.Open(GoldenVhdx);
        GoldenWalk = FullWalk(OpenVolume(golden), out List<string> errors);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("the golden's walk has errors: " + string.Join("\n", errors));
        }
    }

    /// <summary>The golden volume as a raw image.</summary>
    public string? GoldenImage { get; }

    /// <summary>The golden disk: the volume at <see cref="VolumeOffset"/>.</summary>
    public string? GoldenVhdx { get; }

    /// <summary>The golden's full walk.</summary>
    public GuestWalk? GoldenWalk { get; }

    public string Scratch => _dir.Path;

    /// <summary>Fails or skips as the other oracle tests do when the golden could not be built.</summary>
    public void Require()
    {
        Oracle.Require("mke2fs", "e2fsprogs");
        Oracle.Require("fuse2fs", "fuse2fs");
        Oracle.Require("python3", "python3");
        Oracle.RequireFuse();
        Skip.If(GoldenVhdx is null, "the ext4 golden could not be built");
    }

    /// <summary>The ext4 volume of a disk of this fixture, with ranges in disk coordinates.</summary>
    public static Ext4Volume OpenVolume(IDiskSource disk) => Ext4Volume.Open(disk, VolumeOffset, VolumeSize, "incremental");

    /// <summary>A full walk through <see cref="IGuestVolume.Visit"/>, as the fleet scan and prism diff build it.</summary>
    public static GuestWalk FullWalk(IGuestVolume volume, out List<string> errors)
    {
        var builder = new GuestWalk.Builder(volume);
        var found = new List<string>();
        volume.Visit((in GuestFileView f) => builder.Add(f, f.GetSectorMap()), "/", recursive: true, e => found.Add(e.ToString()));
        errors = found;
        return builder.Build();
    }

    /// <summary>Every field of every path of a walk, one line each, in walk order.</summary>
    public static List<string> Lines(GuestWalk walk) =>
        [.. walk.Files.Select(f => $"{f.Path} {f.Id}/{f.Generation} {f.Type} {f.Size} m[{string.Join(' ', f.Metadata)}] n{f.NameRange} "
            + string.Join("; ", f.Streams.Select(s => $"'{s.Name}' {s.Size} {s.IsResident} [{string.Join(' ', s.Content)}]")))];

    /// <summary>
    /// A clone of the golden: the volume copied, changed by <paramref name="script"/> (sys.argv[1] the mount point, then
    /// <paramref name="args"/>) through a fuse2fs mount, then <paramref name="after"/> on the image, and its changed
    /// sectors written into a new differencing child. Returns the child's path and the changed image.
    /// </summary>
    public (string Vhdx, string Image) MakeClone(string script, string[] args, Action<string>? after = null)
    {
        int n = Interlocked.Increment(ref _clones);
        string image = _dir.File($"clone{n}.img");
        Oracle.Run("cp", ["--sparse=always", GoldenImage!, image]);
        if (script.Length > 0)
        {
            WithMount(image, m => Oracle.Run(Oracle.Find("python3")!, ["-c", script, m, .. args]));
        }

        after?.Invoke(image);
        string vhdx = _dir.File($"clone{n}.vhdx");
        VhdxDisk.CreateDifferencing(vhdx, GoldenVhdx!);
        PartitionedChainFixture.WriteChangedSectors(vhdx, GoldenImage, image, VolumeOffset);
        return (vhdx, image);
    }

    /// <summary>The ranges a clone's own layer holds: its divergence from the golden.</summary>
    public static List<ByteRange> Divergence(string vhdx) => IncrementalDisks.Divergence(vhdx);

    public void Dispose() => _dir.Dispose();

    /// <summary>The fuse2fs manifest of the golden (made once).</summary>
    public string[] GoldenManifest() => _goldenManifest ??= Ext4Images.FuseManifest(GoldenImage!, _dir.File("mnt-golden"));

    // fuse2fs in the foreground as our child: after the unmount, its exit means every write reached the image.
    private void WithMount(string image, Action<string> action) =>
        FuseMount.WithFuse2fs(image, _dir.Path, readOnly: false, action);
}
