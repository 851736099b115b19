using System.Buffers.Binary;
using System.Text;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.Vhdx;

/// <summary>Known answers for the on-disk structures: CRC-32C, headers, region tables, metadata table, parent locator.</summary>
public sealed class VhdxStructureTests
{
    private static string LibvhdiData(string name)
    {
        Skip.If(Corpus.Root is null && !Oracle.Required, "../shared/corpus not found");
        Assert.NotNull(Corpus.Root);
        return System.IO.Path.Combine(Corpus.Root!, "vhdx", "libvhdi-test-data", name);
    }

    [Fact]
    public void Compute_CheckString_GivesCrc32cCheckValue()
    {
        // The CRC catalogue's check value of CRC-32C (Castagnoli).
        Assert.Equal(0xE3069283u, VhdxChecksum.Compute("123456789"u8));
    }

    [Fact]
    public void Compute_WithChecksumField_TreatsFieldAsZero()
    {
        byte[] data = new byte[64];
        new Random(7).NextBytes(data);
        byte[] zeroed = (byte[])data.Clone();
        zeroed.AsSpan(4, 4).Clear();
        Assert.Equal(VhdxChecksum.Compute(zeroed), VhdxChecksum.Compute(data, 4));
    }

    [Fact]
    public void HeaderWrite_ThenTryRead_RoundTrips()
    {
        var rng = new Random(11);
        for (int i = 0; i < 20; i++)
        {
            var h = new VhdxHeader((ulong)rng.NextInt64(), Guid.NewGuid(), Guid.NewGuid(), i % 2 == 0 ? Guid.Empty : Guid.NewGuid(),
                0, 1, (uint)(rng.Next(1, 64) * VhdxTestKit.MiB), (ulong)(rng.Next(1, 1000) * VhdxTestKit.MiB));
            byte[] buf = new byte[VhdxHeader.Size];
            h.Write(buf);
            Assert.True(VhdxHeader.TryRead(buf, out VhdxHeader back));
            Assert.Equal(h, back);

            buf[rng.Next(VhdxHeader.Size)] ^= (byte)(1 << rng.Next(8));
            Assert.False(VhdxHeader.TryRead(buf, out _));
        }
    }

    [SkippableFact]
    public void HeaderTryRead_LibvhdiImageHeader_DecodesAndReencodesIdentically()
    {
        byte[] raw = File.ReadAllBytes(LibvhdiData("image_header.1"));
        Assert.True(VhdxHeader.TryRead(raw, out VhdxHeader h));
        Assert.Equal(6ul, h.SequenceNumber);
        Assert.Equal((ulong)VhdxTestKit.MiB, h.LogOffset);
        Assert.Equal((uint)VhdxTestKit.MiB, h.LogLength);
        Assert.Equal((ushort)1, h.Version);
        Assert.Equal((ushort)0, h.LogVersion);
        byte[] again = new byte[VhdxHeader.Size];
        h.Write(again);
        VhdxTestKit.AssertSameBytes(raw, again, "re-encoded image_header.1");
    }

    private static RegionTable HyperVTable() => new([
        new RegionTableEntry(VhdxLayout.BatRegion, 3 * VhdxTestKit.MiB, VhdxTestKit.MiB, true),
        new RegionTableEntry(VhdxLayout.MetadataRegion, 2 * VhdxTestKit.MiB, VhdxTestKit.MiB, true),
    ]);

    [Fact]
    public void RegionTableWrite_HyperVLayout_HasKnownAnswerCrc()
    {
        byte[] buf = new byte[VhdxLayout.RegionTableSize];
        HyperVTable().Write(buf);
        Assert.Equal(0xC66B8CAEu, BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(4)));
        Assert.True(RegionTable.TryRead(buf, "t", VhdxLayout.RegionTable1Offset, out RegionTable? back, out string? reason), reason);
        Assert.Equal(HyperVTable().Entries.ToArray(), back!.Entries.ToArray());
        Assert.Equal(3 * VhdxTestKit.MiB, back.Bat.FileOffset);
        Assert.Equal(2 * VhdxTestKit.MiB, back.Metadata.FileOffset);
    }

    [SkippableFact]
    public void RegionTableWrite_HyperVLayout_MatchesLibvhdiRegionTablePrefix()
    {
        byte[] expected = File.ReadAllBytes(LibvhdiData("region_table.1"));
        byte[] buf = new byte[VhdxLayout.RegionTableSize];
        HyperVTable().Write(buf);
        VhdxTestKit.AssertSameBytes(expected, buf.AsSpan(0, expected.Length), "region_table.1");
        VhdxTestKit.AssertSameBytes(File.ReadAllBytes(LibvhdiData("region_table_header.1")), buf.AsSpan(0, 16), "region_table_header.1");
        VhdxTestKit.AssertSameBytes(File.ReadAllBytes(LibvhdiData("region_table_entry.1")), buf.AsSpan(16, 32), "region_table_entry.1");
    }

    [SkippableFact]
    public void RegionTableTryRead_DynamicCorpusImage_IsTheKnownAnswerTable()
    {
        using var dir = new TempDir();
        string path = Corpus.Unpack("vhdx/dynamic.vhdx.gz", dir);
        byte[] file = File.ReadAllBytes(path);
        byte[] expected = new byte[VhdxLayout.RegionTableSize];
        HyperVTable().Write(expected);
        VhdxTestKit.AssertSameBytes(expected, file.AsSpan((int)VhdxLayout.RegionTable1Offset, VhdxLayout.RegionTableSize), "table 1");
        VhdxTestKit.AssertSameBytes(expected, file.AsSpan((int)VhdxLayout.RegionTable2Offset, VhdxLayout.RegionTableSize), "table 2");
    }

    [Fact]
    public void RegionTableTryRead_BadChecksum_ReturnsFalseWithReason()
    {
        byte[] buf = new byte[VhdxLayout.RegionTableSize];
        HyperVTable().Write(buf);
        buf[100] ^= 1;
        Assert.False(RegionTable.TryRead(buf, "t", 0x30000, out _, out string? reason));
        Assert.Contains("checksum", reason, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void MetadataTableBuild_NonDifferencing_MatchesLibvhdiTableHeaderAndFirstEntry()
    {
        byte[] region = MetadataTable.Build(VhdxTestKit.MiB, 2 * VhdxTestKit.MiB, false, 10 * VhdxTestKit.MiB, Guid.NewGuid(), 512, 4096, null);
        VhdxTestKit.AssertSameBytes(File.ReadAllBytes(LibvhdiData("metadata_table_header.1")), region.AsSpan(0, 32), "metadata_table_header.1");
        VhdxTestKit.AssertSameBytes(File.ReadAllBytes(LibvhdiData("metadata_table_entry.1")), region.AsSpan(32, 32), "metadata_table_entry.1");
    }

    public static TheoryData<long, bool, long, int, int> MetadataCases => new()
    {
        { VhdxTestKit.MiB, false, 64 * VhdxTestKit.MiB, 512, 512 },
        { 32 * VhdxTestKit.MiB, true, 10 * VhdxTestKit.MiB, 512, 4096 },
        { 256 * VhdxTestKit.MiB, false, 1L << 40, 4096, 4096 },
    };

    [Theory]
    [MemberData(nameof(MetadataCases))]
    public void MetadataTableRead_BuiltRegion_RoundTrips(long blockSize, bool isFixed, long size, int lss, int pss)
    {
        var id = Guid.NewGuid();
        byte[] region = MetadataTable.Build(VhdxTestKit.MiB, blockSize, isFixed, size, id, lss, pss, null);
        VhdxMetadata m = MetadataTable.Read(region, "m", 2 * VhdxTestKit.MiB);
        Assert.Equal((blockSize, isFixed, false, size, id, lss, pss), (m.BlockSize, m.LeaveBlockAllocated, m.HasParent, m.VirtualSize, m.DiskId, m.LogicalSectorSize, m.PhysicalSectorSize));
    }

    [Fact]
    public void Open_MetadataItemNearTheEndOfItsRegion_IsReadThere()
    {
        // Opens read the table, then only as far as the items reach: an item placed near the end of the 1 MiB region
        // (the format allows it anywhere in the region) must still be found.
        using var dir = new TempDir();
        string path = dir.File("far-item.vhdx");
        const long Size = 12 * VhdxTestKit.MiB;
        VhdxDisk.Create(path, new VhdxCreateOptions { VirtualSize = Size });
        long metadataOffset;
        using (VhdxDisk d = VhdxDisk.Open(path))
        {
            metadataOffset = d.Regions.Metadata.FileOffset;
        }

        byte[] image = File.ReadAllBytes(path);
        Array.Resize(ref image, (int)Math.Max(image.Length, metadataOffset + VhdxTestKit.MiB));
        Span<byte> region = image.AsSpan((int)metadataOffset, (int)VhdxTestKit.MiB);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(region[10..]);
        int sizeEntry = -1;
        for (int i = 0; i < count; i++)
        {
            if (new Guid(region.Slice(32 + (i * 32), 16)) == VhdxLayout.VirtualDiskSizeItem)
            {
                sizeEntry = i;
            }
        }

        Span<byte> entry = region.Slice(32 + (sizeEntry * 32), 32);
        int oldOffset = (int)BinaryPrimitives.ReadUInt32LittleEndian(entry[16..]);
        const int FarOffset = 0xFF000;
        region.Slice(oldOffset, 8).CopyTo(region[FarOffset..]);
        region.Slice(oldOffset, 8).Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(entry[16..], FarOffset);
        File.WriteAllBytes(path, image);

        using VhdxDisk far = VhdxDisk.Open(path);
        Assert.Equal(Size, far.VirtualSize);
    }

    [SkippableFact]
    public void ParentLocatorRead_LibvhdiHeaderAndEntry_DecodeAsDocumented()
    {
        byte[] header = File.ReadAllBytes(LibvhdiData("parent_locator_header.1"));
        byte[] entry = File.ReadAllBytes(LibvhdiData("parent_locator_entry.1"));
        Assert.Equal(VhdxLayout.VhdxParentLocatorType, new Guid(header.AsSpan(0, 16)));
        Assert.Equal(5, BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(18)));

        // Build a locator with five Hyper-V keys; its header and first entry must be the libvhdi bytes.
        string linkage = "{" + Guid.NewGuid().ToString("D") + "}";
        byte[] item = ParentLocator.Build([
            new("parent_linkage", linkage),
            new("absolute_win32_path", @"C:\p.avhdx"),
            new("relative_path", @".\p.avhdx"),
            new("volume_path", @"\\?\Volume{0eba351e-5634-46d6-a8cf-4ddc2d6ac0b9}\p.avhdx"),
            new("parent_linkage2", "{00000000-0000-0000-0000-000000000000}"),
        ]);
        VhdxTestKit.AssertSameBytes(header, item.AsSpan(0, 20), "parent_locator_header.1");
        VhdxTestKit.AssertSameBytes(entry, item.AsSpan(20, 12), "parent_locator_entry.1");
        ParentLocator back = ParentLocator.Read(item, "c", 0);
        Assert.Equal(Guid.Parse(linkage), back.ParentLinkage("c", 0));
        Assert.Null(back.ParentLinkage2("c", 0));
        Assert.Equal(@".\p.avhdx", back["relative_path"]);
    }

    [SkippableFact]
    public void ParentLocatorBuild_HyperVEntries_ReproducesTheAvhdxItemByteForByte()
    {
        using var dir = new TempDir();
        string path = Corpus.Unpack("vhdx/differencing.avhdx.gz", dir);
        using VhdxDisk disk = VhdxDisk.Open(path, new VhdxOpenOptions { SkipParent = true });
        MetadataEntry pl = disk.Metadata.Entries.Single(e => e.ItemId == VhdxLayout.ParentLocatorItem);
        byte[] file = File.ReadAllBytes(path);
        byte[] real = file.AsSpan((int)(disk.Regions.Metadata.FileOffset + pl.Offset), pl.Length).ToArray();
        Assert.Equal(1014, real.Length);
        byte[] rebuilt = ParentLocator.Build(disk.ParentLocatorEntries.ToList());
        VhdxTestKit.AssertSameBytes(real, rebuilt, "rebuilt parent locator");
    }

    [SkippableFact]
    public void Open_LibvhdiFileIdentifierAtOffsetZero_AcceptsSignature()
    {
        byte[] ident = File.ReadAllBytes(LibvhdiData("file_identifier.1"));
        Assert.StartsWith("Microsoft Windows 10.0.19041", Encoding.Unicode.GetString(ident, 8, 512).TrimEnd('\0'), StringComparison.Ordinal);
        using var dir = new TempDir();
        string path = dir.File("d.vhdx");
        VhdxDisk.Create(path, new VhdxCreateOptions { VirtualSize = 8 * VhdxTestKit.MiB, BlockSize = VhdxTestKit.MiB });
        byte[] image = File.ReadAllBytes(path);
        ident.CopyTo(image, 0);
        using VhdxDisk disk = VhdxTestKit.OpenMemory(image, path);
        Assert.Equal(8 * VhdxTestKit.MiB, disk.VirtualSize);
        image[3] ^= 0x20;
        Assert.Throws<Prism.Disks.Errors.VhdxFormatException>(() => VhdxTestKit.OpenMemory(image, path));
    }
}
