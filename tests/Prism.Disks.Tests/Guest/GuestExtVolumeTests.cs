using System.Security.Cryptography;
using Prism.Disks.Guest;
using Prism.Disks.IO;
using Prism.Disks.Tests.Ext4;
using Prism.Testing;

namespace Prism.Disks.Tests.Guest;

/// <summary>
/// ext2/3/4 through <see cref="IGuestVolume"/> only: the file system named as blkid names it, every path with its
/// inode and type as sleuthkit's fls lists them, every regular file's content as a fuse2fs mount reads it, and sector
/// maps whose data extents hold exactly the file's bytes.
/// </summary>
[Collection(Ext4VolumesCollection.Name)]
public sealed class GuestExtVolumeTests(Ext4VolumesFixture fixture)
{
    [SkippableTheory]
    [InlineData("ext2-1k")]
    [InlineData("ext3-4k")]
    [InlineData("ext4-4k")]
    [InlineData("ext4-inline-metabg")]
    [InlineData("ext4-1k-32bit-nocsum")]
    public void WalkAndContentMatchFlsAndFuse2fs(string variant)
    {
        Ext4VolumesFixture.Built built = fixture.Get(variant);
        string blkid = Oracle.Require("blkid", "util-linux");
        using var source = new FileDiskSource(built.Image);
        GuestFileSystem detected = GuestFileSystems.Detect(source);
        Assert.Equal(Oracle.Run(blkid, ["-p", "-o", "value", "-s", "TYPE", built.Image]).StdOut.Trim(), GuestFileSystems.DisplayName(detected));
        IGuestVolume volume = GuestFileSystems.Open(source, 0, source.Length, built.Image);
        Assert.Equal(detected, volume.FileSystem);

        Ext4Images.WalkMatchingFls(volume, built.Fls);

        // Regular files: content through OpenStream equals the fuse2fs mount's (the manifest's hash).
        int files = 0;
        foreach (string line in built.FuseManifest.Where(l => l.StartsWith("File\t", StringComparison.Ordinal)))
        {
            string[] f = line.Split('\t');
            GuestFileEntry entry = volume.Find(f[3]) ?? throw new Xunit.Sdk.XunitException($"{f[3]} not found");
            Assert.Equal(long.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture), entry.Size);
            Assert.Equal(GuestFileType.File, entry.Type);
            GuestStreamInfo stream = Assert.Single(entry.Streams);
            Assert.Equal(entry.Size, stream.Size);
            Assert.True(f[2] == Ext4Images.Digest(volume.OpenStream(entry), entry.Size), $"{f[3]}: content differs from fuse2fs");
            files++;
        }

        Assert.True(files > 300);
        Assert.Throws<FileNotFoundException>(() => volume.OpenStream(volume.Find("/hard2")!, "named"));
        Assert.Throws<NotSupportedException>(() => volume.OpenStream(volume.Find("/dev/fifo")!));
    }

    [SkippableFact]
    public void SectorMapsMarkHolesAndHoldTheFileBytes()
    {
        Ext4VolumesFixture.Built built = fixture.Get("ext4-4k");
        using var source = new FileDiskSource(built.Image);
        IGuestVolume volume = GuestFileSystems.Open(source, 0, source.Length);
        foreach (string path in (string[])["/sparse.bin", "/far.bin", "/sizes/s200000.bin", "/data/original.txt"])
        {
            GuestFileEntry entry = volume.Find(path)!;
            GuestFileLayout layout = volume.GetLayout(entry);
            Assert.Contains(layout.Metadata, m => m.Length == 256 || m.Length == 128);
            GuestStreamLayout s = Assert.Single(layout.Streams);
            long at = 0;
            IDiskSource content = volume.OpenStream(entry);
            foreach (GuestExtent e in s.Extents)
            {
                Assert.Equal(at, e.FileOffset);
                at += e.Length;
                byte[] expected = new byte[Math.Min(e.Length, 1 << 20)];
                content.ReadExactly(expected, e.FileOffset);
                byte[] actual = new byte[expected.Length];
                if (e.Kind is GuestExtentKind.Data or GuestExtentKind.Resident)
                {
                    source.ReadExactly(actual, e.DiskOffset);
                }
                else
                {
                    Assert.Equal(e.Kind == GuestExtentKind.Hole ? -1 : e.DiskOffset, e.DiskOffset);
                }

                Assert.True(expected.AsSpan().SequenceEqual(actual), $"{path}: extent at {e.FileOffset} ({e.Kind}) does not hold the file's bytes");
            }

            Assert.Equal(entry.Size, at);
            if (path != "/data/original.txt" && path != "/sizes/s200000.bin")
            {
                Assert.Contains(s.Extents, e => e.Kind == GuestExtentKind.Hole && e.DiskOffset == -1);
            }
        }

        // The walk's sector map agrees with the layout (disk offsets), and a directory's blocks count as its metadata.
        var fromWalk = new Dictionary<string, ByteRange[]>(StringComparer.Ordinal);
        var dirMetadata = new Dictionary<string, ByteRange[]>(StringComparer.Ordinal);
        volume.Visit((in GuestFileView f) =>
        {
            GuestSectorMap map = f.GetSectorMap();
            if (f.StreamCount == 1)
            {
                fromWalk[f.Path.ToString()] = map.StreamRanges(0).ToArray();
            }
            else if (f.IsDirectory)
            {
                dirMetadata[f.Path.ToString()] = map.Metadata.ToArray();
            }
        });
        foreach (string path in (string[])["/sparse.bin", "/far.bin", "/sizes/s200000.bin"])
        {
            GuestStreamLayout s = volume.GetLayout(volume.Find(path)!).Streams[0];
            Assert.Equal(s.Extents.Where(e => e.Kind is GuestExtentKind.Data or GuestExtentKind.Unwritten).Select(e => new ByteRange(e.DiskOffset, e.Length)), fromWalk[path]);
        }

        Assert.Equal(volume.GetLayout(volume.Find("/many")!).Metadata, dirMetadata["/many"]);
        Assert.True(dirMetadata["/many"].Length > 2, "a multi-block directory lists its blocks as metadata");
    }
}
