using Prism.Disks.IO;
using Prism.Disks.Ntfs;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.Ntfs;

/// <summary>
/// A golden NTFS volume of more than 10,000 files (resident and non-resident, named streams, hard links, 100 leaf
/// directories of about 100 entries, free MFT records left by deleted files as on a used volume), made by mkntfs and
/// filled through an ntfs-3g mount, stored 1 MiB into a VHDX golden as its MBR's partition 1 (so sector maps carry a disk
/// offset, and a fleet scan finds it); and clones made as a guest makes them: a copy of the volume changed through an
/// ntfs-3g mount, its changed sectors written into a VHDX differencing child of the golden. Built once per test class; nothing when the oracles are missing (each test then
/// skips or, under PRISM_REQUIRE_ORACLES=1, fails).
/// </summary>
public sealed class IncrementalWalkFixture : IDisposable
{
    public const long VolumeOffset = 1024 * 1024;
    public const long VolumeSize = 96 * 1024 * 1024;

    // The golden: 100 directories under 10 top directories, 102 files each, every 10th non-resident, streams and links.
    private const string FillScript = """
import os, sys, random
m = sys.argv[1]
rnd = random.Random(4242)
n = 0
for d in range(100):
    dd = '%s/t%02d/d%03d' % (m, d // 10, d)
    os.makedirs(dd, exist_ok=True)
    for f in range(102):
        p = '%s/f%04d.%s' % (dd, f, 'bin' if f % 10 == 0 else 'txt')
        size = rnd.randrange(3000, 40000) if f % 10 == 0 else rnd.randrange(0, 600)
        with open(p, 'wb') as h: h.write(rnd.randbytes(size))
        n += 1
        if f % 25 == 3:
            with open(p + ':meta', 'wb') as h: h.write(rnd.randbytes(rnd.randrange(10, 3000)))
        if f % 50 == 7:
            os.link(p, '%s/link%04d' % (dd, f))
os.makedirs(m + '/tmp', exist_ok=True)
for i in range(1500):
    with open('%s/tmp/x%04d' % (m, i), 'wb') as h: h.write(b'x')
for i in range(1500):
    os.remove('%s/tmp/x%04d' % (m, i))
print(n)
""";

    private readonly TempDir _dir = new();
    private int _clones;

    public IncrementalWalkFixture()
    {
        if (Oracle.Find("mkntfs") is null || Oracle.Find("ntfs-3g") is null || Oracle.Find("python3") is null || !File.Exists("/dev/fuse"))
        {
            return;
        }

        string image = NtfsImages.Create(_dir, "golden.img", VolumeSize, 4096);
        using (NtfsImages.Mount mount = NtfsImages.MountImage(_dir, image, readOnly: false))
        {
            NtfsImages.RunPython(FillScript, mount.Path);
        }

        GoldenImage = image;
        GoldenVhdx = _dir.File("golden.vhdx");
        IncrementalDisks.CreateGolden(GoldenVhdx, image, VolumeOffset, VolumeSize, partitionType: 0x07);
        using VhdxDisk golden = VhdxDisk.Open(GoldenVhdx);
        GoldenSnapshot = OpenVolume(golden).CaptureSnapshot();
    }

    /// <summary>The golden volume as a raw image (state before any clone's change).</summary>
    public string? GoldenImage { get; }

    /// <summary>The golden disk: the volume at <see cref="VolumeOffset"/>.</summary>
    public string? GoldenVhdx { get; }

    /// <summary>The golden's snapshot.</summary>
    public NtfsWalkSnapshot? GoldenSnapshot { get; }

    /// <summary>Fails or skips as the other oracle tests do when the golden could not be built.</summary>
    public void Require()
    {
        Oracle.Require("mkntfs", "ntfs-3g");
        Oracle.Require("ntfs-3g", "ntfs-3g");
        Oracle.Require("python3", "python3");
        if (GoldenVhdx is null && Oracle.Required)
        {
            throw new InvalidOperationException("/dev/fuse missing and PRISM_REQUIRE_ORACLES=1");
        }

        Skip.If(GoldenVhdx is null, "FUSE (/dev/fuse) unavailable");
    }

    /// <summary>The NTFS volume of a disk of this fixture (golden or clone), with sector maps in disk coordinates.</summary>
    public static NtfsVolume OpenVolume(IDiskSource disk) => NtfsVolume.Open(disk.Slice(VolumeOffset, VolumeSize), "incremental", VolumeOffset);

    /// <summary>
    /// A clone of <paramref name="parentVhdx"/> (whose volume is <paramref name="parentImage"/>): the volume copied, changed
    /// by <paramref name="script"/> (sys.argv[1] the mount point, then <paramref name="args"/>) through an ntfs-3g mount,
    /// and its changed sectors written into a new differencing child. Returns the child's path and the changed volume image.
    /// </summary>
    public (string Vhdx, string Image) MakeClone(string parentVhdx, string parentImage, string script, params string[] args)
    {
        int n = Interlocked.Increment(ref _clones);
        string image = _dir.File($"clone{n}.img");
        File.Copy(parentImage, image);
        if (script.Length > 0)
        {
            using NtfsImages.Mount mount = NtfsImages.MountImage(_dir, image, readOnly: false);
            NtfsImages.RunPython(script, [mount.Path, .. args]);
        }

        string vhdx = _dir.File($"clone{n}.vhdx");
        VhdxDisk.CreateDifferencing(vhdx, parentVhdx);
        PartitionedChainFixture.WriteChangedSectors(vhdx, parentImage, image, VolumeOffset);
        return (vhdx, image);
    }

    /// <summary>A clone with raw bytes patched into its volume (at volume offsets), no file system change.</summary>
    public (string Vhdx, string Image) MakePatchedClone(string parentVhdx, string parentImage, params (long VolumeOffset, byte[] Bytes)[] patches)
    {
        int n = Interlocked.Increment(ref _clones);
        string image = _dir.File($"clone{n}.img");
        File.Copy(parentImage, image);
        using (FileStream f = RawFile.OpenForPatch(image))
        {
            foreach ((long at, byte[] bytes) in patches)
            {
                f.Position = at;
                f.Write(bytes);
            }
        }

        string vhdx = _dir.File($"clone{n}.vhdx");
        VhdxDisk.CreateDifferencing(vhdx, parentVhdx);
        using (VhdxDisk child = VhdxDisk.Open(vhdx, new VhdxOpenOptions { Writable = true }))
        {
            // Written even when equal to the parent's bytes: divergence without change.
            foreach ((long at, byte[] bytes) in patches)
            {
                child.Write(bytes, VolumeOffset + at);
            }

            child.Flush();
        }

        return (vhdx, image);
    }

    /// <summary>The ranges a clone's own layer holds: its divergence from its parent.</summary>
    public static List<ByteRange> Divergence(string vhdx) => IncrementalDisks.Divergence(vhdx);

    public void Dispose() => _dir.Dispose();

    /// <summary>A file list line per name, the same fields from a snapshot and from a walk: path, record, sequence, parent, flags, sector map.</summary>
    public static string Line(NtfsSnapshotFile f) =>
        $"{f.Path} {f.RecordNumber}/{f.SequenceNumber} p{f.ParentRecordNumber} d{f.IsDirectory} r{f.IsReparsePoint} "
            + $"size {f.Size} mft [{string.Join(' ', f.MftRecords)}] "
            + string.Join("; ", f.Streams.Select(s => $"'{s.Name}' {s.Size} {s.IsResident} [{string.Join(' ', s.Ranges)}]"));

    /// <summary>The lines of a full walk (<see cref="NtfsVolume.Visit"/>), sorted by path; errors collected.</summary>
    public static List<string> VisitLines(NtfsVolume volume, List<NtfsEnumerationError>? errors = null)
    {
        var lines = new List<(string Path, string Line)>();
        volume.Visit((in NtfsFileView view) =>
        {
            NtfsSectorMap map = view.GetSectorMap();
            var streams = new List<string>();
            for (int i = 0; i < view.StreamCount; i++)
            {
                streams.Add($"'{view.StreamName(i)}' {view.StreamSize(i)} {view.IsStreamResident(i)} [{string.Join(' ', map.StreamRanges(i).ToArray())}]");
            }

            string path = view.Path.ToString();
            lines.Add((path,
                $"{path} {view.RecordNumber}/{view.SequenceNumber} p{view.ParentRecordNumber} d{view.IsDirectory} r{view.IsReparsePoint} "
                + $"size {view.Size} mft [{string.Join(' ', map.MftRecords.ToArray())}] " + string.Join("; ", streams)));
        }, onError: errors is null ? null : errors.Add);
        return [.. lines.OrderBy(l => l.Path, StringComparer.Ordinal).Select(l => l.Line)];
    }
}
