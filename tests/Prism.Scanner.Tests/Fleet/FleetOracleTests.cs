using Prism.Disks.IO;
using Prism.Disks.Vhdx;
using Prism.Scanner.Clamd;
using Prism.Scanner.Fleet;
using Prism.Scanner.Signatures;
using Prism.Scanner.Tests.Clamd;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Scanner.Tests.Fleet;

/// <summary>Fleet findings of guest-like clones against clamscan over each flattened clone and against --full.</summary>
[Collection(GoldenFleetCollection.Name)]
public sealed class FleetOracleTests(GoldenFleetFixture fixture, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task FleetFindingsEqualClamscanAllMatchAndFullScan()
    {
        fixture.Require();
        var engine = new BuiltinEngine(SignatureDatabase.Load(fixture.Databases));
        (FleetReport fleet, FleetReport full) = await fixture.ScanFleetAndFullAsync(engine);

        Assert.Empty(fleet.Parent.Errors);
        FleetDisks.AssertSame(fixture.ClamscanOf(fixture.GoldenPath), FleetDisks.Hits(fleet.Parent), "parent vs clamscan");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (HashSet<Hit> oracle in fixture.AssertClonesMatchOracle(fleet, full, fixture.ClamscanOf, output))
        {
            seen.UnionWith(oracle.Select(h => h.Signature));
        }

        output.WriteLine($"parent read {fleet.Parent.BytesRead:N0}; fleet {fleet.Seconds:0.00}s, full {full.Seconds:0.00}s");

        // The divergences did what they were built to do: every signature kind occurs somewhere, the clones differ.
        Assert.Equal(["Prism.Fleet.Ads", "Prism.Fleet.Eicar", "Prism.Fleet.Md5", "Prism.Fleet.Plain", "Prism.Fleet.Sha256", "Prism.Fleet.Straddle", "Prism.Fleet.Wild"],
            seen.Order(StringComparer.Ordinal));
        HashSet<Hit> golden = fixture.ClamscanOf(fixture.GoldenPath);
        foreach ((string name, string path) in fixture.Clones)
        {
            Assert.True(name == "untouched" == fixture.ClamscanOf(path).SetEquals(golden), $"{name}: clamscan sees {(name == "untouched" ? "a change" : "no change")}");
        }

        // A named stream on a directory is scanned like any other.
        Assert.Contains(fixture.ClamscanOf(fixture.Clones.Single(c => c.Name == "ads").Path), h => h.Path == "/rename" && h.Stream == "dirstream");

        // The middle of a chain can be the parent: the grandchild against the clone it was made from.
        string added = fixture.Clones.Single(c => c.Name == "added").Path;
        string grandchild = fixture.Clones.Single(c => c.Name == "grandchild").Path;
        FleetReport sub = await new FleetScanner(engine).ScanAsync(added, [grandchild]);
        FleetDisks.AssertSame(fixture.ClamscanOf(added), FleetDisks.Hits(sub.Parent), "added as parent vs clamscan");
        FleetDisks.AssertSame(fixture.ClamscanOf(grandchild), FleetDisks.Hits(sub.Clones[0]), "grandchild below added vs clamscan");
        Assert.True(sub.Clones[0].DivergentBytes < fleet.Clones[fixture.Clones.FindIndex(c => c.Name == "grandchild")].DivergentBytes);

        // The untouched clone reads (almost) nothing of file content: it inherits the parent's verdicts.
        DiskReport untouched = fleet.Clones[fixture.Clones.FindIndex(c => c.Name == "untouched")];
        Assert.Equal(0, untouched.StreamsScanned);
        Assert.Equal(0, untouched.DivergentBytes);
    }

    /// <summary>
    /// Raw space (the MBR gap) holds a signature twice; the clone overwrites the first occurrence only. The engine names
    /// each signature once (first match), so the fleet scan must still find the second occurrence the parent never
    /// reported. Expected: clamscan over the clone's raw region, and --full.
    /// </summary>
    [SkippableFact]
    public async Task RawSpaceRescanFindsALaterOccurrenceOfADestroyedParentMatch()
    {
        fixture.Require();
        using var dir = new TempDir();
        string parent = dir.File("parent.vhdx");
        File.Copy(fixture.GoldenPath, parent);
        FleetDisks.WriteRaw(parent, 64 << 10, fixture.Plain);
        FleetDisks.WriteRaw(parent, 768 << 10, fixture.Plain);
        string clone = dir.File("clone.vhdx");
        VhdxDisk.CreateDifferencing(clone, parent);
        byte[] noise = new byte[4096];
        new Random(5).NextBytes(noise);
        FleetDisks.WriteRaw(clone, 64 << 10, noise);

        // Bounded body signatures only: the scanner may rescan just windows around the clone's raw writes.
        var engine = new BuiltinEngine(SignatureDatabase.Load(fixture.Databases.Where(d => d.EndsWith(".ndb", StringComparison.Ordinal)).ToArray()));
        FleetReport fleet = await new FleetScanner(engine).ScanAsync(parent, [clone]);
        FleetReport full = await new FleetScanner(engine, new FleetScanOptions { Full = true }).ScanAsync(parent, [clone]);

        string rawRegion = dir.File("mbr-gap.bin");
        using (VhdxDisk flat = VhdxDisk.Open(clone))
        {
            byte[] gap = new byte[FleetDisks.PartitionStart];
            flat.ReadExactly(gap, 0);
            File.WriteAllBytes(rawRegion, gap);
        }

        SortedSet<string> expected = Signatures.ClamscanOracle.Scan([.. fixture.Databases.Where(d => d.EndsWith(".ndb", StringComparison.Ordinal))], [rawRegion])[rawRegion];
        Assert.Contains("Prism.Fleet.Plain", expected);
        Assert.Equal(expected, full.Clones[0].Findings.Where(f => f.Path.StartsWith("$raw", StringComparison.Ordinal)).Select(f => f.Signature).Order(StringComparer.Ordinal));
        Assert.Equal(expected, fleet.Clones[0].Findings.Where(f => f.Path.StartsWith("$raw", StringComparison.Ordinal)).Select(f => f.Signature).Order(StringComparer.Ordinal));
        FleetDisks.AssertSame(FleetDisks.Hits(full.Clones[0]), FleetDisks.Hits(fleet.Clones[0]), "fleet vs --full");
    }

    /// <summary>
    /// clamd refuses streams longer than its StreamMaxLength (4 MiB in the fixture). A 32 MiB raw unit (allocated
    /// space no partition claims) must become an error of that disk, not abort the fleet; small raw units and the
    /// clones are still scanned, and fleet equals --full.
    /// </summary>
    [SkippableFact]
    public async Task ClamdRefusingAnOversizedRawUnitIsReportedNotFatal()
    {
        fixture.Require();
        using var clamd = new ClamdFixture(fixture.DatabaseDirectory);
        clamd.Require();
        using var dir = new TempDir();
        string parent = dir.File("raw-parent.vhdx");
        VhdxDisk.Create(parent, new VhdxCreateOptions { VirtualSize = 128L << 20 });
        byte[] sector = new byte[4096];
        new Random(9).NextBytes(sector);
        FleetDisks.WriteRaw(parent, 8 << 20, sector);
        string clone = dir.File("raw-clone.vhdx");
        VhdxDisk.CreateDifferencing(clone, parent);
        byte[] infected = new byte[4096];
        fixture.Eicar.CopyTo(infected, 512);
        FleetDisks.WriteRaw(clone, 100L << 20, infected);

        var client = new ClamdClient(ClamdEndpoint.Parse(clamd.SocketPath));
        var engine = new ClamdEngine(client, await client.GetVersionAsync());
        FleetReport fleet = await new FleetScanner(engine).ScanAsync(parent, [clone]);
        FleetReport full = await new FleetScanner(engine, new FleetScanOptions { Full = true }).ScanAsync(parent, [clone]);
        Assert.Contains(fleet.Parent.Errors, e => e.Contains("$raw@0x0", StringComparison.Ordinal));
        Assert.Contains(fleet.Clones[0].Errors, e => e.Contains("$raw@0x0", StringComparison.Ordinal));
        Assert.Equal(full.Clones[0].Errors, fleet.Clones[0].Errors);
        Assert.Contains(fleet.Clones[0].Findings, f => f.Path == $"$raw@0x{100L << 20:X}" && f.Signature.StartsWith("Prism.Fleet.Eicar", StringComparison.Ordinal));
        FleetDisks.AssertSame(FleetDisks.Hits(full.Clones[0]), FleetDisks.Hits(fleet.Clones[0]), "fleet vs --full");
    }
}
