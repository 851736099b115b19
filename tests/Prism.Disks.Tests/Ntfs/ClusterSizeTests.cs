using Prism.Disks.IO;
using Prism.Disks.Ntfs;
using Prism.Testing;

namespace Prism.Disks.Tests.Ntfs;

/// <summary>Volumes of every cluster size (and 4 KiB sectors) filled with ntfscp, checked against ntfsls and ntfscat.</summary>
public sealed class ClusterSizeTests
{
    public static TheoryData<int, int> Geometries => new()
    {
        { 512, 512 }, { 1024, 512 }, { 2048, 512 }, { 4096, 512 }, { 8192, 512 }, { 16384, 512 }, { 32768, 512 }, { 65536, 512 },
        { 4096, 4096 }, { 16384, 4096 }, { 65536, 4096 },
    };

    [SkippableTheory]
    [MemberData(nameof(Geometries))]
    public void ListingAndContent_MatchNtfslsAndNtfscat(int clusterSize, int sectorSize)
    {
        using var dir = new TempDir();
        string image = BuildVolume(dir, clusterSize, sectorSize, out string[] names);
        using var source = new FileDiskSource(image);
        NtfsVolume volume = NtfsVolume.Open(source, image);
        Assert.Equal(clusterSize, volume.ClusterSize);
        Assert.Equal(sectorSize, volume.BytesPerSector);
        AssertMatchesOracles(volume, image);
        Assert.Equal(names.Order(StringComparer.Ordinal), volume.Enumerate().Select(e => e.Name).Order(StringComparer.Ordinal));
    }

    [SkippableFact]
    public void DamagedPrimaryBootSector_UsesBackupAtLastSector()
    {
        using var dir = new TempDir();
        string image = BuildVolume(dir, 4096, 512, out _);
        var oracle = NtfsImages.NtfsLsListing(image);
        byte[] bytes = File.ReadAllBytes(image);
        bytes.AsSpan(0, 512).Clear();
        NtfsVolume volume = NtfsVolume.Open(new MemoryDiskSource(bytes), "damaged");
        Assert.True(volume.UsedBackupBootSector);
        Assert.Equal(oracle.Keys.Order(StringComparer.Ordinal), volume.Enumerate().Select(e => e.Path).Order(StringComparer.Ordinal));
    }

    [SkippableFact]
    public void NotNtfs_ThrowsNtfsFormatException()
    {
        byte[] zeros = new byte[1024 * 1024];
        var ex = Assert.Throws<Errors.NtfsFormatException>(() => NtfsVolume.Open(new MemoryDiskSource(zeros), "zeros"));
        Assert.Contains("0x0", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>mkntfs + ntfscp of files of assorted sizes (empty, resident, one cluster, many clusters).</summary>
    internal static string BuildVolume(TempDir dir, int clusterSize, int sectorSize, out string[] names) =>
        BuildVolume(dir, clusterSize >= 32768 ? 96L * 1024 * 1024 : 24L * 1024 * 1024, clusterSize, sectorSize, out names);

    internal static string BuildVolumeOfSize(TempDir dir, long size, int clusterSize) => BuildVolume(dir, size, clusterSize, 512, out _);

    internal static string BuildVolume(TempDir dir, long size, int clusterSize, int sectorSize, out string[] names)
    {
        string image = NtfsImages.Create(dir, $"c{clusterSize}-s{sectorSize}-{size}.img", size, clusterSize, sectorSize);
        var rnd = new Random(clusterSize + sectorSize);
        int[] sizes = [0, 1, 600, 4095, 4096, 70_001, 1_000_000, Math.Min(3 * 1024 * 1024 + 17, (int)(size / 4))];
        names = new string[sizes.Length];
        for (int i = 0; i < sizes.Length; i++)
        {
            byte[] data = new byte[sizes[i]];
            rnd.NextBytes(data);
            string host = dir.File($"host{i}");
            File.WriteAllBytes(host, data);
            names[i] = $"file-{i}-{sizes[i]}.bin";
            NtfsImages.Copy(image, host, names[i]);
        }

        return image;
    }

    internal static void AssertMatchesOracles(NtfsVolume volume, string image)
    {
        var oracle = NtfsImages.NtfsLsListing(image);
        var prism = volume.Enumerate().ToDictionary(e => e.Path, StringComparer.Ordinal);
        Assert.Equal(oracle.Keys.Order(StringComparer.Ordinal), prism.Keys.Order(StringComparer.Ordinal));
        foreach ((string path, (long record, long size, bool isDir)) in oracle)
        {
            NtfsFileEntry e = prism[path];
            Assert.Equal(record, e.RecordNumber);
            Assert.Equal(isDir, e.IsDirectory);
            if (!isDir)
            {
                Assert.Equal(size, e.Size);
                Assert.True(NtfsImages.NtfsCat(image, path).AsSpan().SequenceEqual(RichVolumeTests.ReadAll(volume.OpenStream(e))), path);
            }
        }
    }
}
