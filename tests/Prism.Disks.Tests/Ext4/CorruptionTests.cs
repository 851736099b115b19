using System.Buffers.Binary;
using System.Diagnostics;
using Prism.Disks.Errors;
using Prism.Disks.Ext4;
using Prism.Disks.Guest;
using Prism.Disks.IO;

namespace Prism.Disks.Tests.Ext4;

/// <summary>
/// Damaged superblocks, group descriptors, inodes, extent blocks and directory blocks: a documented recovery (the backup
/// superblock) or a typed error naming the structure and its offset; seeded random mutations never crash or hang.
/// </summary>
[Collection(Ext4VolumesCollection.Name)]
public sealed class CorruptionTests(Ext4VolumesFixture fixture)
{
    private byte[] Bytes(string variant) => File.ReadAllBytes(fixture.Get(variant).Image);

    private static Ext4Volume Open(byte[] bytes) => Ext4Volume.Open(new MemoryDiskSource(bytes), "mem.img");

    [SkippableTheory]
    [InlineData("ext2-1k", false)]
    [InlineData("ext4-1k-csum-64bit", true)]
    public void DamagedPrimarySuperblock_BackupUsed_SameTree(string variant, bool viaChecksum)
    {
        Ext4VolumesFixture.Built built = fixture.Get(variant);
        byte[] bytes = Bytes(variant);
        if (viaChecksum)
        {
            bytes[1024 + 0x78] ^= 0x20; // s_volume_name: only the checksum notices
        }
        else
        {
            bytes[1024 + 0x38] = 0; // s_magic
        }

        Ext4Volume volume = Open(bytes);
        Assert.True(volume.UsedBackupSuperblock);
        string[] ours = Ext4Images.OurManifest(volume, volume.Enumerate(onError: e => Assert.Fail(e.ToString())));
        Assert.Equal(built.FuseManifest, ours);
    }

    [SkippableFact]
    public void NoUsableSuperblock_TypedErrorAtPrimaryOffset()
    {
        byte[] bytes = Bytes("ext2-1k");
        bytes[1024 + 0x38] = 0;
        long backup = (1 + 8192) * 1024L;
        bytes[backup + 0x38] = 0;
        var ex = Assert.Throws<Ext4FormatException>(() => Open(bytes));
        Assert.Equal(1024, ex.FileOffset);
        Assert.Contains("magic", ex.Message, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData("ext4-1k-csum-64bit")]   // metadata_csum: CRC-32C, 64-byte descriptors
    [InlineData("ext4-1k-32bit-nocsum")] // uninit_bg (gdt_csum): CRC-16, 32-byte descriptors
    public void GroupDescriptorChecksum_TypedErrorNamingGroupAndOffset(string variant)
    {
        byte[] bytes = Bytes(variant);
        Ext4Volume clean = Open(bytes);
        long gdt = clean.MetadataRanges.First(r => r.Kind == Ext4MetadataKind.GroupDescriptors).Range.Offset;
        int descriptor = clean.IncompatibleFeatures is var f && (f & 0x80) != 0 ? 64 : 32;
        long at = gdt + descriptor; // group 1
        bytes[at + 0x0C] ^= 0x01;   // bg_free_blocks_count_lo
        var ex = Assert.Throws<Ext4FormatException>(() => Open(bytes));
        Assert.Equal(1u, ex.Group);
        Assert.Equal(at, ex.FileOffset);
        Assert.Contains("checksum", ex.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void InodeChecksum_EveryPathOfTheInodeReported_OthersRead()
    {
        byte[] bytes = Bytes("ext4-4k");
        Ext4Volume clean = Open(bytes);
        Ext4FileEntry original = clean.Find("/data/original.txt")!;
        int total = clean.Enumerate().Count;
        bytes[original.InodeRange.Offset + 0x10] ^= 0x01; // i_mtime
        Ext4Volume volume = Open(bytes);
        var errors = new List<Ext4EnumerationError>();
        IReadOnlyList<Ext4FileEntry> entries = volume.Enumerate(onError: errors.Add);
        Assert.Equal(3, errors.Count);
        Assert.All(errors, e =>
        {
            var ex = Assert.IsType<Ext4FormatException>(e.Exception);
            Assert.Equal(original.Inode, ex.Inode);
            Assert.Equal(original.InodeRange.Offset, ex.FileOffset);
            Assert.Contains("checksum", ex.Message, StringComparison.Ordinal);
        });
        Assert.Equal(total - 3, entries.Count);
    }

    [SkippableTheory]
    [InlineData("ext2-1k", 0)]       // rec_len 0
    [InlineData("ext2-1k", 255)]     // name past the entry and the block
    [InlineData("ext4-4k", 0)]       // caught by the directory block checksum first
    public void BadDirectoryEntry_TypedErrorAtTheBlock(string variant, int value)
    {
        byte[] bytes = Bytes(variant);
        Ext4Volume clean = Open(bytes);
        Ext4FileEntry links = clean.Find("/links")!;
        long block = clean.GetSectorMap(links).First(x => x.Kind == Ext4ExtentKind.Data).VolumeOffset;
        // The entry after "." and "..": "." is 12 bytes, ".." 12 bytes.
        long entry = block + 24;
        if (value == 0)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan((int)entry + 4), 0);
        }
        else
        {
            bytes[entry + 6] = (byte)value;
        }

        Ext4Volume volume = Open(bytes);
        var errors = new List<Ext4EnumerationError>();
        volume.Enumerate(onError: errors.Add);
        Ext4EnumerationError error = Assert.Single(errors);
        Assert.Equal("/links", error.Path);
        var ex = Assert.IsType<Ext4FormatException>(error.Exception);
        Assert.Equal(links.Inode, ex.Inode);
        Assert.Equal(variant == "ext4-4k" ? block : entry, ex.FileOffset);
    }

    [SkippableTheory]
    [InlineData("depth")]
    [InlineData("entries")]
    [InlineData("overlap")]
    public void BadExtentBlock_TypedError(string damage)
    {
        byte[] bytes = Bytes("ext4-1k-32bit-nocsum");
        Ext4Volume clean = Open(bytes);
        Ext4FileEntry many = clean.Find("/many")!;
        ByteRange leaf = Assert.Single(clean.GetMetadataBlocks(many));
        int at = (int)leaf.Offset;
        switch (damage)
        {
            case "depth":
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(at + 6), 1); // same depth as the root: a loop
                break;
            case "entries":
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(at + 2), (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(at + 4)) + 1));
                break;
            default:
                Assert.True(BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(at + 2)) >= 2, "leaf with fewer than two extents");
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at + 24), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 12)));
                break;
        }

        var ex = Assert.Throws<Ext4FormatException>(() => Open(bytes).GetSectorMap(many));
        Assert.Equal(many.Inode, ex.Inode);
        Assert.InRange(ex.FileOffset!.Value, leaf.Offset, leaf.End - 1);
    }

    [SkippableTheory]
    [InlineData("ext2-1k", 1)]
    [InlineData("ext4-1k-32bit-nocsum", 2)]
    [InlineData("ext4-inline-metabg", 3)]
    [InlineData("ext3-4k", 4)]
    public void MutatedStructures_OnlyTypedErrors(string variant, int seed)
    {
        byte[] bytes = Bytes(variant);
        List<ByteRange> targets = Structures(bytes);
        string[] paths = [.. Open(bytes).Enumerate().Select(e => e.Path)];
        var rnd = new Random(seed);
        var total = Stopwatch.StartNew();
        int typed = 0;
        const int Iterations = 300;
        for (int iteration = 0; iteration < Iterations; iteration++)
        {
            ByteRange target = targets[rnd.Next(targets.Count)];
            var saved = new List<(long At, byte Value)>();
            int edits = rnd.Next(1, 4);
            for (int k = 0; k < edits; k++)
            {
                long at = target.Offset + (rnd.Next((int)Math.Min(target.Length, int.MaxValue)) & ~3);
                int width = rnd.Next(3) switch { 0 => 1, 1 => 2, _ => 4 };
                for (int b = 0; b < width && at + b < target.End; b++)
                {
                    saved.Add((at + b, bytes[at + b]));
                    bytes[at + b] = rnd.Next(4) switch { 0 => 0, 1 => 0xFF, _ => (byte)rnd.Next(256) };
                }
            }

            var one = Stopwatch.StartNew();
            try
            {
                typed += Exercise(bytes, paths);
            }
            catch (Exception ex) when (ex is DiskFormatException or NotSupportedException)
            {
                typed++;
            }
            catch (Exception ex)
            {
                Assert.Fail($"seed {seed} iteration {iteration} (structure {target}): untyped {ex.GetType().Name}: {ex}");
            }

            Assert.True(one.ElapsedMilliseconds < 5000, $"iteration {iteration} took {one.ElapsedMilliseconds} ms");
            for (int i = saved.Count - 1; i >= 0; i--)
            {
                bytes[saved[i].At] = saved[i].Value;
            }
        }

        Assert.True(typed > Iterations / 20, $"only {typed} reported errors in {Iterations} mutations");
        Assert.True(total.Elapsed < TimeSpan.FromSeconds(60), $"fuzzing took {total.Elapsed}");
    }

    // Superblock, descriptor blocks, every live inode record, mapping block and directory block, the journal superblock.
    private static List<ByteRange> Structures(byte[] bytes)
    {
        Ext4Volume volume = Open(bytes);
        var targets = new List<ByteRange> { new(1024, 1024) };
        targets.AddRange(volume.MetadataRanges.Where(r => r.Kind == Ext4MetadataKind.GroupDescriptors && r.Group == 0).Select(r => r.Range));
        ByteRange? journal = volume.MetadataRanges.FirstOrDefault(r => r.Kind == Ext4MetadataKind.Journal).Range;
        if (journal is { Length: > 0 } j)
        {
            targets.Add(new ByteRange(j.Offset, volume.BlockSize));
        }

        foreach (Ext4FileEntry e in volume.Enumerate())
        {
            targets.Add(e.InodeRange);
            targets.AddRange(volume.GetMetadataBlocks(e));
            if (e.IsDirectory)
            {
                targets.AddRange(volume.GetSectorMap(e).Where(x => x.Kind == Ext4ExtentKind.Data).Select(x => new ByteRange(x.VolumeOffset, x.Length)));
            }
        }

        return [.. targets.Distinct()];
    }

    // Opens, walks, maps and reads everything small, looks every path of the undamaged volume up (through the htree of
    // hashed directories); returns the number of reported (skipped) entries and failed lookups.
    private static int Exercise(byte[] bytes, string[] paths)
    {
        Ext4Volume volume = Open(bytes);
        int errors = 0;
        foreach (string path in paths)
        {
            try
            {
                _ = volume.Find(path);
            }
            catch (DiskFormatException)
            {
                errors++;
            }
        }

        byte[] buffer = new byte[1 << 20];
        foreach (Ext4FileEntry e in volume.Enumerate(onError: _ => errors++))
        {
            try
            {
                _ = volume.GetSectorMap(e);
                if (e.Type is GuestFileType.File or GuestFileType.Symlink && e.Size <= buffer.Length)
                {
                    volume.OpenFile(e).ReadExactly(buffer.AsSpan(0, (int)e.Size), 0);
                }
            }
            catch (DiskFormatException)
            {
                errors++;
            }
        }

        return errors;
    }
}
