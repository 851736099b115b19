using Prism.Disks.IO;
using Prism.Disks.Ntfs;
using Prism.Testing;

namespace Prism.Disks.Tests.Ntfs;

/// <summary>
/// A volume whose $MFT is so fragmented (hundreds of runs) that its $DATA spills into extension records through an
/// $ATTRIBUTE_LIST in record 0: fill with small non-resident files, delete every other one, then create resident
/// files until full so every $MFT extension lands in a hole.
/// </summary>
public sealed class MftAttributeListTests
{
    private const string Script = """
import os, sys
m = sys.argv[1]
os.makedirs(m + '/fill')
i = 0
try:
    while True:
        with open(m + '/fill/%05d' % i, 'wb') as f: f.write(bytes([i % 251]) * 800)
        i += 1
except OSError:
    pass
for j in range(0, i, 2): os.remove(m + '/fill/%05d' % j)
k = 0
try:
    while True:
        with open(m + '/fill/r%05d' % k, 'wb') as f: f.write(b'r%d' % k)
        k += 1
except OSError:
    pass
""";

    [SkippableFact]
    public void FragmentedMftWithAttributeList_ListsAndReadsLikeNtfsls()
    {
        using var dir = new TempDir();
        string image = NtfsImages.Create(dir, "mftlist.img", 16L * 1024 * 1024, 512);
        using (NtfsImages.Mount mount = NtfsImages.MountImage(dir, image, readOnly: false))
        {
            NtfsImages.RunPython(Script, mount.Path);
        }

        string info = Oracle.Run(Oracle.Require("ntfsinfo", "ntfs-3g"), ["-v", "-i", "0", image]).StdOut;
        Skip.IfNot(info.Contains("$ATTRIBUTE_LIST", StringComparison.Ordinal) || Oracle.Required, "ntfs-3g did not give $MFT an attribute list");
        Assert.Contains("$ATTRIBUTE_LIST", info, StringComparison.Ordinal);

        var oracle = NtfsImages.NtfsLsListing(image);
        using var source = new FileDiskSource(image);
        NtfsVolume volume = NtfsVolume.Open(source, image);
        var errors = new List<NtfsEnumerationError>();
        var prism = volume.Enumerate(onError: errors.Add).ToDictionary(e => e.Path, StringComparer.Ordinal);
        Assert.Empty(errors);
        Assert.Equal(oracle.Keys.Order(StringComparer.Ordinal), prism.Keys.Order(StringComparer.Ordinal));
        foreach ((string path, (long record, long size, _)) in oracle)
        {
            Assert.Equal(record, prism[path].RecordNumber);
            Assert.Equal(size, prism[path].Size);
        }

        // Records far into the fragmented $MFT read right: the highest-numbered files, checked with ntfscat.
        foreach (NtfsFileEntry e in prism.Values.Where(e => !e.IsDirectory).OrderByDescending(e => e.RecordNumber).Take(15))
        {
            Assert.Equal(NtfsImages.NtfsCat(image, e.Path), RichVolumeTests.ReadAll(volume.OpenStream(e)));
        }

        NtfsFileEntry mft = volume.Enumerate(includeSystemFiles: true, recursive: false).Single(e => e.Name == "$MFT");
        Assert.True(volume.GetExtents(mft).MftRecords.Count > 1, "$MFT should own extension records");
    }
}
