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
public sealed class PostgresCliTests(PostgresCluster cluster, Xunit.Abstractions.ITestOutputHelper output)
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

    private static string DatabaseOf(string connectionString) => new Npgsql.NpgsqlConnectionStringBuilder(connectionString).Database!;

    private static Process StartPrism(IEnumerable<string> args, IReadOnlyDictionary<string, string> environment)
    {
        var psi = new ProcessStartInfo(CliRunner.Dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(CliRunner.PrismDll);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach ((string k, string v) in environment)
        {
            psi.Environment[k] = v;
        }

        return Process.Start(psi)!;
    }

    /// <summary>The catalog's clones against the files: every row has its file, every clone file has its row, no temporary file is left.</summary>
    private static void AssertFilesMatchTheCatalog(ProvisionerFixture f, PrismCatalog catalog)
    {
        IReadOnlyList<CloneRecord> clones = catalog.Clones();
        string[] goldens = [.. catalog.Goldens().Select(g => g.Path)];
        Assert.Equal(clones.Select(c => c.Path).Concat(goldens).Order(StringComparer.Ordinal),
            Directory.EnumerateFiles(f.Dir.Path, "*.vhdx", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(Directory.EnumerateFiles(f.Dir.Path, "*", SearchOption.AllDirectories), p => p.EndsWith(".prism-tmp", StringComparison.Ordinal));
        Assert.Empty(catalog.Store.Operations());
        var paths = clones.Select(c => c.Path).Concat(goldens).ToHashSet(StringComparer.Ordinal);
        foreach (CloneRecord c in clones)
        {
            // Each clone's parent is registered, and its whole chain opens (linkage checked down to the golden).
            Assert.Contains(c.ParentPath, paths);
            using VhdxDisk d = VhdxDisk.Open(c.Path);
            Assert.Equal(c.ParentPath, d.Chain[1].Path);
        }
    }

    [SkippableFact]
    public async Task DatabaseStoppedDuringCloneNewOfTwoHundredFailsClearlyRegistersNothingAndTheNextRunCleansUpAndSucceeds()
    {
        cluster.Require();
        using var f = new ProvisionerFixture(new PostgresBackend(cluster));
        f.MakeGolden("base", 8 * ProvisionerFixture.MiB);
        string db = DatabaseOf(f.CatalogLocation);
        string uri = cluster.Uri(db);
        string marker = f.Dir.File("paused");

        // clone new --count 200 stops after its 100th file (test hook) until the test has stopped the server (pg_ctl stop
        // -m immediate), then goes on: it makes the other 100 files and meets the dead server at its commit.
        Process p = StartPrism(["clone", "new", "base", "--count", "200", "--prefix", "vm", "--quiet", "--catalog", uri],
            new Dictionary<string, string> { ["PRISM_TEST_PAUSE_AT"] = "clone-new:file:99", ["PRISM_TEST_PAUSE_FILE"] = marker });
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        var deadline = Stopwatch.StartNew();
        while (!File.Exists(marker))
        {
            if (p.HasExited)
            {
                Assert.Fail($"prism exited ({p.ExitCode}) before its 100th clone: {await stderr}");
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(3), "prism never reached its 100th clone");
            await Task.Delay(20);
        }

        string err;
        try
        {
            cluster.Stop();
            File.Delete(marker);
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await p.WaitForExitAsync(timeout.Token);
            err = await stderr + await stdout;
        }
        finally
        {
            cluster.Start();
        }

        // A clear error: one line naming the catalog (never the password), exit 1.
        Assert.True(p.ExitCode == 1, $"exit {p.ExitCode}: {err}");
        p.Dispose();
        Assert.Matches($"^prism: the catalog postgresql://{PostgresCluster.User}@127\\.0\\.0\\.1:{cluster.Port}/{db} cannot be used: ", err.Trim());
        Assert.Single(err.Trim().Split('\n'));
        Assert.DoesNotContain(cluster.Password, err, StringComparison.Ordinal);

        // Nothing registered (no row without its file); its 200 files are there, held by the interrupted operation.
        using (PrismCatalog after = PrismCatalog.Open(f.CatalogLocation))
        {
            Assert.Empty(after.Clones());
            Assert.Equal(200, Directory.EnumerateFiles(f.Dir.Path, "vm-*.vhdx").Count());
            Assert.Equal("clone-new", Assert.Single(after.Store.Operations()).Plan.Kind);
        }

        // The next run on this host rolls the dead operation back first (its files go: no file without its row), then
        // makes its 200 clones under the same numbers.
        ProcessResult next = CliRunner.Run("clone", "new", "base", "--count", "200", "--prefix", "vm", "--quiet", "--catalog", uri);
        Assert.True(next.ExitCode == 0, next.StdErr + next.StdOut);
        Assert.Contains("200 clone(s) of base", next.StdOut, StringComparison.Ordinal);
        using (PrismCatalog after = PrismCatalog.Open(f.CatalogLocation))
        {
            Assert.Equal(Enumerable.Range(1, 200).Select(i => $"vm-{i:0000}"), after.Clones().Select(c => c.Name));
            AssertFilesMatchTheCatalog(f, after);
        }

        ProcessResult verify = CliRunner.Run("catalog", "verify", "--catalog", uri);
        Assert.True(verify.ExitCode == 0, verify.StdErr + verify.StdOut);
        Assert.Contains("catalog and files agree", verify.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain(cluster.Password, next.StdOut + next.StdErr + verify.StdOut + verify.StdErr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task ThreeHostsCreatingResettingMergingAndRemovingOverlappingClonesAtOnceLeaveTheCatalogAndTheFilesInAgreement()
    {
        cluster.Require();
        using var f = new ProvisionerFixture(new PostgresBackend(cluster));
        f.MakeGolden("base", 8 * ProvisionerFixture.MiB);
        string uri = cluster.Uri(DatabaseOf(f.CatalogLocation));

        // c01..c06 of the golden, k01..k04 children of c01..c04 (merge targets); each written so merges and resets move data.
        void WriteInto(IEnumerable<CloneRecord> clones)
        {
            foreach (CloneRecord c in clones)
            {
                using VhdxDisk d = VhdxDisk.Open(c.Path, new VhdxOpenOptions { Writable = true });
                d.Write(Enumerable.Repeat((byte)c.Name[^1], 64 * 1024).ToArray(), 1 << 20);
                d.Flush();
            }
        }

        WriteInto(f.Manager.NewClones("base", ["c01", "c02", "c03", "c04", "c05", "c06"]));
        for (int i = 1; i <= 4; i++)
        {
            WriteInto(f.Manager.NewClones($"c{i:00}", [$"k{i:00}"]));
        }

        // One script of operations on the same names; each host starts it at another place, so the same clone is merged,
        // reset, removed and given children by several hosts at once.
        string[][] script =
        [
            ["clone", "new", "c01", "k05-{h}"],
            ["clone", "reset", "c02"],
            ["clone", "merge", "k01"],
            ["clone", "remove", "k02"],
            ["clone", "new", "base", "--count", "4", "--prefix", "n"],
            ["clone", "reset", "k03"],
            ["clone", "merge", "k04"],
            ["clone", "remove", "c05"],
            ["clone", "new", "c06", "k06-{h}"],
            ["clone", "reset", "c01"],
            ["clone", "merge", "k03"],
            ["clone", "remove", "k06-{h}"],
        ];
        string[] hosts = ["host-a", "host-b", "host-c"];
        var log = new System.Collections.Concurrent.ConcurrentQueue<(string Host, string Command, int Exit, string Text)>();

        async Task Host(int index)
        {
            string host = hosts[index];
            for (int i = 0; i < script.Length; i++)
            {
                string[] args = [.. script[(i + (4 * index)) % script.Length].Select(a => a.Replace("{h}", host, StringComparison.Ordinal)), "--catalog", uri];
                using Process p = StartPrism(args, new Dictionary<string, string> { ["PRISM_HOST"] = host });
                Task<string> err = p.StandardError.ReadToEndAsync();
                string o = await p.StandardOutput.ReadToEndAsync();
                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
                await p.WaitForExitAsync(timeout.Token);
                log.Enqueue((host, string.Join(' ', args[..^2]), p.ExitCode, o + await err));
            }
        }

        await Task.WhenAll(Enumerable.Range(0, hosts.Length).Select(i => Task.Run(() => Host(i))));
        foreach ((string host, string command, int exit, string text) in log)
        {
            output.WriteLine($"{host} prism {command}: exit {exit} {text.Trim()}");
        }

        // Every operation either did its work or was refused with one line (the clone was busy, gone, had children or a
        // shared parent, the name was taken); none failed half-way, none reached the database and failed.
        Assert.All(log, e =>
        {
            Assert.True(e.Exit is 0 or 1, $"{e.Host} {e.Command}: exit {e.Exit}: {e.Text}");
            Assert.DoesNotContain("cannot be used", e.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", e.Text, StringComparison.Ordinal);
            Assert.DoesNotContain(cluster.Password, e.Text, StringComparison.Ordinal);
            if (e.Exit == 1)
            {
                Assert.Single(e.Text.Trim().Split('\n'));
            }
        });
        foreach (string kind in new[] { "clone new", "clone reset", "clone merge", "clone remove" })
        {
            Assert.Contains(log, e => e.Command.StartsWith(kind, StringComparison.Ordinal) && e.Exit == 0);
        }

        Assert.Contains(log, e => e.Exit == 1);

        // The catalog and the files agree: verify from the CLI is clean, every row has its file and every file its row.
        ProcessResult verify = CliRunner.Run("catalog", "verify", "--catalog", uri);
        Assert.True(verify.ExitCode == 0, verify.StdErr + verify.StdOut);
        Assert.Contains("catalog and files agree", verify.StdOut, StringComparison.Ordinal);
        AssertFilesMatchTheCatalog(f, f.Catalog);
        Assert.Equal(12, f.Catalog.Clones().Count(c => c.Name.StartsWith("n-", StringComparison.Ordinal)));
    }
}
