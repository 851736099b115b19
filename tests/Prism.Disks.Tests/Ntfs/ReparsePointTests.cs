using System.Buffers.Binary;
using Prism.Disks.IO;
using Prism.Disks.Ntfs;
using Prism.Testing;

namespace Prism.Disks.Tests.Ntfs;

public sealed class ReparsePointTests
{
    private const string Script = """
import os, struct, sys
m = sys.argv[1]
os.makedirs(m + '/rp/dir/inner')
open(m + '/rp/dir/inner/hidden.txt', 'w').write('behind a reparse point')
open(m + '/rp/file.bin', 'wb').write(b'payload')
def tag(p, t, payload):
    os.setxattr(p, 'system.ntfs_reparse_data', struct.pack('<IHH', t, len(payload), 0) + payload)
    print(os.getxattr(p, 'system.ntfs_reparse_data').hex())
tag(m + '/rp/file.bin', 0x80000099, b'custom reparse payload!!')
tag(m + '/rp/dir', 0x8000009A, b'directory reparse data')
""";

    [SkippableFact]
    public void ReparsePoints_AreReportedWithTheirTagAndNotFollowed()
    {
        using var dir = new TempDir();
        string image = NtfsImages.Create(dir, "reparse.img", 16L * 1024 * 1024, 4096);
        string[] blobs;
        using (NtfsImages.Mount mount = NtfsImages.MountImage(dir, image, readOnly: false))
        {
            blobs = NtfsImages.RunPython(Script, mount.Path).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }

        uint fileTag = BinaryPrimitives.ReadUInt32LittleEndian(Convert.FromHexString(blobs[0]));
        uint dirTag = BinaryPrimitives.ReadUInt32LittleEndian(Convert.FromHexString(blobs[1]));
        var oracle = NtfsImages.NtfsLsListing(image);
        using var source = new FileDiskSource(image);
        NtfsVolume volume = NtfsVolume.Open(source, image);
        var entries = volume.Enumerate().ToDictionary(e => e.Path, StringComparer.Ordinal);
        Assert.Equal(fileTag, entries["/rp/file.bin"].ReparseTag);
        Assert.Equal(dirTag, entries["/rp/dir"].ReparseTag);
        Assert.True(entries["/rp/dir"].Attributes.HasFlag(NtfsFileAttributes.ReparsePoint));
        Assert.Null(entries["/rp"].ReparseTag);

        // Neither ntfsls nor Prism descends into the reparse directory.
        Assert.Equal(oracle.Keys.Order(StringComparer.Ordinal), entries.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(oracle["/rp/dir"].Record, entries["/rp/dir"].RecordNumber);

        // Its children stay reachable by explicit listing and lookup.
        Assert.Equal(["inner"], volume.Enumerate("/rp/dir", recursive: false).Select(e => e.Name));
        NtfsFileEntry hidden = volume.Find("/rp/dir/inner/hidden.txt")!;
        Assert.Equal(NtfsImages.NtfsCat(image, hidden.Path), RichVolumeTests.ReadAll(volume.OpenStream(hidden)));
    }
}
