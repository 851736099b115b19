using Prism.Testing;

namespace Prism.Disks.Tests.Ntfs;

/// <summary>
/// A small (12 MiB, 512-byte clusters) but structurally rich volume built through ntfs-3g: the volume is filled,
/// every other file deleted and a large file written into the holes (hundreds of runs, so an $ATTRIBUTE_LIST with
/// extension records), $MFT itself fragmented, the fillers then deleted (not-in-use records), plus directories
/// with multi-block $I30 indexes, a compressed file, ADS and a sparse file.
/// </summary>
public sealed class ComplexVolumeFixture : IDisposable
{
    internal const string Script = """
import os, sys, random
m = sys.argv[1]
rnd = random.Random(99)
os.makedirs(m + '/fill')
i = 0
try:
    while True:
        with open(m + '/fill/%05d' % i, 'wb') as f: f.write(rnd.randbytes(1536))
        i += 1
except OSError:
    pass
for j in range(0, i, 2): os.remove(m + '/fill/%05d' % j)
try:
    with open(m + '/fragmented.bin', 'wb') as f:
        for k in range(i // 2):
            f.write(rnd.randbytes(1536))
            f.flush()
except OSError:
    pass
for j in range(1, i, 2): os.remove(m + '/fill/%05d' % j)
os.rmdir(m + '/fill')
for d in range(3):
    for k in range(70):
        p = m + '/dir%d/entry-%03d-%s.txt' % (d, k, 'x' * (k % 40))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'wb') as f: f.write(rnd.randbytes(k * 37))
os.makedirs(m + '/c')
v = int.from_bytes(os.getxattr(m + '/c', 'system.ntfs_attrib_be'), 'big')
os.setxattr(m + '/c', 'system.ntfs_attrib_be', (v | 0x800).to_bytes(4, 'big'))
with open(m + '/c/packed.txt', 'wb') as f: f.write(b'compress me please ' * 9000)
with open(m + '/dir0/ads.txt', 'wb') as f: f.write(b'main')
with open(m + '/dir0/ads.txt:side', 'wb') as f: f.write(rnd.randbytes(3000))
with open(m + '/dir1/sparse.bin', 'wb') as f:
    f.seek(200000); f.write(b'tail')
""";

    private readonly TempDir _dir = new();

    public ComplexVolumeFixture()
    {
        if (Oracle.Find("mkntfs") is null || Oracle.Find("ntfs-3g") is null || Oracle.Find("python3") is null || !File.Exists("/dev/fuse"))
        {
            return;
        }

        string image = NtfsImages.Create(_dir, "complex.img", 12L * 1024 * 1024, 512);
        using (NtfsImages.Mount mount = NtfsImages.MountImage(_dir, image, readOnly: false))
        {
            NtfsImages.RunPython(Script, mount.Path);
        }

        Image = image;
        Bytes = File.ReadAllBytes(image);
    }

    /// <summary>The raw image, or null when it could not be built.</summary>
    public string? Image { get; }

    /// <summary>The image's bytes.</summary>
    public byte[]? Bytes { get; }

    /// <summary>The image path; skips (or fails under PRISM_REQUIRE_ORACLES=1) when it could not be built.</summary>
    public string RequireImage()
    {
        Oracle.Require("mkntfs", "ntfs-3g");
        Oracle.Require("ntfs-3g", "ntfs-3g");
        Oracle.Require("python3", "python3");
        Skip.If(Image is null, "FUSE unavailable");
        return Image!;
    }

    public void Dispose() => _dir.Dispose();
}
