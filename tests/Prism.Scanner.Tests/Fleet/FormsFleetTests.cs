using Prism.Scanner.Fleet;
using Prism.Scanner.Signatures;
using Prism.Scanner.Tests.Signatures;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Scanner.Tests.Fleet;

/// <summary>
/// The fleet invariant with every signature form (#13): on a golden of the clamscan comparison corpora and clones that
/// replace, add and delete their files, the fleet scan's findings equal the --full scan's and clamscan's over each
/// clone's mounted files, the unchanged clone inherits everything, and the forms do match (each corpus has findings).
/// </summary>
public sealed class FormsFleetTests(FormsFleetFixture fixture, ITestOutputHelper output) : IClassFixture<FormsFleetFixture>
{
    [SkippableFact]
    public async Task EveryForm_FleetEqualsFullAndClamscan()
    {
        fixture.Require();
        var engine = new BuiltinEngine(SignatureDatabase.Load(fixture.Databases));
        (FleetReport fleet, FleetReport full) = await fixture.ScanFleetAndFullAsync(engine);

        Assert.Empty(fleet.Parent.Errors);

        // Prism also scans the space no file system claims (here the MBR's first MiB, the same in every clone), where a
        // logical signature satisfied by absent subsignatures matches too: clamscan over those bytes as a file.
        HashSet<Hit> raw = RawOracle();
        HashSet<Hit> golden = [.. fixture.ClamscanOf(fixture.GoldenPath), .. raw];
        FleetDisks.AssertSame(golden, FleetDisks.Hits(fleet.Parent), "golden vs clamscan");
        output.WriteLine($"golden: {golden.Count} findings in {golden.Select(h => h.Path).Distinct().Count()} of {fixture.GoldenFiles.Count} files");
        foreach (string kind in fixture.GoldenFiles.Select(f => f.Split('/')[2]).Distinct())
        {
            Assert.True(golden.Any(h => h.Path.StartsWith($"/srv/{kind}/", StringComparison.Ordinal)), $"no finding in the {kind} corpus");
        }

        List<HashSet<Hit>> oracles = fixture.AssertClonesMatchOracle(fleet, full, path => [.. fixture.ClamscanOf(path), .. raw], output);
        DiskReport Clone(string name) => fleet.Clones[fixture.Clones.FindIndex(c => c.Name == name)];
        HashSet<Hit> Of(string name) => oracles[fixture.Clones.FindIndex(c => c.Name == name)];

        Assert.True(Of("untouched").SetEquals(golden));
        Assert.Equal(0, Clone("untouched").StreamsScanned);
        Assert.False(Of("replaced").SetEquals(golden));
        Assert.Contains(Of("added"), h => h.Path.StartsWith("/home/new/", StringComparison.Ordinal));
        Assert.True(Of("deleted").IsProperSubsetOf(golden));
    }

    /// <summary>clamscan over the golden's bytes before the partition, flattened by qemu-img, named as Prism names the region.</summary>
    private HashSet<Hit> RawOracle()
    {
        using var dir = new TempDir();
        string disk = dir.File("golden.raw");
        Oracle.Run(Oracle.Require("qemu-img", "qemu-utils"), ["convert", "-f", "vhdx", "-O", "raw", fixture.GoldenPath, disk]);
        string head = dir.File("head.bin");
        using (FileStream input = File.OpenRead(disk))
        {
            byte[] bytes = new byte[FleetDisks.PartitionStart];
            input.ReadExactly(bytes);
            File.WriteAllBytes(head, bytes);
        }

        return [.. ClamscanOracle.Scan(fixture.Databases, [head]).SelectMany(f => f.Value.Select(sig => new Hit("$raw@0x0", null, sig)))];
    }
}
