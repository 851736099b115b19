using Prism.Disks.IO;
using Prism.Disks.Ntfs;
using Prism.Disks.Partitions;
using Prism.Testing;

namespace Prism.Disks.Tests.Ntfs;

/// <summary>
/// Windows-formatted volumes from ../shared/corpus: the VHDX files are turned into raw disks by qemu-img (our VHDX
/// reader lives elsewhere), partitions are checked against partx and the NTFS volume against ntfsls/ntfsinfo.
/// </summary>
public sealed class CorpusVolumeTests
{
    [SkippableTheory]
    [InlineData("vhdx/fixed.vhdx.gz")]
    [InlineData("vhdx/dynamic.vhdx.gz")]
    public void WindowsFormattedVolume_MatchesNtfslsAndNtfsinfo(string corpusFile)
    {
        using var dir = new TempDir();
        string raw = ToRaw(dir, corpusFile);
        using var disk = new FileDiskSource(raw);
        PartitionTable table = PartitionTable.Read(disk);
        string partx = Oracle.Run(Oracle.Require("partx", "util-linux"), ["-b", "-g", "-r", "-o", "START,SECTORS,TYPE", raw]).StdOut.Trim();
        Partition p = Assert.Single(table.Partitions);
        Assert.Equal(partx, $"{p.StartSector} {p.SectorCount} 0x{p.MbrType:x}");

        string volumeImage = dir.File("volume.img");
        using (FileStream f = File.Create(volumeImage))
        {
            new DiskStream(p.Source).CopyTo(f);
        }

        NtfsVolume volume = NtfsVolume.Open(p);
        string info = Oracle.Run(Oracle.Require("ntfsinfo", "ntfs-3g"), ["-m", volumeImage]).StdOut;
        Assert.Contains($"Volume Name: {volume.VolumeLabel}\n", info, StringComparison.Ordinal);
        Assert.Contains($"Cluster Size: {volume.ClusterSize}\n", info, StringComparison.Ordinal);
        Assert.Contains($"MFT Record Size: {volume.MftRecordSize}\n", info, StringComparison.Ordinal);

        var oracle = NtfsImages.NtfsLsListing(volumeImage, "-a", "-s");
        var prism = volume.Enumerate(includeSystemFiles: true).ToDictionary(e => e.Path, StringComparer.Ordinal);
        Assert.Equal(oracle.Keys.Order(StringComparer.Ordinal), prism.Keys.Order(StringComparer.Ordinal));
        foreach ((string path, (long record, long size, bool isDir)) in oracle)
        {
            Assert.Equal(record, prism[path].RecordNumber);
            Assert.Equal(isDir, prism[path].IsDirectory);
            Assert.True(isDir || size == prism[path].Size, $"{path}: {prism[path].Size}, ntfsls {size}");
        }

        Assert.Equal(NtfsImages.NtfsCat(volumeImage, "/$UpCase"), RichVolumeTests.ReadAll(volume.OpenStream(volume.Find("/$upcase")!)));
    }

    [SkippableFact]
    public void Disk2VhdImage_HasNoNtfsPartition()
    {
        using var dir = new TempDir();
        string raw = ToRaw(dir, "vhdx/test-disk2vhd.vhdx.bz2");
        using (var disk = new FileDiskSource(raw))
        {
            PartitionTable table = PartitionTable.Read(disk);
            string partx = Oracle.Run(Oracle.Require("partx", "util-linux"), ["-b", "-g", "-r", "-o", "START,SECTORS,TYPE", raw]).StdOut.Trim();
            Partition p = Assert.Single(table.Partitions);
            Assert.Equal(partx, $"{p.StartSector} {p.SectorCount} 0x{p.MbrType:x}");
            Assert.False(NtfsVolume.IsNtfs(p.Source));
        }
    }

    private static string ToRaw(TempDir dir, string corpusFile)
    {
        string qemu = Oracle.Require("qemu-img", "qemu-utils");
        string vhdx = Corpus.Unpack(corpusFile, dir);
        string raw = dir.File("disk.raw");
        Oracle.Run(qemu, ["convert", "-O", "raw", vhdx, raw]);
        return raw;
    }
}
