using Prism.Disks.IO;
using Prism.Disks.Ntfs;

namespace Prism.Disks.Tests.Ntfs;

public sealed class RichVolumeTests(RichVolumeFixture fixture) : IClassFixture<RichVolumeFixture>
{
    [SkippableFact]
    public void Enumerate_MatchesMountedListing()
    {
        using var source = new FileDiskSource(fixture.RequireImage());
        NtfsVolume volume = NtfsVolume.Open(source, fixture.Image);
        var errors = new List<NtfsEnumerationError>();
        var prism = volume.Enumerate(onError: errors.Add).ToDictionary(e => e.Path, StringComparer.Ordinal);
        Assert.Empty(errors);
        var oracle = fixture.Listing!;
        Assert.Equal(oracle.Keys.Order(StringComparer.Ordinal), prism.Keys.Order(StringComparer.Ordinal));
        Assert.True(oracle.Count > 10_000);
        foreach ((string path, (long record, long size, bool isDir)) in oracle)
        {
            NtfsFileEntry e = prism[path];
            Assert.True(record == e.RecordNumber, $"{path}: record {e.RecordNumber}, ntfs-3g inode {record}");
            Assert.True(isDir == e.IsDirectory, $"{path}: directory flag");
            if (!isDir)
            {
                Assert.True(size == e.Size, $"{path}: size {e.Size}, ntfs-3g {size}");
            }
        }
    }

    [SkippableFact]
    public void ReadEveryFile_MatchesMountedContent()
    {
        using var source = new FileDiskSource(fixture.RequireImage());
        NtfsVolume volume = NtfsVolume.Open(source, fixture.Image);
        int files = 0;
        foreach (NtfsFileEntry e in volume.Enumerate().Where(e => !e.IsDirectory))
        {
            byte[] expected = File.ReadAllBytes(fixture.MountPoint!.Path + e.Path);
            byte[] actual = ReadAll(volume.OpenStream(e));
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"{e.Path}: content differs from the ntfs-3g mount");
            files++;
        }

        Assert.True(files > 10_000);
    }

    [SkippableFact]
    public void AlternateDataStreams_MatchMountedStreams()
    {
        using var source = new FileDiskSource(fixture.RequireImage());
        NtfsVolume volume = NtfsVolume.Open(source, fixture.Image);
        NtfsFileEntry host = volume.Find("/ads/host.txt")!;
        Assert.Equal(["", "big", "small"], host.Streams.Select(s => s.Name).Order(StringComparer.Ordinal));
        foreach (NtfsStreamInfo s in host.Streams)
        {
            string mounted = fixture.MountPoint!.Path + host.Path + (s.Name.Length == 0 ? string.Empty : ":" + s.Name);
            byte[] expected = File.ReadAllBytes(mounted);
            Assert.Equal(expected.Length, s.Size);
            Assert.True(expected.AsSpan().SequenceEqual(ReadAll(volume.OpenStream(host, s.Name))), $"stream {s.Name}");
        }
    }

    [SkippableFact]
    public void CompressedAndSparseFiles_AreFlaggedAndReadLikeTheMount()
    {
        using var source = new FileDiskSource(fixture.RequireImage());
        NtfsVolume volume = NtfsVolume.Open(source, fixture.Image);
        NtfsFileEntry text = volume.Find("/compressed/text.txt")!;
        Assert.True(text.Streams[0].IsCompressed);
        Assert.True(volume.GetExtents(text).Streams[0].Ranges.Sum(r => r.Length) < text.Size / 2,
            "a compressible file should occupy fewer clusters than its size");
        NtfsFileEntry sparse = volume.Find("/ads/sparse.bin")!;
        Assert.True(sparse.Streams[0].IsSparse);
        long allocated = volume.GetExtents(sparse).Streams[0].Ranges.Sum(r => r.Length);
        Assert.True(allocated < sparse.Size / 4, "sparse runs must not appear in the sector map");
        foreach (NtfsFileEntry e in new[] { text, sparse, volume.Find("/compressed/holes.bin")!, volume.Find("/compressed/mixed.bin")! })
        {
            Assert.True(File.ReadAllBytes(fixture.MountPoint!.Path + e.Path).AsSpan().SequenceEqual(ReadAll(volume.OpenStream(e))), e.Path);
        }
    }

    [SkippableFact]
    public void HardLinks_AppearUnderEveryParentWithOneRecord()
    {
        using var source = new FileDiskSource(fixture.RequireImage());
        NtfsVolume volume = NtfsVolume.Open(source, fixture.Image);
        var oracle = fixture.Listing!;
        long record = oracle["/links/a/original.txt"].Record;
        string[] expected = [.. oracle.Where(kv => kv.Value.Record == record).Select(kv => kv.Key).Order(StringComparer.Ordinal)];
        Assert.Equal(3, expected.Length);
        string[] actual = [.. volume.Enumerate().Where(e => e.RecordNumber == record).Select(e => e.Path).Order(StringComparer.Ordinal)];
        Assert.Equal(expected, actual);
    }

    [SkippableFact]
    public void Find_IsCaseInsensitiveThroughUpCase()
    {
        using var source = new FileDiskSource(fixture.RequireImage());
        NtfsVolume volume = NtfsVolume.Open(source, fixture.Image);
        Assert.True(volume.UpCaseFromVolume);
        foreach ((string path, (long record, _, _)) in fixture.Listing!.Where((_, i) => i % 97 == 0))
        {
            NtfsFileEntry? upper = volume.Find(path.ToUpperInvariant());
            Assert.True(upper is not null, $"{path.ToUpperInvariant()} not found");
            Assert.Equal(record, upper.RecordNumber);
            Assert.Equal(path, upper.Path);
        }

        Assert.Null(volume.Find("/unicode/does-not-exist.txt"));
    }

    [SkippableFact]
    public void ListOneDirectory_MatchesMount()
    {
        using var source = new FileDiskSource(fixture.RequireImage());
        NtfsVolume volume = NtfsVolume.Open(source, fixture.Image);
        string[] expected = [.. Directory.EnumerateFileSystemEntries(fixture.MountPoint!.Path + "/many/d03").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        string[] actual = [.. volume.Enumerate("/MANY/D03", recursive: false).Select(e => e.Name).Order(StringComparer.Ordinal)];
        Assert.Equal(expected, actual);
    }

    [SkippableFact]
    public void PathsAndStreamNames_MatchFsntfsinfoHierarchy()
    {
        string image = fixture.RequireImage();
        string output = Prism.Testing.Oracle.Run(Prism.Testing.Oracle.Require("fsntfsinfo", "libfsntfs-utils"), ["-H", image]).StdOut;
        string[] expected = [.. output.Split('\n')
            .Where(l => l.StartsWith('\\') && !l.StartsWith("\\$", StringComparison.Ordinal) && IsBmpOnly(l))
            .Select(l => l.Replace('\\', '/'))
            .Order(StringComparer.Ordinal)];
        using var source = new FileDiskSource(image);
        NtfsVolume volume = NtfsVolume.Open(source, image);
        string[] actual = [.. volume.Enumerate()
            .SelectMany(e => e.Streams.Where(s => s.Name.Length > 0).Select(s => e.Path + ":" + s.Name).Prepend(e.Path))
            .Where(IsBmpOnly)
            .Order(StringComparer.Ordinal)];
        Assert.Equal(expected, actual);
    }

    // fsntfsinfo 20200921 mis-decodes UTF-16 surrogate pairs (the ntfs-3g mount agrees with Prism on those names).
    private static bool IsBmpOnly(string s) => !s.Any(char.IsSurrogate);

    internal static byte[] ReadAll(IDiskSource source)
    {
        byte[] data = new byte[source.Length];
        source.ReadExactly(data, 0);
        return data;
    }
}
