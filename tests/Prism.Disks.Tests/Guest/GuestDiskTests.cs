using System.Text;
using Prism.Disks.Guest;
using Prism.Disks.IO;
using Prism.Testing;

namespace Prism.Disks.Tests.Guest;

/// <summary>
/// Detection by magic and the layout of a disk: supported volumes opened, unsupported ones named and left to raw
/// scanning, nothing dropped. Where a formatter exists here (mke2fs, mkswap, mkntfs) blkid is the oracle; the other
/// magics are written where their on-disk formats put them.
/// </summary>
public sealed class GuestDiskTests
{
    [SkippableFact]
    public void MixedGptDiskListsEveryPartitionAndLeavesTheUnsupportedOnesRaw()
    {
        string sfdisk = Oracle.Require("sfdisk", "fdisk");
        string mke2fs = Oracle.Require("mke2fs", "e2fsprogs");
        string mkswap = Oracle.Require("mkswap", "util-linux");
        string blkid = Oracle.Require("blkid", "util-linux");
        using var dir = new TempDir();
        string disk = dir.File("disk.img");
        const long MiB = 1 << 20;
        using (FileStream f = File.Create(disk))
        {
            f.SetLength(64 * MiB);
        }

        // p1 ext4, p2 swap, p3 XFS, p4 LUKS, p5 LVM2 PV, p6 nothing; gaps between some of them.
        Oracle.Run(sfdisk, ["--quiet", disk], stdin: "label: gpt\n"
            + "start=2048, size=24576\nstart=28672, size=8192\nstart=38912, size=8192\nstart=47104, size=8192\nstart=55296, size=8192\nstart=63488, size=8192\n");
        string ext4 = dir.File("p1");
        using (FileStream f = File.Create(ext4))
        {
            f.SetLength(12 * MiB);
        }

        Oracle.Run(mke2fs, ["-q", "-F", "-t", "ext4", ext4]);
        string swap = dir.File("p2");
        using (FileStream f = File.Create(swap))
        {
            f.SetLength(4 * MiB);
        }

        Oracle.Run(mkswap, ["-q", swap]);
        Assert.Equal("ext4", Oracle.Run(blkid, ["-p", "-o", "value", "-s", "TYPE", ext4]).StdOut.Trim());
        Assert.Equal("swap", Oracle.Run(blkid, ["-p", "-o", "value", "-s", "TYPE", swap]).StdOut.Trim());
        using (var f = new FileStream(disk, FileMode.Open, FileAccess.ReadWrite))
        {
            void Put(long at, byte[] data)
            {
                f.Position = at;
                f.Write(data);
            }

            Put(2048 * 512, File.ReadAllBytes(ext4));
            Put(28672 * 512, File.ReadAllBytes(swap));
            Put(38912 * 512, Encoding.ASCII.GetBytes("XFSB"));
            Put(47104 * 512, [.. "LUKS"u8, 0xBA, 0xBE, 0, 1]);
            Put((55296 * 512) + 512, [.. "LABELONE"u8, .. new byte[16], .. "LVM2 001"u8]);
        }

        using var source = new FileDiskSource(disk);
        GuestDisk layout = GuestDisk.Open(source, disk);
        Assert.Null(layout.TableProblem);
        Assert.Equal([GuestFileSystem.Ext4, GuestFileSystem.Swap, GuestFileSystem.Xfs, GuestFileSystem.Luks, GuestFileSystem.Lvm2, GuestFileSystem.Unknown],
            layout.Partitions.Select(p => p.FileSystem));
        IGuestVolume volume = Assert.Single(layout.Volumes);
        Assert.Equal(2048L * 512, volume.DiskOffset);
        Assert.NotNull(volume.Find("/lost+found"));
        Assert.All(layout.Partitions.Skip(1), p => Assert.Contains("scanned raw", p.Problem, StringComparison.Ordinal));
        Assert.Contains("partition 3 at 0x1300000: XFS (not supported: scanned raw)", layout.Partitions.Select(p => p.ToString()));

        // Everything but the ext4 volume is raw: the table, the gaps, the unsupported partitions, the tail.
        long claimed = 12 * MiB;
        Assert.Equal(source.Length - claimed, layout.Unclaimed.Sum(r => r.Length));
        Assert.DoesNotContain(layout.Unclaimed, r => r.Overlaps(new ByteRange(volume.DiskOffset, claimed)));
        Assert.Contains(layout.Unclaimed, r => r.Offset <= 28672L * 512 && r.End >= (28672L + 8192) * 512);
    }

    [Theory]
    [InlineData(3, "NTFS    ", GuestFileSystem.Ntfs)]
    [InlineData(3, "-FVE-FS-", GuestFileSystem.BitLocker)]
    [InlineData(3, "ReFS\0\0\0\0", GuestFileSystem.ReFS)]
    [InlineData(0, "XFSB", GuestFileSystem.Xfs)]
    [InlineData(0x10040, "_BHRfS_M", GuestFileSystem.Btrfs)]
    [InlineData(4086, "SWAPSPACE2", GuestFileSystem.Swap)]
    [InlineData(65536 - 10, "SWAP-SPACE", GuestFileSystem.Swap)]
    [InlineData(1536, "LABELONE", GuestFileSystem.Unknown)]
    [InlineData(100, "nothing", GuestFileSystem.Unknown)]
    public void DetectReadsEachMagicAtItsPlace(int offset, string magic, GuestFileSystem expected)
    {
        byte[] volume = new byte[1 << 20];
        Encoding.Latin1.GetBytes(magic).CopyTo(volume, offset);
        Assert.Equal(expected, GuestFileSystems.Detect(new MemoryDiskSource(volume)));
        Assert.Equal(expected is GuestFileSystem.Ntfs, GuestFileSystems.IsSupported(expected));
        if (!GuestFileSystems.IsSupported(expected))
        {
            NotSupportedException e = Assert.Throws<NotSupportedException>(() => GuestFileSystems.Open(new MemoryDiskSource(volume), 0, volume.Length, "v"));
            Assert.Contains(GuestFileSystems.DisplayName(expected), e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void DetectClassifiesExtByFeatures()
    {
        static GuestFileSystem Ext(uint compat, uint incompat, uint ro)
        {
            byte[] v = new byte[8192];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(v.AsSpan(1024 + 0x38), 0xEF53);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(v.AsSpan(1024 + 0x5C), compat);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(v.AsSpan(1024 + 0x60), incompat);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(v.AsSpan(1024 + 0x64), ro);
            return GuestFileSystems.Detect(new MemoryDiskSource(v));
        }

        Assert.Equal(GuestFileSystem.Ext2, Ext(0x38, 0x2, 0x3));
        Assert.Equal(GuestFileSystem.Ext3, Ext(0x3C, 0x2 | 0x4, 0x3));
        Assert.Equal(GuestFileSystem.Ext4, Ext(0x3C, 0x2 | 0x40, 0x3));
        Assert.Equal(GuestFileSystem.Ext4, Ext(0x38, 0x2, 0x3 | 0x400));
    }
}
