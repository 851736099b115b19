using System.Text.Json;
using Prism.Disks.Errors;
using Prism.Disks.Ntfs;
using Prism.Disks.Partitions;
using Prism.Disks.Tests.Partitions;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.Ntfs;

/// <summary>
/// NTFS volumes in GPT- and MBR-partitioned VHDX disks read through a 2-level differencing chain
/// (<see cref="PartitionedChainFixture"/>): partitions against partx, listings against ntfsls, every file and stream
/// against the ntfs-3g mount (a sample through ntfscat), records and sizes against fsntfsinfo, all on the final
/// partition cut out of the raw disk. (The CLI listing of the chain is checked in Prism.Cli.Tests.)
/// </summary>
public sealed class PartitionedChainTests(PartitionedChainFixture fixture) : IClassFixture<PartitionedChainFixture>
{
    public static TheoryData<string> Disks => [.. PartitionedChainFixture.DiskNames];

    [SkippableTheory]
    [MemberData(nameof(Disks))]
    public void PartitionTable_ThroughTheChain_MatchesPartx(string name)
    {
        PartitionedChainFixture.ChainDisk d = fixture.RequireDisk(name);
        var expected = PartitionTableTests.Partx(d.FinalRaw, d.SectorSize);
        using VhdxDisk disk = VhdxDisk.Open(d.Child2Path);
        Assert.Equal(d.SectorSize, disk.LogicalSectorSize);
        PartitionTable table = PartitionTable.Read(disk, disk.LogicalSectorSize);
        Assert.Equal(name.StartsWith("gpt", StringComparison.Ordinal) ? PartitionScheme.Gpt : PartitionScheme.Mbr, table.Scheme);
        Assert.Equal(d.SectorSize, table.SectorSize);
        PartitionTableTests.AssertSame([.. expected.Where(p => p.Type is not ("0xf" or "0x5"))], table);
        foreach (int number in d.NtfsPartitions.Keys)
        {
            Assert.True(NtfsVolume.IsNtfs(table.Partitions.Single(p => p.Number == number).Source), $"partition {number}");
        }

        Assert.Equal(name.Contains("mbr", StringComparison.Ordinal), table.Partitions.Any(p => p.IsLogical));

        // Without an explicit sector size the VHDX's own is used (an MBR carries none to probe).
        PartitionTable probed = PartitionTable.Read(disk);
        Assert.Equal(table.SectorSize, probed.SectorSize);
        Assert.Equal(table.Partitions.Select(p => (p.Number, p.Start, p.Length)), probed.Partitions.Select(p => (p.Number, p.Start, p.Length)));
    }

    [SkippableTheory]
    [MemberData(nameof(Disks))]
    public void Chain_EveryLayerHoldsPartOfEveryVolume_AndEachPrefixReadsOneState(string name)
    {
        PartitionedChainFixture.ChainDisk d = fixture.RequireDisk(name);
        using VhdxDisk disk = VhdxDisk.Open(d.Child2Path);
        Assert.Equal([d.Child2Path, d.Child1Path, d.BasePath], disk.Chain.Select(l => l.Path));
        Assert.All(disk.Chain, layer => Assert.True(layer.GetAllocatedBytes() > 0, $"{layer.Path} holds nothing"));
        Assert.All(d.BytesWritten, written => Assert.True(written > 0));

        IReadOnlyList<ChainRange> map = disk.GetChainMap();
        PartitionTable table = PartitionTable.Read(disk, disk.LogicalSectorSize);
        foreach (int number in d.NtfsPartitions.Keys)
        {
            Partition p = table.Partitions.Single(x => x.Number == number);
            Assert.Equal([0, 1, 2], LayersIn(map, p.Start, p.Length));
            NtfsVolume volume = NtfsVolume.Open(p);
            NtfsFileEntry mft = volume.Find("/$MFT")!;
            int[] mftLayers = [.. volume.GetExtents(mft).Streams[0].Ranges.SelectMany(r => LayersIn(map, r.Offset, r.Length)).Distinct().Order()];
            Assert.True(mftLayers.Length == 3, $"partition {number}: $MFT served by layers {string.Join(",", mftLayers)}, expected all three");
        }

        // base alone reads as state 0, base + child1 as state 1, the whole chain as state 2: every layer matters.
        Assert.Equal(3, d.StateHashes.Distinct(ByteArrayComparer.Instance).Count());
        Assert.Equal(d.StateHashes[2], PartitionedChainFixture.Hash(disk));
        using (VhdxDisk child1 = VhdxDisk.Open(d.Child1Path))
        {
            Assert.Equal(d.StateHashes[1], PartitionedChainFixture.Hash(child1));
        }

        using (VhdxDisk baseDisk = VhdxDisk.Open(d.BasePath))
        {
            Assert.Equal(d.StateHashes[0], PartitionedChainFixture.Hash(baseDisk));
        }

        // Skipping a layer is refused: child2's parent linkage names child1's data, not the base's.
        Assert.Throws<DiskChainException>(() => VhdxDisk.Open(d.Child2Path, new VhdxOpenOptions { ParentPath = d.BasePath }));
    }

    [SkippableTheory]
    [MemberData(nameof(Disks))]
    public void Listing_MatchesNtfslsOnTheFinalPartition(string name)
    {
        PartitionedChainFixture.ChainDisk d = fixture.RequireDisk(name);
        using VhdxDisk disk = VhdxDisk.Open(d.Child2Path);
        PartitionTable table = PartitionTable.Read(disk, disk.LogicalSectorSize);
        foreach ((int number, PartitionedChainFixture.VolumeHistory history) in d.NtfsPartitions)
        {
            NtfsVolume volume = NtfsVolume.Open(table.Partitions.Single(p => p.Number == number));
            Assert.Equal(history.ClusterSize, volume.ClusterSize);
            Assert.Equal(history.SectorSize, volume.BytesPerSector);
            var errors = new List<NtfsEnumerationError>();
            var prism = volume.Enumerate(onError: errors.Add).ToDictionary(e => e.Path, StringComparer.Ordinal);
            Assert.Empty(errors);
            var oracle = NtfsImages.NtfsLsListing(d.PartitionImages[number]);
            Assert.Equal(oracle.Keys.Order(StringComparer.Ordinal), prism.Keys.Order(StringComparer.Ordinal));
            Assert.True(oracle.Count(kv => !kv.Value.IsDirectory) > history.MinFiles, $"partition {number}: {oracle.Count} entries");
            foreach ((string path, (long record, long size, bool isDir)) in oracle)
            {
                NtfsFileEntry e = prism[path];
                Assert.True(record == e.RecordNumber, $"{path}: record {e.RecordNumber}, ntfsls {record}");
                Assert.True(isDir == e.IsDirectory, $"{path}: directory flag");
                if (!isDir)
                {
                    Assert.True(size == e.Size, $"{path}: size {e.Size}, ntfsls {size}");
                }
            }

            // The edits of the last layer are visible.
            Assert.Contains("/late-ntfscp.bin", prism.Keys);
            Assert.Contains(prism.Keys, p => p.EndsWith(".renamed", StringComparison.Ordinal));
            Assert.Contains(prism.Values, e => e.Streams.Any(s => s.Name == "late"));
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Disks))]
    public void EveryFileAndStream_MatchesTheMount_AndASampleMatchesNtfscat(string name)
    {
        PartitionedChainFixture.ChainDisk d = fixture.RequireDisk(name);
        using VhdxDisk disk = VhdxDisk.Open(d.Child2Path);
        PartitionTable table = PartitionTable.Read(disk, disk.LogicalSectorSize);
        using var dir = new TempDir();
        foreach ((int number, PartitionedChainFixture.VolumeHistory history) in d.NtfsPartitions)
        {
            string image = d.PartitionImages[number];
            NtfsVolume volume = NtfsVolume.Open(table.Partitions.Single(p => p.Number == number));
            // ntfscat refuses a mounted image: the mount gets its own copy.
            string copy = dir.File($"partition{number}.img");
            File.Copy(image, copy);
            using NtfsImages.Mount mount = NtfsImages.MountImage(dir, copy, readOnly: true);
            int files = 0;
            int sampled = 0;
            foreach (NtfsFileEntry e in volume.Enumerate().Where(e => !e.IsDirectory))
            {
                bool sample = files++ % 250 == 0 || e.Streams.Count > 1 || e.Streams.Any(s => s.IsCompressed || s.IsSparse);
                foreach (NtfsStreamInfo s in e.Streams)
                {
                    byte[] actual = RichVolumeTests.ReadAll(volume.OpenStream(e, s.Name));
                    string mounted = mount.Path + e.Path + (s.Name.Length == 0 ? string.Empty : ":" + s.Name);
                    Assert.True(File.ReadAllBytes(mounted).AsSpan().SequenceEqual(actual), $"partition {number} {e.Path}:{s.Name} differs from the mount");
                    if (sample)
                    {
                        Assert.True(NtfsImages.NtfsCat(image, e.Path, s.Name).AsSpan().SequenceEqual(actual), $"partition {number} {e.Path}:{s.Name} differs from ntfscat");
                        sampled++;
                    }
                }
            }

            Assert.True(files > history.MinFiles, $"partition {number}: {files} files");
            Assert.True(sampled > 10, $"partition {number}: {sampled} streams through ntfscat");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Disks))]
    public void RecordsAndStreamSizes_MatchFsntfsinfo(string name)
    {
        PartitionedChainFixture.ChainDisk d = fixture.RequireDisk(name);
        string fsntfsinfo = Oracle.Require("fsntfsinfo", "libfsntfs-utils");
        using VhdxDisk disk = VhdxDisk.Open(d.Child2Path);
        PartitionTable table = PartitionTable.Read(disk, disk.LogicalSectorSize);
        foreach (int number in d.NtfsPartitions.Keys)
        {
            NtfsVolume volume = NtfsVolume.Open(table.Partitions.Single(p => p.Number == number));
            NtfsFileEntry[] sample = [.. volume.Enumerate()
                .Where((e, i) => i % 211 == 0 || e.Streams.Count > 1 || e.Path is "/fragmented.bin" or "/late-ntfscp.bin")];
            Assert.True(sample.Length > 10);
            foreach (NtfsFileEntry e in sample)
            {
                ComplexVolumeTests.AssertMatchesFsntfsinfo(fsntfsinfo, d.PartitionImages[number], e);
            }
        }
    }

    private static string Describe(NtfsFileEntry e) =>
        $"{e.Path}|{e.RecordNumber}|{e.IsDirectory}|{e.Size}|{string.Join(";", e.Streams.Select(s => s.Name + "=" + s.Size))}";

    private static string Describe(JsonElement i) =>
        $"{i.GetProperty("path").GetString()}|{i.GetProperty("mftRecord").GetInt64()}|{i.GetProperty("isDirectory").GetBoolean()}|"
        + $"{i.GetProperty("size").GetInt64()}|"
        + string.Join(";", i.GetProperty("streams").EnumerateArray().Select(s => s.GetProperty("name").GetString() + "=" + s.GetProperty("size").GetInt64()));

    // The layers (0 = child2, 1 = child1, 2 = base) serving any byte of [offset, offset + length).
    private static int[] LayersIn(IReadOnlyList<ChainRange> map, long offset, long length) =>
        [.. map.Where(r => r.Offset < offset + length && r.End > offset).Select(r => r.Layer).Distinct().Order()];

    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>
    {
        public static readonly ByteArrayComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => obj.Length == 0 ? 0 : obj[0];
    }
}
