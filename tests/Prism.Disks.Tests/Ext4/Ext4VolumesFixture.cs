using System.Collections.Concurrent;
using Prism.Disks.Vhdx;
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
        ["ext2-4k"] = (96, ["-t", "ext2", "-b", "4096"]),
        ["ext3-1k"] = (64, ["-t", "ext3", "-b", "1024"]),
        ["ext3-4k"] = (96, ["-t", "ext3", "-b", "4096"]),
        ["ext4-4k"] = (96, ["-t", "ext4", "-b", "4096"]),
        ["ext4-1k-32bit-nocsum"] = (96, ["-t", "ext4", "-b", "1024", "-O", "^64bit,^metadata_csum,uninit_bg"]),
        ["ext4-inline-metabg"] = (96, ["-t", "ext4", "-b", "4096", "-I", "256", "-O", "inline_data,meta_bg,^resize_inode"]),
        ["ext4-1k-csum-64bit"] = (64, ["-t", "ext4", "-b", "1024", "-O", "64bit,metadata_csum,^flex_bg"]),
        ["ext4-4k-32bit-csum"] = (96, ["-t", "ext4", "-b", "4096", "-O", "^64bit,metadata_csum"]),
    };

    private readonly TempDir _dir = new();
    private readonly ConcurrentDictionary<string, Lazy<Built>> _built = new();
    private readonly ConcurrentDictionary<string, Lazy<Chained>> _chained = new();
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

    /// <summary>
    /// The image of <paramref name="variant"/> as a partition of a disk behind a 2-level VHDX chain (built once): GPT or MBR
    /// (<see cref="ChainLabel"/>) with an empty partition beside it. The base holds the partition table and an empty file
    /// system made with the same options (mke2fs without -d); child 1 the changed sectors of the even 64 KiB pieces of the
    /// volume, child 2 those of the odd ones, so the final volume reads right only through all three files.
    /// </summary>
    public Chained GetChained(string variant)
    {
        Built built = Get(variant);
        Oracle.Require("sfdisk", "fdisk");
        return _chained.GetOrAdd(variant, v => new Lazy<Chained>(() => BuildChain(v, built))).Value;
    }

    /// <summary>"gpt" or "dos": the variants alternate in <see cref="Variants"/> order.</summary>
    public static string ChainLabel(string variant) => Variants.Keys.ToList().IndexOf(variant) % 2 == 0 ? "gpt" : "dos";

    private Chained BuildChain(string variant, Built built)
    {
        (int size, string[] options) = Variants[variant];
        return BuildChain(_dir.File(variant + ".chain"), built.Image, size, options, ChainLabel(variant), variant);
    }

    /// <summary>
    /// Puts <paramref name="image"/> (made by mke2fs with <paramref name="options"/> on <paramref name="sizeMiB"/> MiB) into
    /// partition 1 of a GPT or partition 2 of an MBR disk behind a 2-level VHDX chain in <paramref name="folder"/>, as
    /// <see cref="GetChained"/> describes.
    /// </summary>
    internal static Chained BuildChain(string folder, string image, int sizeMiB, string[] options, string label, string variant)
    {
        const long MiB = 1024 * 1024;
        var built = new Built(image, [], [], new FileInfo(image).Length);
        System.IO.Directory.CreateDirectory(folder);
        string empty = System.IO.Path.Combine(folder, "empty-tree");
        System.IO.Directory.CreateDirectory(empty);
        string fresh = Ext4Images.Make(System.IO.Path.Combine(folder, "fresh.img"), empty, sizeMiB, options);

        // GPT: the volume in partition 1 at 1 MiB, an empty partition 2 after it. MBR: an empty partition 1, the volume in 2.
        long sectors = built.Length / 512;
        (int number, long start, string table) = label == "gpt"
            ? (1, 2048L, $"label: gpt\nstart=2048, size={sectors}, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\nstart={2048 + sectors}, size=2048\n")
            : (2, 6144L, $"label: dos\nstart=2048, size=4096, type=83\nstart=6144, size={sectors}, type=83\n");
        long diskSize = ((start + sectors + 4096) * 512) + MiB;
        string layout = System.IO.Path.Combine(folder, "layout.raw");
        using (FileStream f = File.Create(layout))
        {
            f.SetLength(diskSize);
        }

        Oracle.Run(Oracle.Require("sfdisk", "fdisk"), ["--quiet", layout], stdin: table);
        Oracle.Run("dd", [$"if={fresh}", $"of={layout}", "bs=512", $"seek={start}", "conv=notrunc,sparse", "status=none"]);

        // The halfway volume: the final one's even 64 KiB pieces, the fresh one's odd ones.
        const int Piece = 64 * 1024;
        string half = System.IO.Path.Combine(folder, "half.img");
        using (FileStream final = File.OpenRead(built.Image))
        using (FileStream before = File.OpenRead(fresh))
        using (FileStream output = File.Create(half))
        {
            byte[] buffer = new byte[Piece];
            for (long at = 0; at < final.Length; at += Piece)
            {
                FileStream from = (at / Piece) % 2 == 0 ? final : before;
                from.Position = at;
                int n = (int)Math.Min(Piece, final.Length - at);
                from.ReadExactly(buffer, 0, n);
                output.Write(buffer, 0, n);
            }
        }

        string basePath = System.IO.Path.Combine(folder, "base.vhdx");
        string child1 = System.IO.Path.Combine(folder, "child1.vhdx");
        string child2 = System.IO.Path.Combine(folder, "child2.vhdx");
        VhdxDisk.Create(basePath, new VhdxCreateOptions { VirtualSize = diskSize, BlockSize = 1 << 20 });
        long[] written = new long[3];
        written[0] = Ntfs.PartitionedChainFixture.WriteChangedSectors(basePath, null, layout);
        VhdxDisk.CreateDifferencing(child1, basePath);
        written[1] = Ntfs.PartitionedChainFixture.WriteChangedSectors(child1, fresh, half, start * 512);
        VhdxDisk.CreateDifferencing(child2, child1);
        written[2] = Ntfs.PartitionedChainFixture.WriteChangedSectors(child2, half, built.Image, start * 512);
        if (written.Any(w => w == 0))
        {
            throw new InvalidOperationException($"{variant}: a level of the chain holds nothing ({string.Join(", ", written)} bytes written)");
        }

        File.Delete(layout);
        File.Delete(half);
        return new Chained(child2, label, number, start * 512);
    }

    /// <inheritdoc />
    public void Dispose() => _dir.Dispose();

    /// <summary>An image and what the oracles say about it.</summary>
    public sealed record Built(string Image, string[] FuseManifest, Dictionary<string, (uint Inode, char Type)> Fls, long Length);

    /// <summary>The last child of a variant's chain, its partition table, and the volume's partition and offset.</summary>
    public sealed record Chained(string Vhdx, string Label, int Partition, long Offset);
}
