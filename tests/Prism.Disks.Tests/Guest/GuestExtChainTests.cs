using System.Globalization;
using System.Security.Cryptography;
using Prism.Disks.Guest;
using Prism.Disks.IO;
using Prism.Disks.Tests.Ext4;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.Guest;

/// <summary>
/// The variant matrix (ext2, ext3, ext4; 1 and 4 KiB blocks; 64bit on and off; metadata_csum on and off; inline_data
/// and meta_bg; 128- and 256-byte inodes) as a partition of a GPT or MBR disk behind a 2-level VHDX chain, read through
/// <see cref="GuestDisk"/> and <see cref="IGuestVolume"/> only: every path with its inode and type as sleuthkit's
/// <c>fls -r -p</c> lists the bare image, every regular file's and symlink's size and every regular file's content as a
/// fuse2fs mount of the bare image reads it, the content of a sample of files as sleuthkit's <c>icat</c> extracts it, and
/// data extents that hold the file's bytes on the chained disk.
/// </summary>
[Collection(Ext4VolumesCollection.Name)]
public sealed class GuestExtChainTests(Ext4VolumesFixture fixture)
{
    public static TheoryData<string> VariantNames() => [.. Ext4VolumesFixture.Variants.Keys];

    [SkippableTheory]
    [MemberData(nameof(VariantNames))]
    public void ChainedPartition_ListsAndReadsAsFlsIcatAndFuse2fs(string variant)
    {
        Ext4VolumesFixture.Built built = fixture.Get(variant);
        Ext4VolumesFixture.Chained chained = fixture.GetChained(variant);
        string blkid = Oracle.Require("blkid", "util-linux");
        string icat = Oracle.Require("icat", "sleuthkit");

        using VhdxDisk disk = VhdxDisk.Open(chained.Vhdx);
        Assert.Equal(3, disk.Chain.Count);
        GuestDisk layout = GuestDisk.Open(disk, chained.Vhdx);
        Assert.Null(layout.TableProblem);
        GuestPartition partition = Assert.Single(layout.Partitions, p => p.Volume is not null);
        Assert.Equal(chained.Partition, partition.Number);
        Assert.Equal(chained.Offset, partition.Offset);
        IGuestVolume volume = partition.Volume!;
        Assert.Equal(chained.Offset, volume.DiskOffset);
        Assert.Equal(Oracle.Run(blkid, ["-p", "-o", "value", "-s", "TYPE", built.Image]).StdOut.Trim(), GuestFileSystems.DisplayName(volume.FileSystem));
        Assert.Contains(layout.Partitions, p => p.Volume is null && p.FileSystem == GuestFileSystem.Unknown);

        // Paths, inodes and types: fls.
        Dictionary<string, (long Id, GuestFileType Type, long Size)> walked = Ext4Images.WalkMatchingFls(volume, built.Fls);

        // Sizes and content: the fuse2fs manifest (sha256; first and last MiB of the 5 GiB file).
        int files = 0;
        foreach (string line in built.FuseManifest)
        {
            string[] f = line.Split('\t');
            (long id, GuestFileType type, long size) = walked[f[3]];
            Assert.True(f[0] == type.ToString(), $"{f[3]}: {type}, fuse2fs {f[0]}");
            if (f[0] is "File" or "Symlink")
            {
                Assert.True(long.Parse(f[1], CultureInfo.InvariantCulture) == size, $"{f[3]}: size {size}, fuse2fs {f[1]}");
            }

            if (f[0] == "File")
            {
                GuestFileEntry entry = volume.Find(f[3])!;
                Assert.Equal(id, entry.Id);
                Assert.True(f[2] == Ext4Images.Digest(volume.OpenStream(entry), size), $"{f[3]}: content differs from fuse2fs");
                files++;
            }
        }

        Assert.True(files > 300, $"only {files} files");

        // icat (whole files, holes as zeros) of every tenth regular file and /sparse.bin. Not of files larger than the volume
        // (/far.bin, /huge.bin): sleuthkit 4.11 refuses an extent whose logical block lies past the volume's block count
        // ("Invalid address in run (too large)") and stops its output at the volume's size; fuse2fs checked them above.
        string[] sample = [.. built.FuseManifest.Where(l => l.StartsWith("File\t", StringComparison.Ordinal)).Select(l => l.Split('\t')[3])
            .Where((p, i) => i % 10 == 0 || p == "/sparse.bin").Where(p => walked[p].Size < built.Length)];
        long[] inodes = [.. sample.Select(p => walked[p].Id)];
        string script = string.Join('\n', inodes.Select(i => $"{icat} '{built.Image}' {i} | sha256sum"));
        string[] theirs = [.. Oracle.Run("sh", ["-c", script]).StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0])];
        Assert.Equal(sample.Length, theirs.Length);
        for (int i = 0; i < sample.Length; i++)
        {
            GuestFileEntry entry = volume.Find(sample[i])!;
            Assert.True(theirs[i] == Ext4Images.Digest(volume.OpenStream(entry), entry.Size, long.MaxValue), $"{sample[i]}: content differs from icat");
        }

        // The layout's data extents hold the file's bytes on the chained disk; holes are marked.
        foreach (string path in (string[])["/sparse.bin", "/sizes/s200000.bin", "/far.bin"])
        {
            GuestFileEntry entry = volume.Find(path)!;
            GuestStreamLayout stream = Assert.Single(volume.GetLayout(entry).Streams);
            IDiskSource content = volume.OpenStream(entry);
            long at = 0;
            foreach (GuestExtent x in stream.Extents)
            {
                Assert.Equal(at, x.FileOffset);
                at += x.Length;
                if (x.Kind == GuestExtentKind.Data)
                {
                    byte[] expected = new byte[Math.Min(x.Length, 1 << 20)];
                    byte[] actual = new byte[expected.Length];
                    content.ReadExactly(expected, x.FileOffset);
                    disk.ReadExactly(actual, x.DiskOffset);
                    Assert.True(expected.AsSpan().SequenceEqual(actual), $"{path}: extent at {x.FileOffset} does not hold the file's bytes");
                    Assert.InRange(x.DiskOffset, chained.Offset, chained.Offset + built.Length - x.Length);
                }
            }

            Assert.Equal(entry.Size, at);
            if (path != "/sizes/s200000.bin")
            {
                Assert.Contains(stream.Extents, x => x.Kind == GuestExtentKind.Hole && x.DiskOffset == -1);
            }
        }
    }
}
