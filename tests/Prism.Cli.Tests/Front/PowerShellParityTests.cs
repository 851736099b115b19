using System.Text;
using System.Text.Json.Nodes;
using Prism.Disks.Vhdx;
using Prism.Provisioner.Catalog;
using Prism.Testing;

namespace Prism.Cli.Tests.Front;

/// <summary>
/// <c>prism scan --json</c> and <c>Invoke-PrismFleetScan | ConvertTo-Json</c> (real pwsh 7.6, the built module) emit the
/// same report for the same fleet, field names apart (camelCase vs PascalCase) and wall-clock seconds; and
/// <c>-Catalog</c> runs the nightly job <c>--catalog</c> runs, recording the run in the catalog.
/// </summary>
public sealed class PowerShellParityTests : IDisposable
{
    private static readonly byte[] s_marker = Encoding.ASCII.GetBytes("PRISM-PARITY-MARKER-51c0e2");
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public void ScanJson_EqualsInvokePrismFleetScan_ForAnExplicitFleet()
    {
        RequirePwsh();
        (string parent, string clean, string infected, string sig) = Fleet();
        string json = _dir.File("cli.json");
        Assert.Equal(1, Program.Run(["scan", parent, clean, infected, "--signatures", sig, "--json", json, "--quiet"], TextWriter.Null, TextWriter.Null));

        string ps = Pwsh($"Invoke-PrismFleetScan -Parent '{parent}' -Clone '{clean}','{infected}' -Signatures '{sig}' | ConvertTo-Json -Depth 10");

        JsonNode cli = Normalize(JsonNode.Parse(File.ReadAllText(json)))!;
        JsonNode pwsh = Normalize(JsonNode.Parse(ps))!;
        Assert.Equal(cli.ToJsonString(), pwsh.ToJsonString());
        Assert.Equal("Prism.Parity.Marker", cli["clones"]![1]!["findings"]![0]!["signature"]!.GetValue<string>());
    }

    [SkippableFact]
    public void InvokePrismFleetScanCatalog_RunsTheNightlyJobOfScanCatalog()
    {
        RequirePwsh();
        (string parent, _, _, string sig) = Fleet();
        string catalog = _dir.File("catalog.db");
        Assert.Equal(0, Program.Run(["golden", "add", parent, "--name", "web", "--catalog", catalog], TextWriter.Null, TextWriter.Null));
        Assert.Equal(0, Program.Run(["clone", "new", "web", "web-1", "web-2", "--catalog", catalog], TextWriter.Null, TextWriter.Null));
        byte[] block = new byte[64 * 1024];
        s_marker.CopyTo(block, 1000);
        using (VhdxDisk d = VhdxDisk.Open(_dir.File("web-2.vhdx"), new VhdxOpenOptions { Writable = true }))
        {
            d.Write(block, 4L << 20);
            d.Flush();
        }

        string cliReports = _dir.File("cli-reports");
        string psReports = _dir.File("ps-reports");
        Assert.Equal(1, Program.Run(["scan", "--catalog", catalog, "--signatures", sig, "--report-dir", cliReports, "--quiet"], TextWriter.Null, TextWriter.Null));

        string ps = Pwsh($"Invoke-PrismFleetScan -Catalog '{catalog}' -Signatures '{sig}' -ReportDirectory '{psReports}' | ConvertTo-Json -Depth 10");

        string cliReport = Assert.Single(Directory.GetFiles(cliReports, "prism-scan-*.json"));
        string psReport = Assert.Single(Directory.GetFiles(psReports, "prism-scan-*.json"));
        JsonNode cli = Normalize(JsonNode.Parse(File.ReadAllText(cliReport)))!;
        Assert.Equal(cli.ToJsonString(), Normalize(JsonNode.Parse(ps))!.ToJsonString());
        Assert.Equal(cli.ToJsonString(), Normalize(JsonNode.Parse(File.ReadAllText(psReport)))!.ToJsonString());
        using PrismCatalog c = PrismCatalog.Open(catalog);
        IReadOnlyList<ScanRun> runs = c.ScanRuns();
        Assert.Equal(2, runs.Count);
        Assert.All(runs, r => Assert.Equal((2, 1), (r.Clones, r.Findings)));
    }

    private (string Parent, string Clean, string Infected, string Signatures) Fleet()
    {
        string parent = _dir.File("parent.vhdx");
        VhdxDisk.Create(parent, new VhdxCreateOptions { VirtualSize = 16L << 20, BlockSize = 1 << 20 });
        VhdxDisk.CreateDifferencing(_dir.File("clean.vhdx"), parent);
        VhdxDisk.CreateDifferencing(_dir.File("infected.vhdx"), parent);
        byte[] block = new byte[64 * 1024];
        s_marker.CopyTo(block, 1000);
        using (VhdxDisk d = VhdxDisk.Open(_dir.File("infected.vhdx"), new VhdxOpenOptions { Writable = true }))
        {
            d.Write(block, 4L << 20);
            d.Flush();
        }

        string sig = _dir.File("parity.ndb");
        File.WriteAllText(sig, $"Prism.Parity.Marker:0:*:{Convert.ToHexStringLower(s_marker)}\n");
        return (parent, _dir.File("clean.vhdx"), _dir.File("infected.vhdx"), sig);
    }

    /// <summary>camelCase names; wall-clock seconds set to 0 (they differ between any two runs).</summary>
    private static JsonNode? Normalize(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.Select(kv => KeyValuePair.Create(char.ToLowerInvariant(kv.Key[0]) + kv.Key[1..],
            kv.Key is "seconds" or "Seconds" ? JsonValue.Create(0) : Normalize(kv.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Normalize)]),
        null => null,
        _ => node.DeepClone(),
    };

    private static void RequirePwsh() => PwshModule.Require();

    private static string Pwsh(string script) => PwshModule.Run(script, "$ProgressPreference = 'SilentlyContinue'; ").StdOut;
}
