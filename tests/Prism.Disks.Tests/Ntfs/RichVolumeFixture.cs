using Prism.Testing;

namespace Prism.Disks.Tests.Ntfs;

/// <summary>
/// One 96 MiB volume (4 KiB clusters) filled through an ntfs-3g mount: deep trees, Unicode and 255-char names,
/// hard links, alternate data streams, sparse and LZNT1-compressed files, 10,000 small files.
/// Built once per test class; null Image when the oracles are missing (each test then skips).
/// </summary>
public sealed class RichVolumeFixture : IDisposable
{
    internal const string Script = """
import os, sys, random
m = sys.argv[1]
rnd = random.Random(1234)
def w(p, data):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, 'wb') as f: f.write(data)
w(m + '/empty.txt', b'')
w(m + '/tiny.txt', b'hello ntfs\n')
w(m + '/random-8m.bin', rnd.randbytes(8 * 1024 * 1024 + 123))
deep = m
for i in range(20):
    deep += '/level%02d' % i
w(deep + '/bottom.txt', b'deep file\n' * 100)
w(m + '/unicode/ünïcödé-файл-文件-🙂.txt', 'Grüße, мир, 世界'.encode('utf-8') * 50)
w(m + '/unicode/' + ('L' * 251) + '.txt', b'long name')
w(m + '/unicode/MixedCase.TXT', b'mixed')
os.makedirs(m + '/links/a'); os.makedirs(m + '/links/b')
w(m + '/links/a/original.txt', b'linked content ' * 500)
os.link(m + '/links/a/original.txt', m + '/links/b/second-name.txt')
os.link(m + '/links/a/original.txt', m + '/links/third.txt')
w(m + '/ads/host.txt', b'main stream')
with open(m + '/ads/host.txt:small', 'wb') as f: f.write(b'alternate 1')
with open(m + '/ads/host.txt:big', 'wb') as f: f.write(rnd.randbytes(300000))
with open(m + '/ads/sparse.bin', 'wb') as f:
    f.seek(3 * 1024 * 1024); f.write(b'middle'); f.seek(9 * 1024 * 1024); f.write(b'end')
os.makedirs(m + '/compressed')
v = int.from_bytes(os.getxattr(m + '/compressed', 'system.ntfs_attrib_be'), 'big')
os.setxattr(m + '/compressed', 'system.ntfs_attrib_be', (v | 0x800).to_bytes(4, 'big'))
w(m + '/compressed/text.txt', b''.join(b'line %d of a very compressible file\n' % i for i in range(60000)))
w(m + '/compressed/random.bin', rnd.randbytes(200000))
with open(m + '/compressed/mixed.bin', 'wb') as f:
    for i in range(40):
        f.write(rnd.randbytes(5000) if i % 3 == 0 else bytes([i]) * 20000)
with open(m + '/compressed/holes.bin', 'wb') as f:
    f.write(b'a' * 70000); f.seek(1024 * 1024); f.write(b'z' * 10000)
for i in range(10000):
    w(m + '/many/d%02d/file_%05d.dat' % (i % 16, i), (b'%d;' % i) * (i % 600))
""";

    private readonly TempDir _dir = new();

    public RichVolumeFixture()
    {
        if (Oracle.Find("mkntfs") is null || Oracle.Find("ntfs-3g") is null || Oracle.Find("python3") is null || !File.Exists("/dev/fuse"))
        {
            return;
        }

        string image = NtfsImages.Create(_dir, "rich.img", 96L * 1024 * 1024, 4096);
        using (NtfsImages.Mount mount = NtfsImages.MountImage(_dir, image, readOnly: false))
        {
            NtfsImages.RunPython(Script, mount.Path);
        }

        Image = image;
        MountPoint = NtfsImages.MountImage(_dir, image, readOnly: true);
        Listing = NtfsImages.FindListing(MountPoint.Path);
    }

    /// <summary>The raw image, or null when the oracles are missing.</summary>
    public string? Image { get; }

    /// <summary>A read-only ntfs-3g mount of <see cref="Image"/> (Windows stream interface).</summary>
    public NtfsImages.Mount? MountPoint { get; }

    /// <summary>find(1) over the mount.</summary>
    public Dictionary<string, (long Record, long Size, bool IsDirectory)>? Listing { get; }

    /// <summary>The image path; skips (or fails under PRISM_REQUIRE_ORACLES=1) when it could not be built.</summary>
    public string RequireImage()
    {
        Oracle.Require("mkntfs", "ntfs-3g");
        Oracle.Require("ntfs-3g", "ntfs-3g");
        Oracle.Require("python3", "python3");
        Skip.If(Image is null, "FUSE unavailable");
        return Image!;
    }

    public void Dispose()
    {
        MountPoint?.Dispose();
        _dir.Dispose();
    }
}
