using Prism.Disks.Ext4;
using Prism.Disks.IO;
using Prism.Testing;

namespace Prism.Disks.Tests.Ext4;

/// <summary>Unwritten (preallocated) extents made by debugfs fallocate: mapped as unwritten, read as zeros, as fuse2fs reads them.</summary>
[Collection(Ext4VolumesCollection.Name)]
public sealed class UnwrittenExtentTests(Ext4VolumesFixture fixture)
{
    [SkippableFact]
    public void FallocatedRange_MappedUnwritten_ReadsAsZeros_MatchesFuse2fs()
    {
        Ext4VolumesFixture.Built built = fixture.Get("ext4-4k");
        string debugfs = Oracle.Require("debugfs", "e2fsprogs");
        using var dir = new TempDir();
        string image = dir.File("prealloc.img");
        Oracle.Run("cp", ["--sparse=always", built.Image, image]);
        // Inside the hole between the first 4 KiB and 1 MiB of /sparse.bin: blocks 10..20.
        Oracle.Run(debugfs, ["-w", "-R", "fallocate /sparse.bin 10 20", image]);
        Ext4Extent u;
        using (var before = new FileDiskSource(image))
        {
            Ext4Volume v = Ext4Volume.Open(before);
            u = Assert.Single(v.GetSectorMap(v.Find("/sparse.bin")!), x => x.Kind == Ext4ExtentKind.Unwritten);
        }

        // Stale bytes the unwritten flag must hide, written by dd (conv=notrunc), which takes no flock (see RawFile: a child
        // forked by a parallel test can still hold the reader's shared lock).
        string stale = dir.File("stale.bin");
        File.WriteAllBytes(stale, Enumerable.Repeat((byte)0xAA, (int)u.Length).ToArray());
        Oracle.Run("dd", [$"if={stale}", $"of={image}", "bs=1", $"seek={u.VolumeOffset}", "conv=notrunc", "status=none"]);

        string[] expected = Ext4Images.FuseManifest(image, dir.File("mnt"));

        using var source = new FileDiskSource(image);
        Ext4Volume volume = Ext4Volume.Open(source);
        Ext4FileEntry sparse = volume.Find("/sparse.bin")!;
        IReadOnlyList<Ext4Extent> map = volume.GetSectorMap(sparse);
        Ext4Extent unwritten = Assert.Single(map, x => x.Kind == Ext4ExtentKind.Unwritten);
        Assert.Equal(10L * volume.BlockSize, unwritten.FileOffset);
        Assert.Equal(11L * volume.BlockSize, unwritten.Length);

        // The blocks hold 0xAA; the content reads as zeros.
        byte[] content = new byte[unwritten.Length];
        volume.OpenFile(sparse).ReadExactly(content, unwritten.FileOffset);
        Assert.All(content, b => Assert.Equal(0, b));

        Dictionary<uint, long[]> blocks = Ext4Images.DebugfsBlocks(image, [sparse.Inode], dir.Path);
        Assert.Equal(blocks[sparse.Inode].Order(), Ext4Images.MappedBlocks(map, volume.BlockSize).Order());
        Assert.Equal(expected, Ext4Images.OurManifest(volume, volume.Enumerate()));
    }
}
