using Prism.Disks.Guest;
using Prism.Disks.IO;
using Prism.Disks.Ntfs;
using Prism.Disks.Tests.Ntfs;
using Prism.Testing;

namespace Prism.Disks.Tests.Guest;

/// <summary>NTFS through <see cref="IGuestVolume"/>: paths, MFT records and sizes as find(1) over ntfs-3g sees them; streams as NtfsVolume reads them.</summary>
public sealed class GuestNtfsVolumeTests(RichVolumeFixture fixture) : IClassFixture<RichVolumeFixture>
{
    [SkippableFact]
    public void WalkMatchesTheMountedListing()
    {
        using var source = new FileDiskSource(fixture.RequireImage());
        string blkid = Oracle.Require("blkid", "util-linux");
        Assert.Equal("ntfs", Oracle.Run(blkid, ["-p", "-o", "value", "-s", "TYPE", fixture.Image!]).StdOut.Trim());
        Assert.Equal(GuestFileSystem.Ntfs, GuestFileSystems.Detect(source));
        IGuestVolume volume = GuestFileSystems.Open(source, 0, source.Length, fixture.Image);
        Assert.Equal(GuestFileSystem.Ntfs, volume.FileSystem);
        var walked = new Dictionary<string, (long Id, bool IsDirectory, long Size)>(StringComparer.Ordinal);
        var errors = new List<GuestEnumerationError>();
        volume.Visit((in GuestFileView f) => walked.Add(f.Path.ToString(), (f.Id, f.IsDirectory, f.Size)), onError: errors.Add);
        Assert.Empty(errors);
        var oracle = fixture.Listing!;
        Assert.Equal(oracle.Keys.Order(StringComparer.Ordinal), walked.Keys.Order(StringComparer.Ordinal));
        foreach ((string path, (long record, long size, bool isDir)) in oracle)
        {
            Assert.True(walked[path] == (record, isDir, isDir ? walked[path].Size : size), $"{path}: {walked[path]} vs ntfs-3g ({record}, {isDir}, {size})");
        }

        // Named streams and content: through the abstraction exactly as through NtfsVolume.
        NtfsVolume native = NtfsVolume.Open(source, fixture.Image);
        int streams = 0;
        foreach (NtfsFileEntry e in native.Enumerate("/ads").Where(e => !e.IsDirectory))
        {
            GuestFileEntry g = volume.Find(e.Path)!;
            Assert.Equal(e.Streams.Select(s => (s.Name, s.Size)), g.Streams.Select(s => (s.Name, s.Size)));
            foreach (NtfsStreamInfo s in e.Streams)
            {
                byte[] a = new byte[s.Size];
                byte[] b = new byte[s.Size];
                native.OpenStream(e, s.Name).ReadExactly(a, 0);
                volume.OpenStream(g, s.Name).ReadExactly(b, 0);
                Assert.Equal(a, b);
                streams++;
            }

            GuestFileLayout layout = volume.GetLayout(g);
            Assert.Equal(native.GetExtents(e).MftRecords, layout.Metadata);
            Assert.Equal(e.Streams.Count, layout.Streams.Count);
        }

        Assert.True(streams > 2);
    }
}
