using Prism.Cli.Ntfs;
using Prism.Disks.IO;
using Prism.Testing;

namespace Prism.Cli.Tests.Disk;

/// <summary><c>prism ntfs</c> on real images of the shared corpus.</summary>
public sealed class NtfsCorpusCliTests
{
    [SkippableFact]
    public void NtfsLs_Disk2VhdImageWithoutNtfs_Exit1NamingTheProblem()
    {
        using var dir = new TempDir();
        string qemu = Oracle.Require("qemu-img", "qemu-utils");
        string vhdx = Corpus.Unpack("vhdx/test-disk2vhd.vhdx.bz2", dir);
        string raw = dir.File("disk.raw");
        Oracle.Run(qemu, ["convert", "-O", "raw", vhdx, raw]);

        var stderr = new StringWriter();
        Assert.Equal(1, NtfsCommand.Run(["ls", raw], path => new FileDiskSource(path), TextWriter.Null, stderr));
        Assert.Contains("no NTFS partition", stderr.ToString(), StringComparison.Ordinal);
    }
}
