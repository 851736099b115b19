using Prism.Scanner.Clamd;
using Prism.Scanner.Fleet;
using Prism.Scanner.Tests.Clamd;
using Prism.Scanner.Tests.Fleet;
using Prism.Scanner.Tests.Signatures;
using Prism.Testing;

namespace Prism.Cli.Tests.Scan;

/// <summary><c>prism scan</c> with the verdict store and with <c>--engine clamd</c>, over the scanner tests' fleet.</summary>
[Collection(GoldenFleetCollection.Name)]
public sealed class ScanStoreAndClamdCliTests(GoldenFleetFixture fixture)
{
    [SkippableFact]
    public void CliSecondRunWithStoreTakesTheParentFromIt()
    {
        fixture.Require();
        using var dir = new TempDir();
        string store = dir.File("cli.db");
        string sig = fixture.Databases.Single(d => d.EndsWith(".hsb", StringComparison.Ordinal));
        var docs = new List<System.Text.Json.JsonDocument>();
        try
        {
            for (int run = 0; run < 2; run++)
            {
                string json = dir.File($"run{run}.json");
                var stdout = new StringWriter();
                var stderr = new StringWriter();
                int exit = global::Prism.Cli.Program.Run(["scan", fixture.GoldenPath, .. fixture.ClonePaths, "--signatures", sig, "--store", store, "--json", json, "--quiet"], stdout, stderr);
                Assert.True(exit == 1, $"run {run}: exit {exit}: {stderr}{stdout}");
                docs.Add(System.Text.Json.JsonDocument.Parse(File.ReadAllText(json)));
            }

            System.Text.Json.JsonElement first = docs[0].RootElement, second = docs[1].RootElement;
            Assert.False(first.GetProperty("parent").GetProperty("cached").GetBoolean());
            Assert.True(second.GetProperty("parent").GetProperty("cached").GetBoolean());
            Assert.Equal(0, second.GetProperty("parent").GetProperty("bytesRead").GetInt64());
            int cached = 0;
            for (int i = 0; i < fixture.Clones.Count; i++)
            {
                System.Text.Json.JsonElement a = first.GetProperty("clones")[i], b = second.GetProperty("clones")[i];
                // Nothing changed between the runs: every clone, infected ones included, comes from the store unread.
                Assert.True(b.GetProperty("cached").GetBoolean());
                Assert.Equal(a.GetProperty("findings").GetArrayLength(), b.GetProperty("findings").GetArrayLength());
                Assert.Equal(0, b.GetProperty("bytesRead").GetInt64());
                cached++;
            }

            Assert.Equal(fixture.Clones.Count, cached);
        }
        finally
        {
            docs.ForEach(d => d.Dispose());
        }
    }

    [SkippableFact]
    public async Task ClamdEngineMatchesClamscanFirstMatch()
    {
        fixture.Require();
        using var clamd = new ClamdFixture(fixture.DatabaseDirectory);
        clamd.Require();
        var client = new ClamdClient(ClamdEndpoint.Parse(clamd.SocketPath));
        var engine = new ClamdEngine(client, await client.GetVersionAsync());
        (FleetReport fleet, FleetReport full) = await fixture.ScanFleetAndFullAsync(engine);
        Check("parent", fixture.ClamscanOf(fixture.GoldenPath), fleet.Parent);
        for (int i = 0; i < fixture.Clones.Count; i++)
        {
            HashSet<Hit> oracle = fixture.ClamscanOf(fixture.Clones[i].Path);
            Check(fixture.Clones[i].Name + " fleet", oracle, fleet.Clones[i]);
            Check(fixture.Clones[i].Name + " full", oracle, full.Clones[i]);
        }

        // The CLI with --engine clamd reports the same.
        using var dir = new TempDir();
        string json = dir.File("clamd.json");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = global::Prism.Cli.Program.Run(["scan", fixture.GoldenPath, .. fixture.ClonePaths, "--engine", "clamd", "--clamd", clamd.SocketPath, "--json", json, "--quiet"], stdout, stderr);
        Assert.True(exit == 1, $"exit {exit}: {stderr}{stdout}");
        using System.Text.Json.JsonDocument doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal("clamd", doc.RootElement.GetProperty("engine").GetString());
        for (int i = 0; i < fixture.Clones.Count; i++)
        {
            var cli = doc.RootElement.GetProperty("clones")[i].GetProperty("findings").EnumerateArray()
                .Select(f => new Hit(f.GetProperty("path").GetString()!, f.GetProperty("stream").ValueKind == System.Text.Json.JsonValueKind.Null ? null : f.GetProperty("stream").GetString(), f.GetProperty("signature").GetString()!));
            FleetDisks.AssertSame(FleetDisks.Hits(fleet.Clones[i]), cli, fixture.Clones[i].Name + " CLI --engine clamd vs API");
        }

        static void Check(string what, HashSet<Hit> allMatch, DiskReport report)
        {
            Assert.Empty(report.Errors);
            var infected = allMatch.Select(h => (h.Path, h.Stream)).ToHashSet();
            var reported = report.Findings.Select(f => (f.Path, f.Stream)).ToList();
            Assert.True(reported.Count == reported.Distinct().Count(), $"{what}: clamd reports one signature per stream");
            Assert.True(infected.SetEquals(reported), $"{what}: infected streams differ: clamscan [{string.Join(", ", infected)}] clamd [{string.Join(", ", reported)}]");
            foreach (Finding f in report.Findings)
            {
                Assert.Contains(new Hit(f.Path, f.Stream, f.Signature.Replace(".UNOFFICIAL", "", StringComparison.Ordinal)), allMatch);
            }
        }
    }
}
