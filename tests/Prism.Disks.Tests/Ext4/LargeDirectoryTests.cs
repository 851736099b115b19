using Prism.Disks.Ext4;
using Prism.Disks.IO;
using Prism.Testing;

namespace Prism.Disks.Tests.Ext4;

/// <summary>
/// A directory of 600 names of 250 bytes in 1 KiB blocks (three per block), indexed by e2fsck -D into a two-level htree
/// (root, interior nodes, leaves), lists as fuse2fs and debugfs list it. (100,000 names in one directory take mke2fs -d
/// over ten minutes, and sleuthkit 4.11's fls fails on two-level htrees, so the CI-sized case is this one.)
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
    }
}
