using Prism.Disks.IO;
using Prism.Disks.Ntfs;
using Prism.Testing;

namespace Prism.Disks.Tests.Ntfs;

public sealed class SectorMapTests
{
    [SkippableTheory]
    [InlineData(512)]
    [InlineData(4096)]
    [InlineData(65536)]
    public void OverwritingAFilesRanges_ChangesOnlyThatFile(int clusterSize)
    {
        using var dir = new TempDir();
        string image = ClusterSizeTests.BuildVolume(dir, clusterSize, 512, out _);
        Dictionary<string, byte[]> before;
        NtfsFileEntry target;
        NtfsFileExtents extents;
        using (var source = new FileDiskSource(image))
        {
            NtfsVolume volume = NtfsVolume.Open(source, image);
            before = volume.Enumerate().Where(e => !e.IsDirectory).ToDictionary(e => e.Path, e => NtfsImages.NtfsCat(image, e.Path));
            target = volume.Enumerate().Where(e => !e.IsDirectory && !e.Streams[0].IsResident).OrderByDescending(e => e.Size).First();
            extents = volume.GetExtents(target);
        }

        Assert.NotEmpty(extents.Streams[0].Ranges);
        string copy = dir.File("marked.img");
        File.Copy(image, copy);
        using (FileStream f = RawFile.OpenForPatch(copy))
        {
            foreach (ByteRange r in extents.Streams[0].Ranges)
            {
                f.Position = r.Offset;
                f.Write(Enumerable.Repeat((byte)0xA5, (int)r.Length).ToArray());
            }
        }

        foreach ((string path, byte[] original) in before)
        {
            byte[] now = NtfsImages.NtfsCat(copy, path);
            if (path == target.Path)
            {
                Assert.Equal(original.Length, now.Length);
                Assert.True(now.All(b => b == 0xA5), "the marked file must read as the marker through ntfscat");
            }
            else
            {
                Assert.True(original.AsSpan().SequenceEqual(now), $"{path} changed although only {target.Path} was overwritten");
            }
        }
    }

    [SkippableFact]
    public void ZeroingAFilesMftRecord_RemovesOnlyThatFile()
    {
        using var dir = new TempDir();
        string image = ClusterSizeTests.BuildVolume(dir, 4096, 512, out _);
        var oracle = NtfsImages.NtfsLsListing(image);
        NtfsFileExtents extents;
        NtfsFileEntry target;
        using (var source = new FileDiskSource(image))
        {
            NtfsVolume volume = NtfsVolume.Open(source, image);
            target = volume.Find("/file-6-1000000.bin")!;
            extents = volume.GetExtents(target);
        }

        byte[] bytes = File.ReadAllBytes(image);
        Assert.Single(extents.MftRecords);
        Assert.Equal(1024, extents.MftRecords[0].Length);
        bytes.AsSpan((int)extents.MftRecords[0].Offset, (int)extents.MftRecords[0].Length).Clear();
        string copy = dir.File("norecord.img");
        File.WriteAllBytes(copy, bytes);
        // ntfsls stops a directory at the first unreadable entry, so check every other file by name with ntfscat.
        Assert.DoesNotContain(target.Path, NtfsImages.NtfsLsListing(copy).Keys);
        oracle.Remove(target.Path);
        foreach (string path in oracle.Keys)
        {
            Assert.True(NtfsImages.NtfsCat(image, path).AsSpan().SequenceEqual(NtfsImages.NtfsCat(copy, path)), path);
        }

        // Prism reports the now-corrupt record and skips it.
        var errors = new List<NtfsEnumerationError>();
        string[] prism = [.. NtfsVolume.Open(new MemoryDiskSource(bytes)).Enumerate(onError: errors.Add).Select(e => e.Path)];
        Assert.Equal(oracle.Keys.Order(StringComparer.Ordinal), prism.Order(StringComparer.Ordinal));
        NtfsEnumerationError error = Assert.Single(errors);
        Assert.Equal(target.RecordNumber, error.RecordNumber);
        Assert.IsType<Errors.NtfsFormatException>(error.Exception);
    }

    [SkippableFact]
    public void ResidentStreamRange_HoldsTheValueInsideTheRecord()
    {
        using var dir = new TempDir();
        string image = ClusterSizeTests.BuildVolume(dir, 4096, 512, out _);
        byte[] bytes = File.ReadAllBytes(image);
        NtfsVolume volume = NtfsVolume.Open(new MemoryDiskSource(bytes), image, diskOffset: 0);
        NtfsFileEntry resident = volume.Find("/file-2-600.bin")!;
        Assert.True(resident.Streams[0].IsResident);
        NtfsFileExtents extents = volume.GetExtents(resident);
        ByteRange range = Assert.Single(extents.Streams[0].Ranges);
        ByteRange record = Assert.Single(extents.MftRecords);
        Assert.True(range.Offset >= record.Offset && range.End <= record.End);
        byte[] expected = NtfsImages.NtfsCat(image, resident.Path);
        byte[] onDisk = bytes.AsSpan((int)range.Offset, (int)range.Length).ToArray();

        // The last two bytes of each 512-byte stride hold the update sequence number on disk, not file data.
        for (int i = 0; i < expected.Length; i++)
        {
            if ((range.Offset + i - record.Offset) % 512 is not (510 or 511))
            {
                Assert.Equal(expected[i], onDisk[i]);
            }
        }
    }
}
