using System.Text.Json;
using Prism.Cli.Ntfs;
using Prism.Disks.Ntfs;
using Prism.Disks.Partitions;
using Prism.Disks.Tests.Ntfs;
using Prism.Disks.Vhdx;

namespace Prism.Cli.Tests.Disk;

/// <summary><c>prism ntfs ls --json</c> of a 2-level chain over GPT and MBR disks equals the library's listing.</summary>
public sealed class NtfsChainCliTests(PartitionedChainFixture fixture) : IClassFixture<PartitionedChainFixture>
{
    public static TheoryData<string> Disks => [.. PartitionedChainFixture.DiskNames];

    [SkippableTheory]
    [MemberData(nameof(Disks))]
    public void CliLsJson_OfTheChild_EqualsTheLibraryListing(string name)
    {
        PartitionedChainFixture.ChainDisk d = fixture.RequireDisk(name);
        using VhdxDisk disk = VhdxDisk.Open(d.Child2Path);
        PartitionTable table = PartitionTable.Read(disk, disk.LogicalSectorSize);
        foreach (int number in d.NtfsPartitions.Keys)
        {
            NtfsVolume volume = NtfsVolume.Open(table.Partitions.Single(p => p.Number == number));
            string[] expected = [.. volume.Enumerate().Select(Describe).Order(StringComparer.Ordinal)];
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int code = NtfsCommand.Run(["ls", d.Child2Path, "-r", "--json", "--partition", number.ToString(System.Globalization.CultureInfo.InvariantCulture)],
                Program.OpenDisk, stdout, stderr);
            Assert.True(code == 0, stderr.ToString());
            Assert.Empty(stderr.ToString());
            using JsonDocument doc = JsonDocument.Parse(stdout.ToString());
            string[] actual = [.. doc.RootElement.EnumerateArray().Select(Describe).Order(StringComparer.Ordinal)];
            Assert.Equal(expected, actual);
            if (d.NtfsPartitions.Count == 1)
            {
                // The only NTFS partition is found without --partition, silently.
                var implicitOut = new StringWriter();
                var implicitErr = new StringWriter();
                Assert.Equal(0, NtfsCommand.Run(["ls", d.Child2Path, "-r", "--json"], Program.OpenDisk, implicitOut, implicitErr));
                Assert.Empty(implicitErr.ToString());
                Assert.Equal(stdout.ToString(), implicitOut.ToString());
            }
        }
    }

    private static string Describe(NtfsFileEntry e) =>
        $"{e.Path}|{e.RecordNumber}|{e.IsDirectory}|{e.Size}|{string.Join(";", e.Streams.Select(s => s.Name + "=" + s.Size))}";

    private static string Describe(JsonElement i) =>
        $"{i.GetProperty("path").GetString()}|{i.GetProperty("mftRecord").GetInt64()}|{i.GetProperty("isDirectory").GetBoolean()}|"
        + $"{i.GetProperty("size").GetInt64()}|"
        + string.Join(";", i.GetProperty("streams").EnumerateArray().Select(s => s.GetProperty("name").GetString() + "=" + s.GetProperty("size").GetInt64()));
}
