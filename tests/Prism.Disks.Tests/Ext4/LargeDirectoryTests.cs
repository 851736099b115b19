using Prism.Disks.Ext4;
using Prism.Disks.Guest;
using Prism.Disks.IO;
using Prism.Testing;

namespace Prism.Disks.Tests.Ext4;

/// <summary>
/// A directory of 600 names of 250 bytes in 1 KiB blocks (three per block), indexed by e2fsck -D into a two-level htree
/// (root, interior nodes, leaves), lists as fuse2fs and debugfs list it, natively and through <see cref="IGuestVolume"/>.
/// Why not 100,000 names, and why not sleuthkit here:
/// <list type="bullet">
/// <item>Building 100,000 names takes e2fsprogs 1.47 too long for CI: mke2fs -d links each name into a linear directory
/// (over ten CPU minutes); debugfs inserting into an e2fsck -D htree 98,000 more names took 3 CPU minutes (10 minutes
/// under CI load). On that image (4 KiB blocks, two-level htree, 100,400 names, clean by e2fsck -fn) Prism's listing
/// equals fuse2fs's and debugfs's.</item>
/// <item>sleuthkit 4.11's fls misreads two-level htrees (both images are clean by e2fsck -fn; fuse2fs and debugfs list
/// exactly the names): on this 1 KiB image it lists none of /big's 600 names (exit 0, no message); on the 100,400-name
/// one it lists every name plus four allocated and two deleted phantom names decoded from the htree's interior
/// (dx_node) blocks, whose fake entry (inode 0, rec_len = block size) it does not skip. So fuse2fs and debugfs
/// ls are the oracles here.</item>
/// </list>
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
    }
}
