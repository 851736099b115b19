using Prism.Disks.Ext4;
using Prism.Disks.Guest;
using Prism.Disks.IO;

namespace Prism.Disks.Tests.Ext4;

/// <summary>Every variant of the shared tree lists and reads as fuse2fs and sleuthkit see it; sector maps as debugfs.</summary>
[Collection(Ext4VolumesCollection.Name)]
public sealed class Ext4VolumeTests(Ext4VolumesFixture fixture)
{
    public static TheoryData<string> VariantNames() => [.. Ext4VolumesFixture.Variants.Keys];

    private static (Ext4Volume Volume, FileDiskSource Source) Open(string image)
    {
        var source = new FileDiskSource(image);
        return (Ext4Volume.Open(source, 0, source.Length, image), source);
    }

    [SkippableTheory]
    [MemberData(nameof(VariantNames))]
    public void Walk_MatchesFuse2fsManifest(string variant)
    {
        Ext4VolumesFixture.Built built = fixture.Get(variant);
        (Ext4Volume volume, FileDiskSource source) = Open(built.Image);
        using (source)
        {
            var errors = new List<Ext4EnumerationError>();
            IReadOnlyList<Ext4FileEntry> entries = volume.Enumerate(onError: errors.Add);
            Assert.Empty(errors);
            string[] ours = Ext4Images.OurManifest(volume, entries);
            string[] missing = [.. built.FuseManifest.Except(ours)];
            string[] extra = [.. ours.Except(built.FuseManifest)];
            Assert.True(missing.Length == 0 && extra.Length == 0,
                $"missing:\n{Ext4Images.Describe(missing)}\nextra:\n{Ext4Images.Describe(extra)}");
            Assert.True(ours.Length > 370, $"only {ours.Length} paths");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(VariantNames))]
    public void Walk_MatchesFlsPathsInodesAndTypes(string variant)
    {
        Ext4VolumesFixture.Built built = fixture.Get(variant);
        (Ext4Volume volume, FileDiskSource source) = Open(built.Image);
        using (source)
        {
            var ours = new Dictionary<string, (uint, char)>(StringComparer.Ordinal);
            volume.Visit((in Ext4FileView f) => ours[f.Path.ToString()] = (f.Inode, Ext4Images.FlsLetter(f.Type)), onError: e => Assert.Fail(e.ToString()));
            string[] missing = [.. built.Fls.Where(kv => !ours.TryGetValue(kv.Key, out var v) || v != kv.Value).Select(kv => $"{kv.Key} {kv.Value}")];
            string[] extra = [.. ours.Where(kv => !built.Fls.ContainsKey(kv.Key)).Select(kv => kv.Key)];
            Assert.True(missing.Length == 0 && extra.Length == 0,
                $"differs from fls:\n{Ext4Images.Describe(missing)}\nextra:\n{Ext4Images.Describe(extra)}");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(VariantNames))]
    public void SectorMaps_MatchDebugfsBlocks_AndCoverTheSize(string variant)
    {
        Ext4VolumesFixture.Built built = fixture.Get(variant);
        (Ext4Volume volume, FileDiskSource source) = Open(built.Image);
        using (source)
        {
            var maps = new Dictionary<uint, IReadOnlyList<Ext4Extent>>();
            var mapping = new Dictionary<uint, IReadOnlyList<ByteRange>>();
            foreach (Ext4FileEntry e in volume.Enumerate())
            {
                IReadOnlyList<Ext4Extent> map = volume.GetSectorMap(e);
                mapping[e.Inode] = volume.GetMetadataBlocks(e);
                Assert.Equal(e.Size, map.Sum(x => x.Length));
                long at = 0;
                foreach (Ext4Extent x in map)
                {
                    Assert.Equal(at, x.FileOffset);
                    at = x.FileEnd;
                    Assert.True(x.Kind == Ext4ExtentKind.Hole ? x.VolumeOffset == -1 : x.VolumeOffset >= 0 && x.VolumeOffset + x.Length <= volume.Size);
                }

                if (e.Type is GuestFileType.File or GuestFileType.Directory || (e.Type == GuestFileType.Symlink && !map.Any(x => x.Kind == Ext4ExtentKind.Inline)))
                {
                    maps[e.Inode] = map;
                }
            }

            Dictionary<uint, long[]> debugfs = Ext4Images.DebugfsBlocks(built.Image, maps.Keys, fixture.Directory);
            int compared = 0;
            foreach ((uint inode, IReadOnlyList<Ext4Extent> map) in maps)
            {
                if (map.Any(x => x.Kind == Ext4ExtentKind.Inline))
                {
                    continue;
                }

                // debugfs lists the data blocks and the extent-tree or indirect blocks, in its own iteration order.
                long[] ours = [.. Ext4Images.MappedBlocks(map, volume.BlockSize).Concat(mapping[inode].Select(b => b.Offset / volume.BlockSize)).Order()];
                long[] theirs = [.. debugfs[inode].Order()];
                Assert.True(ours.SequenceEqual(theirs), $"inode {inode}: ours {string.Join(' ', ours.Take(20))} debugfs {string.Join(' ', theirs.Take(20))}");
                compared++;
            }

            Assert.True(compared > (variant.Contains("inline", StringComparison.Ordinal) ? 200 : 300), $"compared {compared} maps");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(VariantNames))]
    public void HardLinks_OneInodeSeveralPaths_AndSparseFilesHaveHoles(string variant)
    {
        Ext4VolumesFixture.Built built = fixture.Get(variant);
        (Ext4Volume volume, FileDiskSource source) = Open(built.Image);
        using (source)
        {
            Ext4FileEntry original = volume.Find("/data/original.txt")!;
            Ext4FileEntry hard1 = volume.Find("/links/hard1")!;
            Ext4FileEntry hard2 = volume.Find("/hard2")!;
            Assert.Equal(original.Inode, hard1.Inode);
            Assert.Equal(original.Inode, hard2.Inode);
            Assert.Equal(3, original.LinkCount);
            Assert.Equal(3, volume.Enumerate().Count(e => e.Inode == original.Inode));

            Ext4FileEntry huge = volume.Find("/huge.bin")!;
            Assert.Equal((5L << 30) + 12345 + 3000, huge.Size);
            IReadOnlyList<Ext4Extent> map = volume.GetSectorMap(huge);
            // mke2fs -d with inline_data writes the first block of a sparse file; the big hole is there in every variant.
            Assert.Contains(map, x => x.Kind == Ext4ExtentKind.Hole && x.Length >= 4L << 30);
            Assert.True(map.Where(x => x.Kind != Ext4ExtentKind.Hole).Sum(x => x.Length) < 3 * volume.BlockSize);
            byte[] zeros = new byte[4096];
            volume.OpenFile(huge).ReadExactly(zeros, 1L << 30);
            Assert.All(zeros, b => Assert.Equal(0, b));

            Ext4FileEntry slow = volume.Find("/links/slow")!;
            Assert.Equal("/" + new string('x', 299), volume.ReadSymlink(slow));
            Assert.Contains(volume.GetSectorMap(slow), x => x.Kind is Ext4ExtentKind.Data or Ext4ExtentKind.Inline);
            Ext4FileEntry fast = volume.Find("/links/fast")!;
            Assert.Equal(Ext4ExtentKind.Inline, Assert.Single(volume.GetSectorMap(fast)).Kind);

            Ext4FileEntry fifo = volume.Find("/dev/fifo")!;
            Assert.Equal(GuestFileType.Fifo, fifo.Type);
            Assert.Throws<NotSupportedException>(() => volume.OpenFile(fifo));
            Assert.Empty(volume.GetSectorMap(fifo));
        }
    }

    [SkippableTheory]
    [MemberData(nameof(VariantNames))]
    public void MetadataRanges_CoverEveryInodeRecordAndMappingBlock(string variant)
    {
        Ext4VolumesFixture.Built built = fixture.Get(variant);
        (Ext4Volume volume, FileDiskSource source) = Open(built.Image);
        using (source)
        {
            IReadOnlyList<Ext4MetadataRange> ranges = volume.MetadataRanges;
            Assert.Contains(ranges, r => r.Kind == Ext4MetadataKind.Superblock && r.Range.Offset == 1024);
            Assert.Contains(ranges, r => r.Kind == Ext4MetadataKind.GroupDescriptors);
            foreach (Ext4FileEntry e in volume.Enumerate())
            {
                Assert.Contains(ranges, r => r.Kind == Ext4MetadataKind.InodeTable && r.Range.Offset <= e.InodeRange.Offset && e.InodeRange.End <= r.Range.End);
                var inodes = volume.GetInodesIn(e.InodeRange);
                Assert.Equal((e.Inode, e.Inode), Assert.Single(inodes));
                foreach (ByteRange b in volume.GetMetadataBlocks(e))
                {
                    Assert.DoesNotContain(ranges, r => r.Range.Overlaps(b));
                }
            }
        }
    }

    [SkippableTheory]
    [MemberData(nameof(VariantNames))]
    public void Variant_ExercisesTheStructuresItIsMeantTo(string variant)
    {
        Ext4VolumesFixture.Built built = fixture.Get(variant);
        (Ext4Volume volume, FileDiskSource source) = Open(built.Image);
        using (source)
        {
            IReadOnlyList<Ext4FileEntry> all = volume.Enumerate();
            Ext4FileEntry many = volume.Find("/many")!;
            bool htree = (many.Record.Flags & Ext4Inode.IndexFlag) != 0;
            Ext4FileEntry huge = volume.Find("/huge.bin")!;
            const uint Incompat64 = 0x80, IncompatMetaBg = 0x10, IncompatInline = 0x8000;
            switch (variant)
            {
                case "ext2-1k":
                    Assert.Equal(128, volume.InodeSize);
                    Assert.All(all, e => Assert.False(e.Record.HasExtents));
                    Assert.False(htree);
                    // single, double and triple indirect blocks: at least one block of each level.
                    Assert.True(volume.GetMetadataBlocks(huge).Count >= 3);
                    Assert.True(volume.GetMetadataBlocks(volume.Find("/far.bin")!).Count >= 3);
                    Assert.DoesNotContain(volume.MetadataRanges, r => r.Kind == Ext4MetadataKind.Journal);
                    break;
                case "ext2-4k":
                    Assert.Equal(4096, volume.BlockSize);
                    Assert.All(all, e => Assert.False(e.Record.HasExtents));
                    Assert.True(htree); // ext2 with dir_index: e2fsck -D indexed it
                    Assert.NotEmpty(volume.GetMetadataBlocks(volume.Find("/far.bin")!));
                    Assert.DoesNotContain(volume.MetadataRanges, r => r.Kind == Ext4MetadataKind.Journal);
                    break;
                case "ext3-1k":
                    Assert.Equal(1024, volume.BlockSize);
                    Assert.All(all, e => Assert.False(e.Record.HasExtents));
                    Assert.True(htree);
                    Assert.True(volume.GetMetadataBlocks(huge).Count >= 3);
                    Assert.Contains(volume.MetadataRanges, r => r.Kind == Ext4MetadataKind.Journal);
                    break;
                case "ext4-4k-32bit-csum":
                    Assert.True(volume.HasMetadataChecksums);
                    Assert.Equal(0u, volume.IncompatibleFeatures & Incompat64);
                    Assert.Equal(4096, volume.BlockSize);
                    Assert.True(htree);
                    Assert.True(huge.Record.HasExtents);
                    break;
                case "ext3-4k":
                    Assert.All(all, e => Assert.False(e.Record.HasExtents));
                    Assert.True(htree);
                    Assert.Contains(volume.MetadataRanges, r => r.Kind == Ext4MetadataKind.Journal);
                    break;
                case "ext4-4k":
                    Assert.True(volume.HasMetadataChecksums);
                    Assert.NotEqual(0u, volume.IncompatibleFeatures & Incompat64);
                    Assert.True(htree);
                    Assert.True(huge.Record.HasExtents);
                    break;
                case "ext4-1k-32bit-nocsum":
                    Assert.False(volume.HasMetadataChecksums);
                    Assert.Equal(0u, volume.IncompatibleFeatures & Incompat64);
                    Assert.True(htree);
                    // 300 names in 1 KiB blocks: an extent tree deeper than the inode's four slots.
                    Assert.NotEmpty(volume.GetMetadataBlocks(many));
                    break;
                case "ext4-inline-metabg":
                    Assert.NotEqual(0u, volume.IncompatibleFeatures & (IncompatMetaBg | IncompatInline));
                    Assert.Contains(all, e => e.IsDirectory && e.Record.HasInlineData);
                    Assert.Contains(all, e => e.Type == GuestFileType.File && e.Size > 60 && volume.GetSectorMap(e).All(x => x.Kind == Ext4ExtentKind.Inline));
                    break;
                case "ext4-1k-csum-64bit":
                    Assert.True(volume.HasMetadataChecksums);
                    Assert.NotEqual(0u, volume.IncompatibleFeatures & Incompat64);
                    Assert.True(htree);
                    Assert.True(volume.GroupCount > 1);
                    break;
                default:
                    Assert.Fail($"unknown variant {variant}");
                    break;
            }
        }
    }
}
