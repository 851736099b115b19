using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;
using Prism.Disks.Errors;
using Prism.Disks.IO;
using Prism.Disks.Ntfs;
using Prism.Disks.Partitions;
using Prism.Disks.Tests.Ntfs;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.Partitions;

/// <summary>
/// Partition tables checked against util-linux partx (libblkid). GPT 512 tables are made by systemd-repart;
/// sfdisk/sgdisk/parted are not installed, so MBR/EBR chains and 4K-sector GPTs are encoded by the test and the
/// expectations still come from partx reading those bytes.
/// </summary>
public sealed partial class PartitionTableTests
{
    private static readonly Guid s_basicData = new("ebd0a0a2-b9e5-4433-87c0-68b6b72699c7");

    [SkippableFact]
    public void Gpt512_FromSystemdRepart_MatchesPartxAndHoldsAReadableNtfsVolume()
    {
        using var dir = new TempDir();
        string disk = MakeRepartDisk(dir);
        var expected = Partx(disk, 512);
        Assert.Equal(2, expected.Count);
        string volumeImage = PutNtfsInto(dir, disk, expected[0].Start * 512, expected[0].Sectors * 512);
        using var source = new FileDiskSource(disk);
        PartitionTable table = PartitionTable.Read(source);
        Assert.Equal(PartitionScheme.Gpt, table.Scheme);
        Assert.False(table.UsedBackupGptHeader);
        AssertSame(expected, table);

        Partition p = table.Partitions[0];
        NtfsVolume volume = NtfsVolume.Open(p);
        Assert.Equal(p.Start, volume.DiskOffset);
        ClusterSizeTests.AssertMatchesOracles(volume, volumeImage);

        // Disk-relative sector map: reading those disk bytes gives the file.
        NtfsFileEntry file = volume.Find("/file-6-1000000.bin")!;
        byte[] viaMap = [.. volume.GetExtents(file).Streams[0].Ranges.SelectMany(r => ReadDisk(source, r))];
        Assert.True(NtfsImages.NtfsCat(volumeImage, file.Path).AsSpan().SequenceEqual(viaMap.AsSpan(0, (int)file.Size)));
    }

    [SkippableTheory]
    [InlineData(512 + 20)]
    [InlineData(1024 + 40)]
    public void Gpt_DamagedPrimaryHeaderOrArray_UsesBackup(int damageAt)
    {
        using var dir = new TempDir();
        string disk = MakeRepartDisk(dir);
        var expected = Partx(disk, 512);
        byte[] bytes = File.ReadAllBytes(disk);
        bytes[damageAt] ^= 0x5A;
        PartitionTable table = PartitionTable.Read(new MemoryDiskSource(bytes));
        Assert.True(table.UsedBackupGptHeader);
        Assert.Single(table.Warnings);
        AssertSame(expected, table);

        // Both copies damaged: a typed error naming the GPT header.
        bytes[bytes.Length - 512 + 20] ^= 0x5A;
        var ex = Assert.Throws<DiskFormatException>(() => PartitionTable.Read(new MemoryDiskSource(bytes)));
        Assert.Contains("GPT header at 0x200", ex.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Gpt4096_MatchesPartxWithFourKSectors()
    {
        Oracle.Require("partx", "util-linux");
        using var dir = new TempDir();
        const int SectorSize = 4096;
        byte[] bytes = new byte[32 * 1024 * 1024];
        GptEntry[] entries =
        [
            new(s_basicData, new Guid("11111111-2222-3333-4444-555555555555"), 256, 2303, 0, "ntfs4k"),
            new(new Guid("0fc63daf-8483-4772-8e79-3d69d8477de4"), new Guid("66666666-7777-8888-9999-aaaaaaaaaaaa"), 2304, 4095, 0, "linux"),
        ];
        WriteGpt(bytes, SectorSize, entries);
        string disk = dir.File("gpt4k.img");
        File.WriteAllBytes(disk, bytes);
        var expected = Partx(disk, SectorSize);
        PartitionTable table = PartitionTable.Read(new MemoryDiskSource(bytes));
        Assert.Equal(SectorSize, table.SectorSize);
        AssertSame(expected, table);
    }

    [SkippableFact]
    public void Mbr_WithExtendedChain_MatchesPartxAndReadsNtfsInALogicalPartition()
    {
        using var dir = new TempDir();
        byte[] bytes = new byte[64 * 1024 * 1024];
        // Primary 1: NTFS (0x07) at 2048; primary 2: extended (0x0F) holding three logicals; primary 3: Linux.
        WriteEntry(bytes, 0, 0, new MbrEntry(0x80, 0x07, 2048, 16384));
        WriteEntry(bytes, 0, 1, new MbrEntry(0, 0x0F, 20480, 81920));
        WriteEntry(bytes, 0, 2, new MbrEntry(0, 0x83, 104448, 20480));
        long ebr = 20480;
        uint[] sizes = [8192, 40960, 16384];
        for (int i = 0; i < sizes.Length; i++)
        {
            WriteEntry(bytes, ebr, 0, new MbrEntry(0, (byte)(i == 1 ? 0x07 : 0x83), 2048, sizes[i]));
            long next = ebr + 2048 + sizes[i];
            if (i < sizes.Length - 1)
            {
                WriteEntry(bytes, ebr, 1, new MbrEntry(0, 0x05, (uint)(next - 20480), sizes[i + 1] + 2048));
            }

            ebr = next;
        }

        string disk = dir.File("mbr.img");
        File.WriteAllBytes(disk, bytes);
        var expected = Partx(disk, 512);
        Assert.Contains(expected, p => p.Number >= 5);
        PartitionTable table = PartitionTable.Read(new MemoryDiskSource(bytes));
        Assert.Equal(PartitionScheme.Mbr, table.Scheme);
        AssertSame(expected.Where(p => p.Type is not ("0xf" or "0x5")).ToList(), table);

        Partition logical = table.Partitions.Single(p => p.Number == 6);
        string volumeImage = PutNtfsInto(dir, disk, logical.Start, logical.Length);
        using var source = new FileDiskSource(disk);
        ClusterSizeTests.AssertMatchesOracles(NtfsVolume.Open(PartitionTable.Read(source).Partitions.Single(p => p.Number == 6)), volumeImage);
    }

    [SkippableFact]
    public void Mbr4096_WithLogicals_MatchesPartxWithFourKSectors()
    {
        using var dir = new TempDir();
        const int SectorSize = 4096;
        byte[] bytes = new byte[64 * 1024 * 1024];
        WriteEntry(bytes, 0, 0, new MbrEntry(0, 0x07, 256, 4096), SectorSize);
        WriteEntry(bytes, 0, 1, new MbrEntry(0, 0x05, 4608, 8192), SectorSize);
        WriteEntry(bytes, 4608, 0, new MbrEntry(0, 0x83, 256, 2048), SectorSize);
        WriteEntry(bytes, 4608, 1, new MbrEntry(0, 0x05, 2560, 3072), SectorSize);
        WriteEntry(bytes, 4608 + 2560, 0, new MbrEntry(0, 0x07, 256, 2048), SectorSize);
        string disk = dir.File("mbr4k.img");
        File.WriteAllBytes(disk, bytes);
        var expected = Partx(disk, SectorSize);
        PartitionTable table = PartitionTable.Read(new MemoryDiskSource(bytes), SectorSize);
        Assert.Equal(3, table.Partitions.Length);
        AssertSame(expected.Where(p => p.Type is not ("0xf" or "0x5")).ToList(), table);
    }

    [Fact]
    public void Read_MbrInsideA4096SectorVhdx_CountsInTheVhdxSectors()
    {
        using var dir = new TempDir();
        const int SectorSize = 4096;
        byte[] bytes = new byte[8 * 1024 * 1024];
        WriteEntry(bytes, 0, 0, new MbrEntry(0, 0x07, 256, 1024), SectorSize);
        WriteEntry(bytes, 0, 1, new MbrEntry(0, 0x05, 1280, 512), SectorSize);
        WriteEntry(bytes, 1280, 0, new MbrEntry(0, 0x07, 256, 256), SectorSize);
        string path = dir.File("mbr4k.vhdx");
        VhdxDisk.Create(path, new VhdxCreateOptions { VirtualSize = bytes.Length, LogicalSectorSize = SectorSize });
        using (VhdxDisk writable = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true }))
        {
            writable.Write(bytes, 0);
            writable.Flush();
        }

        using VhdxDisk disk = VhdxDisk.Open(path);
        PartitionTable table = PartitionTable.Read(disk);
        Assert.Equal(SectorSize, table.SectorSize);
        Assert.Equal([(1, 256L * SectorSize, 1024L * SectorSize), (5, (1280L + 256) * SectorSize, 256L * SectorSize)],
            table.Partitions.Select(p => (p.Number, p.Start, p.Length)));
    }

    [Fact]
    public void Mbr_EbrChainLoop_ThrowsTypedError()
    {
        byte[] bytes = new byte[8 * 1024 * 1024];
        WriteEntry(bytes, 0, 0, new MbrEntry(0, 0x05, 2048, 8192));
        WriteEntry(bytes, 2048, 0, new MbrEntry(0, 0x83, 63, 100));
        WriteEntry(bytes, 2048, 1, new MbrEntry(0, 0x05, 0, 200)); // points back at itself
        var ex = Assert.Throws<DiskFormatException>(() => PartitionTable.Read(new MemoryDiskSource(bytes)));
        Assert.Contains("EBR at 0x100000", ex.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void BareNtfsVolume_HasNoPartitionTable()
    {
        using var dir = new TempDir();
        string image = NtfsImages.Create(dir, "bare.img", 16L * 1024 * 1024, 4096);
        using var source = new FileDiskSource(image);
        Assert.Equal(PartitionScheme.None, PartitionTable.Read(source).Scheme);
        Assert.True(NtfsVolume.IsNtfs(source));
    }

    private static string MakeRepartDisk(TempDir dir)
    {
        string repart = Oracle.Require("systemd-repart", "systemd-repart");
        string defs = dir.File("defs");
        Directory.CreateDirectory(defs);
        File.WriteAllText(Path.Combine(defs, "10-data.conf"),
            $"[Partition]\nType={s_basicData}\nLabel=Basic data\nSizeMinBytes=24M\nSizeMaxBytes=24M\n");
        File.WriteAllText(Path.Combine(defs, "20-linux.conf"), "[Partition]\nType=linux-generic\nLabel=linux\nSizeMinBytes=8M\nSizeMaxBytes=8M\n");
        string disk = dir.File("gpt.img");
        Oracle.Run(repart, ["--empty=create", "--size=48M", "--dry-run=no", "--seed=0b5ea8a4-6e8e-4c2d-9f30-6e1f9a9d2a11",
            "--definitions=" + defs, disk]);
        return disk;
    }

    // Formats a standalone volume of the partition's size and copies it into the disk image at the partition's offset.
    private static string PutNtfsInto(TempDir dir, string disk, long offset, long length)
    {
        string volume = ClusterSizeTests.BuildVolumeOfSize(dir, length, 4096);
        byte[] data = File.ReadAllBytes(volume);
        using FileStream f = RawFile.OpenForPatch(disk);
        f.Position = offset;
        f.Write(data);
        return volume;
    }

    private static byte[] ReadDisk(IDiskSource disk, ByteRange r)
    {
        byte[] b = new byte[r.Length];
        disk.ReadExactly(b, r.Offset);
        return b;
    }

    private static void WriteEntry(byte[] disk, long sectorLba, int slot, MbrEntry entry, int sectorSize = 512)
    {
        Span<byte> sector = disk.AsSpan((int)(sectorLba * sectorSize), 512);
        entry.Write(sector[(MbrSector.EntriesOffset + (slot * MbrEntry.Size))..]);
        BinaryPrimitives.WriteUInt16LittleEndian(sector[MbrSector.SignatureOffset..], MbrSector.BootSignature);
    }

    private static void WriteGpt(byte[] disk, int sectorSize, GptEntry[] entries)
    {
        long sectors = disk.Length / sectorSize;
        const int Count = 128;
        byte[] array = new byte[Count * GptEntry.MinSize];
        for (int i = 0; i < entries.Length; i++)
        {
            entries[i].Write(array.AsSpan(i * GptEntry.MinSize));
        }

        int arraySectors = array.Length / sectorSize;
        uint crc = System.IO.Hashing.Crc32.HashToUInt32(array);
        var primary = new GptHeader(0x10000, GptHeader.MinSize, 1, (ulong)sectors - 1, (ulong)(2 + arraySectors),
            (ulong)(sectors - 2 - arraySectors), new Guid("01234567-89ab-cdef-0123-456789abcdef"), 2, Count, GptEntry.MinSize, crc);
        GptHeader backup = primary with { MyLba = (ulong)sectors - 1, AlternateLba = 1, EntryArrayLba = (ulong)(sectors - 1 - arraySectors) };
        array.CopyTo(disk, 2 * sectorSize);
        array.CopyTo(disk, (long)backup.EntryArrayLba * sectorSize);
        primary.Write(disk.AsSpan(sectorSize));
        backup.Write(disk.AsSpan((int)((sectors - 1) * sectorSize)));
        new MbrEntry(0, MbrSector.ProtectiveType, 1, (uint)(sectors - 1)).Write(disk.AsSpan(MbrSector.EntriesOffset));
        BinaryPrimitives.WriteUInt16LittleEndian(disk.AsSpan(MbrSector.SignatureOffset), MbrSector.BootSignature);
    }

    internal sealed record PartxRow(int Number, long Start, long Sectors, string Type, string Uuid, string Name);

    internal static List<PartxRow> Partx(string disk, int sectorSize)
    {
        string partx = Oracle.Require("partx", "util-linux");
        string output = Oracle.Run(partx, ["-b", "-P", "-S", sectorSize.ToString(CultureInfo.InvariantCulture),
            "-o", "NR,START,SECTORS,TYPE,UUID,NAME", disk]).StdOut;
        var rows = new List<PartxRow>();
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = PairRegex().Matches(line).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
            rows.Add(new PartxRow(int.Parse(kv["NR"], CultureInfo.InvariantCulture), long.Parse(kv["START"], CultureInfo.InvariantCulture),
                long.Parse(kv["SECTORS"], CultureInfo.InvariantCulture), kv["TYPE"], kv["UUID"], kv["NAME"]));
        }

        return rows;
    }

    internal static void AssertSame(List<PartxRow> expected, PartitionTable table)
    {
        Assert.Equal(expected.Select(p => p.Number), table.Partitions.Select(p => p.Number));
        foreach (PartxRow row in expected)
        {
            Partition p = table.Partitions.Single(x => x.Number == row.Number);
            // partx counts START and SECTORS in 512-byte units whatever the logical sector size.
            Assert.Equal(row.Start * 512, p.Start);
            Assert.Equal(row.Sectors * 512, p.Length);
            if (table.Scheme == PartitionScheme.Gpt)
            {
                Assert.Equal(Guid.Parse(row.Type), p.TypeGuid);
                Assert.Equal(Guid.Parse(row.Uuid), p.UniqueGuid);
                Assert.Equal(row.Name, p.Name);
            }
            else
            {
                Assert.Equal(Convert.ToByte(row.Type, 16), p.MbrType);
            }
        }
    }

    [GeneratedRegex("(\\w+)=\"([^\"]*)\"")]
    private static partial Regex PairRegex();
}
