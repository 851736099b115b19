using Prism.Disks.Ext4;
using Prism.Disks.Guest;
using Prism.Disks.IO;
using Prism.Testing;

namespace Prism.Disks.Tests.Ext4;

/// <summary>
/// A directory of 600 names of 250 bytes in 1 KiB blocks (three per block), indexed by e2fsck -D into a two-level htree
/// (root, interior nodes, leaves), lists as fuse2fs and debugfs list it, natively and through <see cref="IGuestVolume"/>.
/// Every name is also looked up through the htree (<see cref="Ext4Volume.Find"/>), and a damaged interior index node is a
/// typed error naming the node and its byte offset. The 100,000-name directory, and why sleuthkit's fls is not the oracle
/// for such directories, are in <see cref="HugeDirectoryTests"/>.
/// </summary>
public sealed class LargeDirectoryTests
{
    [SkippableFact]
    public void TwoLevelHtree_ListsAsFuse2fsAndDebugfs()
    {
        string python = Oracle.Require("python3", "python3");
        string debugfs = Oracle.Require("debugfs", "e2fsprogs");
        using var dir = new TempDir();
        string src = dir.File("src");
        Oracle.Run(python, ["-c", "import os,sys\nos.makedirs(sys.argv[1] + '/big')\nfor i in range(600):\n    open(sys.argv[1] + '/big/%05d-%s' % (i, 'q' * 244), 'wb').write(b'%d' % i)", src]);
        string image = Ext4Images.Make(dir.File("big.img"), src, 64, "-t", "ext4", "-b", "1024", "-N", "8192");
        Ext4Images.Fsck(image, "-fyD");
        Assert.Contains("Indirect levels: 1", Oracle.Run(debugfs, ["-R", "htree /big", image]).StdOut, StringComparison.Ordinal);
        string[] fuse = Ext4Images.FuseManifest(image, dir.File("mnt"));
        var listed = new Dictionary<string, uint>(StringComparer.Ordinal);
        foreach (string line in Oracle.Run(debugfs, ["-R", "ls -p /big", image]).StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split('/');
            if (f.Length > 6 && f[1] != "0" && f[5] is not ("" or "." or ".."))
            {
                listed["/big/" + f[5]] = uint.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        using var source = new FileDiskSource(image);
        Ext4Volume volume = Ext4Volume.Open(source);
        IReadOnlyList<Ext4FileEntry> entries = volume.Enumerate(onError: e => Assert.Fail(e.ToString()));
        Ext4FileEntry[] big = [.. entries.Where(e => e.Path.StartsWith("/big/", StringComparison.Ordinal))];
        Assert.Equal(600, big.Length);
        Assert.Equal(fuse, Ext4Images.OurManifest(volume, entries));
        Assert.Equal(listed.Count, big.Length);
        Assert.All(big, e => Assert.Equal(listed[e.Path], e.Inode));

        // The same through the guest layer: paths and inodes as debugfs lists them, sizes as fuse2fs reads them.
        IGuestVolume guest = GuestFileSystems.Open(source, 0, source.Length, image);
        var walked = new Dictionary<string, (long Id, long Size)>(StringComparer.Ordinal);
        guest.Visit((in GuestFileView f) => walked.Add(f.Path.ToString(), (f.Id, f.Size)), "/big", recursive: false, onError: e => Assert.Fail(e.ToString()));
        Assert.Equal(listed.Keys.Order(StringComparer.Ordinal), walked.Keys.Order(StringComparer.Ordinal));
        Assert.All(listed, kv => Assert.Equal(kv.Value, walked[kv.Key].Id));
        Assert.All(fuse.Where(l => l.Contains("\t/big/", StringComparison.Ordinal)), l => Assert.Equal(long.Parse(l.Split('\t')[1], System.Globalization.CultureInfo.InvariantCulture), walked[l.Split('\t')[3]].Size));

        // Lookups through the two-level index: every name, and names that are not there.
        Assert.All(listed, kv => Assert.Equal(kv.Value, volume.Find(kv.Key)?.Inode));
        Assert.Null(volume.Find("/big/00000-" + new string('q', 243)));
        Assert.Null(volume.Find("/big/zz"));

        // A damaged interior node (its dx count set past its limit), found through debugfs htree and bmap: a lookup whose hash
        // leads through it is a typed error naming the node, the directory's inode and the node's byte offset.
        string htree = Oracle.Run(debugfs, ["-R", "htree /big", image]).StdOut;
        System.Text.RegularExpressions.Match node = System.Text.RegularExpressions.Regex.Match(htree, @"Entry #1: Hash 0x[0-9a-f]+, block (\d+)");
        Assert.True(node.Success, htree);
        long physical = long.Parse(Oracle.Run(debugfs, ["-R", $"bmap /big {node.Groups[1].Value}", image]).StdOut.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        byte[] bytes = File.ReadAllBytes(image);
        long countAt = (physical * volume.BlockSize) + 8 + 2;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan((int)countAt), 0xFFFF);
        Ext4Volume damaged = Ext4Volume.Open(new MemoryDiskSource(bytes), "damaged.img");
        uint bigInode = volume.Find("/big")!.Inode;
        int typed = 0;
        foreach (string path in listed.Keys)
        {
            try
            {
                Assert.Equal(listed[path], damaged.Find(path)?.Inode);
            }
            catch (Prism.Disks.Errors.Ext4FormatException ex)
            {
                Assert.Contains($"htree node (block {node.Groups[1].Value})", ex.Structure, StringComparison.Ordinal);
                Assert.Equal(bigInode, ex.Inode);
                Assert.Equal(physical * volume.BlockSize, ex.FileOffset);
                typed++;
            }
        }

        Assert.InRange(typed, 1, listed.Count - 1);
    }
}
