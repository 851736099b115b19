using Npgsql;
using Prism.Fleet.Stores;
using Prism.Scanner.Fleet;
using Prism.Scanner.Tests.Fleet;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Cli.Tests.Scan;

/// <summary>The verdict store suite on the PostgreSQL adapter (a fresh database of a throwaway cluster per test), and the password kept out of its errors.</summary>
[Collection(GoldenFleetCollection.Name)]
public sealed class FleetStoreTestsPostgres(GoldenFleetFixture fixture, PostgresCluster cluster, ITestOutputHelper output)
    : VerdictStoreSuite(fixture, output), IClassFixture<PostgresCluster>
{
    /// <inheritdoc />
    protected override string NewStore(TempDir dir) => cluster.ConnectionString(cluster.NewDatabase());

    /// <inheritdoc />
    protected override IVerdictStore Open(string location)
    {
        IVerdictStore store = VerdictStores.Open(location);
        Assert.IsType<PostgresVerdictStore>(store);
        Assert.DoesNotContain(cluster.Password, store.Display, StringComparison.Ordinal);
        return store;
    }

    /// <inheritdoc />
    protected override void MarkNewer(string location)
    {
        using var c = new NpgsqlConnection(location + ";Pooling=false");
        c.Open();
        using var cmd = new NpgsqlCommand("UPDATE prism_verdict_schema SET version = 99;", c);
        Assert.Equal(1, cmd.ExecuteNonQuery());
    }

    [SkippableFact]
    public void UnreachableOrRefusingDatabaseIsAnErrorWithoutThePassword()
    {
        cluster.Require();
        string db = cluster.NewDatabase();
        string[] bad =
        [
            cluster.Uri(db).Replace(cluster.Password, cluster.Password + "x", StringComparison.Ordinal),
            cluster.ConnectionString(db + "_missing"),
            cluster.ConnectionString(db).Replace($"Port={cluster.Port}", "Port=1", StringComparison.Ordinal),
        ];
        foreach (string location in bad)
        {
            VerdictStoreException e = Assert.Throws<VerdictStoreException>(() => VerdictStores.Open(location));
            Output.WriteLine(e.Message);
            Assert.DoesNotContain(cluster.Password, e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(cluster.Password, e.StorePath, StringComparison.Ordinal);
            Assert.Contains("127.0.0.1", e.Message, StringComparison.Ordinal);
        }

        // And the CLI: --store with a password that the server refuses is exit 2, the password shown nowhere.
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = global::Prism.Cli.Program.Run(["scan", Fixture.GoldenPath, Fixture.ClonePaths[0], "--signatures", .. Fixture.Databases,
            "--store", bad[0], "--quiet"], stdout, stderr);
        Assert.Equal(2, exit);
        Assert.DoesNotContain(cluster.Password, stdout.ToString() + stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("verdict store", stderr.ToString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task ScanThroughTheCliWithAPostgresStoreReusesTheParentOnTheSecondRun()
    {
        cluster.Require();
        using var dir = new TempDir();
        string uri = cluster.Uri(cluster.NewDatabase());
        string json1 = dir.File("r1.json"), json2 = dir.File("r2.json");
        foreach (string json in new[] { json1, json2 })
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int exit = global::Prism.Cli.Program.Run(["scan", Fixture.GoldenPath, .. Fixture.ClonePaths, "--signatures", .. Fixture.Databases,
                "--store", uri, "--json-file", json, "--quiet"], stdout, stderr);
            Assert.True(exit is 0 or 1, $"exit {exit}: {stderr}");
            Assert.DoesNotContain(cluster.Password, stdout.ToString() + stderr.ToString() + await File.ReadAllTextAsync(json), StringComparison.Ordinal);
        }

        static bool ParentCached(string json)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
            System.Text.Json.JsonElement first = doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Array ? doc.RootElement[0] : doc.RootElement;
            return first.GetProperty("parent").GetProperty("cached").GetBoolean();
        }

        Assert.False(ParentCached(json1));
        Assert.True(ParentCached(json2));
    }
}
