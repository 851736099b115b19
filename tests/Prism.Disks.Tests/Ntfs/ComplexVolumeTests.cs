using System.Text.RegularExpressions;
using Prism.Disks.IO;
using Prism.Disks.Ntfs;
using Prism.Testing;

namespace Prism.Disks.Tests.Ntfs;

public sealed partial class ComplexVolumeTests(ComplexVolumeFixture fixture) : IClassFixture<ComplexVolumeFixture>
{
    [SkippableFact]
    public void ListingAndContent_MatchNtfslsAndNtfscat()
    {
        string image = fixture.RequireImage();
        using var source = new FileDiskSource(image);
        ClusterSizeTests.AssertMatchesOracles(NtfsVolume.Open(source, image), image);
    }

    [SkippableFact]
    public void FragmentedFile_WithAttributeList_UsesTheSameRecordsAsNtfsinfo()
    {
        string image = fixture.RequireImage();
        using var source = new FileDiskSource(image);
        NtfsVolume volume = NtfsVolume.Open(source, image);
        NtfsFileEntry frag = volume.Find("/fragmented.bin")!;
        string info = Oracle.Run(Oracle.Require("ntfsinfo", "ntfs-3g"), ["-v", "-i", frag.RecordNumber.ToString(System.Globalization.CultureInfo.InvariantCulture), image]).StdOut;
        Assert.Contains("$ATTRIBUTE_LIST", info, StringComparison.Ordinal);
        int oracleRecords = FromRecord().Matches(info).Select(m => m.Groups[1].Value).Distinct().Count();
        NtfsFileExtents extents = volume.GetExtents(frag);
        Assert.True(oracleRecords > 1);
        Assert.Equal(oracleRecords, extents.MftRecords.Count);
        Match runs = TotalRuns().Match(info);
        Assert.True(runs.Success);
        Assert.True(extents.Streams[0].Ranges.Count > 100, "the file should be heavily fragmented");
        Assert.True(NtfsImages.NtfsCat(image, frag.Path).AsSpan().SequenceEqual(RichVolumeTests.ReadAll(volume.OpenStream(frag))));
    }

    [SkippableFact]
    public void MftItself_IsFragmented_AndEveryRecordLocationIsAFileRecord()
    {
        string image = fixture.RequireImage();
        string info = Oracle.Run(Oracle.Require("ntfsinfo", "ntfs-3g"), ["-v", "-i", "0", image]).StdOut;
        Match runs = TotalRuns().Match(info);
        Assert.True(runs.Success && int.Parse(runs.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 1, "$MFT should be fragmented");
        byte[] bytes = fixture.Bytes!;
        NtfsVolume volume = NtfsVolume.Open(new MemoryDiskSource(bytes), image);
        foreach (NtfsFileEntry e in volume.Enumerate())
        {
            // Records straddling two $MFT runs come as two ranges; joined in order they must be whole FILE records.
            byte[] joined = [.. volume.GetExtents(e).MftRecords.SelectMany(r => bytes.AsSpan((int)r.Offset, (int)r.Length).ToArray())];
            Assert.True(joined.Length > 0 && joined.Length % volume.MftRecordSize == 0, e.Path);
            for (int at = 0; at < joined.Length; at += volume.MftRecordSize)
            {
                Assert.True(joined.AsSpan(at, 4).SequenceEqual("FILE"u8), $"{e.Path}: record at {at} is not a FILE record");
            }
        }
    }

    [SkippableFact]
    public void RecordSequenceAndSizes_MatchFsntfsinfo()
    {
        string image = fixture.RequireImage();
        string fsntfsinfo = Oracle.Require("fsntfsinfo", "libfsntfs-utils");
        using var source = new FileDiskSource(image);
        NtfsVolume volume = NtfsVolume.Open(source, image);
        NtfsFileEntry[] sample = [.. volume.Enumerate().Where((_, i) => i % 11 == 0).Append(volume.Find("/fragmented.bin")!)
            .Append(volume.Find("/dir0/ads.txt")!).Append(volume.Find("/c/packed.txt")!)];
        foreach (NtfsFileEntry e in sample)
        {
            AssertMatchesFsntfsinfo(fsntfsinfo, image, e);
        }
    }

    /// <summary>fsntfsinfo -E of the entry's record reports the same file reference (record-sequence) and stream sizes.</summary>
    internal static void AssertMatchesFsntfsinfo(string fsntfsinfo, string image, NtfsFileEntry e)
    {
        string info = Oracle.Run(fsntfsinfo, ["-E", e.RecordNumber.ToString(System.Globalization.CultureInfo.InvariantCulture), image]).StdOut;
        Assert.Contains($"File reference\t\t\t: {e.RecordNumber}-{e.SequenceNumber}\n", info, StringComparison.Ordinal);
        if (!e.IsDirectory)
        {
            // One $DATA attribute block with a "Data size" per stream (continuation pieces carry none).
            long[] sizes = [.. info.Split("\nAttribute: ")
                .Where(block => DataType().IsMatch(block))
                .SelectMany(block => DataSize().Matches(block))
                .Select(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))];
            Assert.True(sizes.Order().SequenceEqual(e.Streams.Select(s => s.Size).Order()),
                $"{e.Path}: stream sizes {string.Join(",", e.Streams.Select(s => s.Size))}, fsntfsinfo {string.Join(",", sizes)}");
        }
    }

    [GeneratedRegex(@"^\tType\t+: \$DATA ", RegexOptions.Multiline)]
    private static partial Regex DataType();

    [GeneratedRegex(@"Data size\t+: (\d+) bytes")]
    private static partial Regex DataSize();

    [GeneratedRegex(@"from mft record (\d+)")]
    private static partial Regex FromRecord();

    [GeneratedRegex(@"Total runs: (\d+)")]
    private static partial Regex TotalRuns();
}
