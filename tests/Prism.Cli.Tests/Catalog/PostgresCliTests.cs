using System.Diagnostics;
using Prism.Disks.Vhdx;
using Prism.Provisioner.Catalog;
using Prism.Provisioner.Cloning;
using Prism.Provisioner.Tests.Catalog;
using Prism.Provisioner.Tests.Cloning;
using Prism.Testing;

namespace Prism.Cli.Tests.Catalog;

/// <summary>The xunit collection of this assembly whose classes share one PostgreSQL cluster.</summary>
[CollectionDefinition(Name)]
public sealed class CliPostgresCollection : ICollectionFixture<PostgresCluster>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "PostgreSQL cluster (CLI)";
}

/// <summary>The real <c>prism</c> processes on one PostgreSQL catalog, as hosts of a fleet would use it.</summary>
[Collection(CliPostgresCollection.Name)]
public sealed class PostgresCliTests(PostgresCluster cluster)
{
    [SkippableFact]
    public async Task ThreeHostsCreatingTwoHundredClonesEachShareNoNameAndTheCatalogVerifiesClean()
    {
        cluster.Require();
        using var f = new ProvisionerFixture(new PostgresBackend(cluster));
        GoldenImage g = f.MakeGolden("base", 8 * ProvisionerFixture.MiB);
        string uri = cluster.Uri(f.Catalog.Path[(f.Catalog.Path.LastIndexOf('/') + 1)..]);
        const int PerHost = 200;
        string[] hosts = ["host-a", "host-b", "host-c"];

        Process Start(string host)
        {
            string root = Path.Combine(f.Dir.Path, host);
            Directory.CreateDirectory(root);
            var psi = new ProcessStartInfo(CliRunner.Dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in new[] { CliRunner.PrismDll, "clone", "new", "base", "--count", $"{PerHost}", "--prefix", "vm", "--dir", root, "--quiet" })
            {
                psi.ArgumentList.Add(a);
            }

            psi.Environment["PRISM_CATALOG"] = uri;
            psi.Environment["PRISM_HOST"] = host;
            return Process.Start(psi)!;
        }

        var procs = hosts.Select(Start).ToList();
        var outputs = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        foreach (Process p in procs)
        {
            Task<string> err = p.StandardError.ReadToEndAsync();
            string o = await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync(timeout.Token);
            string e = await err;
            outputs.Add(o + e);
            Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}: {e}{o}");
            Assert.Contains($"{PerHost} clone(s) of base", o, StringComparison.Ordinal);
            p.Dispose();
        }

        IReadOnlyList<CloneRecord> clones = f.Catalog.Clones();
        Assert.Equal(3 * PerHost, clones.Count);
        Assert.Equal(Enumerable.Range(1, 3 * PerHost).Select(i => $"vm-{i:0000}"), clones.Select(c => c.Name));
        Assert.Equal(3 * PerHost, clones.Select(c => c.Path).Distinct().Count());
        foreach (string host in hosts)
        {
            // Each host's clones are in its own root and say so.
            Assert.Equal(PerHost, clones.Count(c => c.Host == host && Path.GetDirectoryName(c.Path) == Path.Combine(f.Dir.Path, host)));
        }

        // The three hosts registered themselves with their storage roots (besides this one, which added the golden).
        Assert.Equal([.. hosts, CatalogHost.Current], f.Catalog.Hosts().Select(h => h.Name).Order(StringComparer.Ordinal).Where(n => n != CatalogHost.Current).Append(CatalogHost.Current));
        Assert.All(f.Catalog.Hosts().Where(h => hosts.Contains(h.Name)), h => Assert.Equal([Path.Combine(f.Dir.Path, h.Name)], h.Roots));
        Assert.Equal([f.Dir.Path], f.Catalog.Hosts().Single(h => h.Name == CatalogHost.Current).Roots);
        using (VhdxDisk d = VhdxDisk.Open(clones[^1].Path))
        {
            Assert.Equal(g.DataWriteGuid, d.ParentLinkage);
        }

        ProcessResult verify = CliRunner.Run("catalog", "verify", "--catalog", uri);
        Assert.True(verify.ExitCode == 0, verify.StdErr + verify.StdOut);
        Assert.Contains("catalog and files agree", verify.StdOut, StringComparison.Ordinal);
        outputs.Add(verify.StdOut + verify.StdErr);
        Assert.All(outputs, o => Assert.DoesNotContain(cluster.Password, o, StringComparison.Ordinal));
    }

    [SkippableFact]
    public void ThePasswordIsInNoOutputOfTheCliEvenWhenTheServerIsDown()
    {
        cluster.Require();
        string db = cluster.NewDatabase();
        string conn = cluster.ConnectionString(db);
        var results = new List<ProcessResult>
        {
            CliRunner.Run("golden", "list", "--catalog", conn),
            CliRunner.Run("clone", "list", "--json", "--catalog", cluster.Uri(db)),
            CliRunner.Run("clone", "reset", "nope", "--catalog", conn),
        };
        Assert.Equal(0, results[0].ExitCode);
        Assert.Equal(0, results[1].ExitCode);
        Assert.NotEqual(0, results[2].ExitCode);
        Assert.Contains($"postgresql://{PostgresCluster.User}@127.0.0.1:{cluster.Port}/{db}", results[2].StdErr, StringComparison.Ordinal);

        string down = conn.Replace($"Port={cluster.Port}", "Port=1", StringComparison.Ordinal);
        ProcessResult unreachable = CliRunner.Run("clone", "new", "base", "c1", "--catalog", down);
        Assert.NotEqual(0, unreachable.ExitCode);
        Assert.Contains("cannot be used", unreachable.StdErr, StringComparison.Ordinal);
        results.Add(unreachable);
        ProcessResult badPassword = CliRunner.Run("golden", "list", "--catalog", conn.Replace(cluster.Password, cluster.Password + "x", StringComparison.Ordinal));
        Assert.NotEqual(0, badPassword.ExitCode);
        Assert.Contains("password authentication failed", badPassword.StdErr, StringComparison.Ordinal);
        results.Add(badPassword);
        Assert.All(results, r => Assert.DoesNotContain(cluster.Password, r.StdOut + r.StdErr, StringComparison.Ordinal));
    }

    [SkippableTheory]
    [InlineData("clone-new:durable", false)]
    [InlineData("clone-new:before-commit", false)]
    [InlineData("remove:moved", false)]
    [InlineData("remove:committed", true)]
    public void AProcessKilledMidOperationLosesItsSessionLeaseAndRepairFromAnotherProcessRecoversIt(string step, bool after)
    {
        cluster.Require();
        using var f = new ProvisionerFixture(new PostgresBackend(cluster));
        f.MakeGolden("base", 8 * ProvisionerFixture.MiB);
        f.Manager.NewClones("base", ["c0"]);
        string[] cli = step.StartsWith("clone-new", StringComparison.Ordinal) ? ["clone", "new", "base", "c1", "c2", "c3"] : ["clone", "remove", "c0"];
        ProcessResult r = Oracle.Run(CliRunner.Dotnet, [CliRunner.PrismDll, .. cli, "--catalog", f.CatalogLocation], check: false,
            environment: new Dictionary<string, string> { ["PRISM_TEST_KILL_AT"] = step });
        Assert.True(r.ExitCode == 137, $"{step}: prism exited {r.ExitCode}, not killed: {r.StdErr}{r.StdOut}");

        // The server ends the dead process's session (and its lease) once it sees the connection closed.
        IReadOnlyList<CatalogProblem> seen = [];
        for (int i = 0; i < 100 && seen.Count == 0; i++)
        {
            seen = f.Manager.Verify(false);
            if (seen.Count == 0)
            {
                Thread.Sleep(100);
            }
        }

        Assert.Equal("interrupted-operation", Assert.Single(seen).Kind);
        Assert.All(f.Manager.Verify(true), p => Assert.True(p.Repaired, $"{step}: {p.Kind} {p.Message}"));
        Assert.Empty(f.Manager.Verify(false));
        bool removed = after && cli[1] == "remove";
        Assert.Equal(removed ? [] : ["c0"], f.Catalog.Clones().Select(c => c.Name));
        Assert.Equal(!removed, File.Exists(f.File("c0.vhdx")));
        Assert.All(new[] { "c1", "c2", "c3" }, n => Assert.False(File.Exists(f.File(n + ".vhdx"))));
        Assert.DoesNotContain(Directory.EnumerateFiles(f.Dir.Path), p => p.EndsWith(".prism-tmp", StringComparison.Ordinal));
    }
}
