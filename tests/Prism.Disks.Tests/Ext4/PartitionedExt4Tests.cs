using Prism.Disks.Ext4;
using Prism.Disks.IO;
using Prism.Disks.Partitions;
using Prism.Testing;

namespace Prism.Disks.Tests.Ext4;

/// <summary>An ext4 volume inside a GPT and an MBR disk (sfdisk) reads as its bare image does, with disk offsets recorded.</summary>
[Collection(Ext4VolumesCollection.Name)]
public sealed class PartitionedExt4Tests(Ext4VolumesFixture fixture)
{
    [SkippableTheory]
    [InlineData("gpt")]
    [InlineData("dos")]
    public void Ext4InPartition_ReadsAsTheBareImage(string label)
    {
        Ext4VolumesFixture.Built built = fixture.Get("ext4-1k-csum-64bit");
        string sfdisk = Oracle.Require("sfdisk", "fdisk");
        using var dir = new TempDir();
        string disk = dir.File("disk.img");
        long volumeLength = built.Length;
        using (FileStream f = File.Create(disk))
        {
            f.SetLength((2L << 20) + volumeLength + (1L << 20));
        }

        Oracle.Run(sfdisk, ["--quiet", disk], stdin: $"label: {label}\nstart=4096, size={volumeLength / 512}, type={(label == "gpt" ? "0FC63DAF-8483-4772-8E79-3D69D8477DE4" : "83")}\n");
        Oracle.Run("dd", [$"if={built.Image}", $"of={disk}", "bs=1M", "seek=2", "conv=notrunc,sparse", "status=none"]);

        using var source = new FileDiskSource(disk);
        Partition p = Assert.Single(PartitionTable.Read(source).Partitions);
        Assert.Equal(2L << 20, p.Start);
        Ext4Volume volume = Ext4Volume.Open(p);
        Assert.Equal(p.Start, volume.DiskOffset);
        Assert.Equal(built.FuseManifest, Ext4Images.OurManifest(volume, volume.Enumerate(onError: e => Assert.Fail(e.ToString()))));

        Ext4Volume direct = Ext4Volume.Open(source, p.Start, p.Length, disk);
        Assert.Equal(p.Start, direct.DiskOffset);
        Assert.Equal(volume.GetSectorMap(volume.Find("/sparse.bin")!), direct.GetSectorMap(direct.Find("/sparse.bin")!));
    }
}
