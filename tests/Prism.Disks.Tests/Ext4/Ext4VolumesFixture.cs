using System.Collections.Concurrent;
using Prism.Testing;

namespace Prism.Disks.Tests.Ext4;

/// <summary>
/// One source tree (sizes around the inline and block limits, a 40-level path, long and UTF-8 names, hard links, fast
/// and slow symlinks, sparse and 5 GiB sparse files, 300 files in one directory, FIFO, devices, socket) built by mke2fs -d
/// into each variant, with each image's fuse2fs manifest and fls listing made once and shared.
/// </summary>
public sealed class Ext4VolumesFixture : IDisposable
{
    /// <summary>Variant name → mke2fs options and size.</summary>
    public static readonly IReadOnlyDictionary<string, (int SizeMiB, string[] Options)> Variants = new Dictionary<string, (int, string[])>
    {
        ["ext2-1k"] = (64, ["-t", "ext2", "-b", "1024", "-I", "128"]),
        ["ext3-4k"] = (96, ["-t", "ext3", "-b", "4096"]),
        ["ext4-4k"] = (96, ["-t", "ext4", "-b", "4096"]),
        ["ext4-1k-32bit-nocsum"] = (96, ["-t", "ext4", "-b", "1024", "-O", "^64bit,^metadata_csum,uninit_bg"]),
        ["ext4-inline-metabg"] = (96, ["-t", "ext4", "-b", "4096", "-I", "256", "-O", "inline_data,meta_bg,^resize_inode"]),
        ["ext4-1k-csum-64bit"] = (64, ["-t", "ext4", "-b", "1024", "-O", "64bit,metadata_csum,^flex_bg"]),
    };

    private readonly TempDir _dir = new();
    private readonly ConcurrentDictionary<string, Lazy<Built>> _built = new();
    private readonly Lazy<string?> _tree;

    public Ext4VolumesFixture()
    {
        _tree = new Lazy<string?>(() =>
        {
            string src = _dir.File("tree");
            System.IO.Directory.CreateDirectory(src);
            Ext4Images.BuildTree(src);
            return src;
        });
    }

    /// <summary>The scratch directory (for per-test copies).</summary>
    public string Directory => _dir.Path;

    /// <summary>The source tree (built on first use).</summary>
    public string Tree => _tree.Value!;

    /// <summary>The image of <paramref name="variant"/> with its oracle outputs; skips when the oracles are missing.</summary>
    public Built Get(string variant)
    {
        Oracle.Require("mke2fs", "e2fsprogs");
        Oracle.Require("python3", "python3");
        return _built.GetOrAdd(variant, v => new Lazy<Built>(() => Build(v))).Value;
    }

    private Built Build(string variant)
    {
        (int size, string[] options) = Variants[variant];
        string image = Ext4Images.Make(_dir.File(variant + ".img"), Tree, size, options);
        if (variant != "ext2-1k")
        {
            // mke2fs -d writes linear directories; e2fsck -D rebuilds the multi-block ones as htrees (ext2-1k stays linear).
            Ext4Images.Fsck(image, "-fyD");
        }

        string[] fuse = Ext4Images.FuseManifest(image, _dir.File(variant + ".mnt"));
        var fls = Ext4Images.Fls(image);
        return new Built(image, fuse, fls, new FileInfo(image).Length);
    }

    /// <inheritdoc />
    public void Dispose() => _dir.Dispose();

    /// <summary>An image and what the oracles say about it.</summary>
    public sealed record Built(string Image, string[] FuseManifest, Dictionary<string, (uint Inode, char Type)> Fls, long Length);
}
