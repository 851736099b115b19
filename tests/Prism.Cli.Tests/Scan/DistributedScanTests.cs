using System.Diagnostics;
using Npgsql;
using Prism.Cli.Tests.Catalog;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;
using Prism.Fleet.Reports;
using Prism.Fleet.Scanning;
using Prism.Fleet.Stores;
using Prism.Provisioner.Catalog;
using Prism.Scanner.Fleet;
using Prism.Scanner.Signatures;
using Prism.Scanner.Tests.Fleet;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Cli.Tests.Scan;

/// <summary>
/// Issue 14, the distributed nightly scan: hosts as separate <c>prism scan --catalog postgres://... --host NAME</c>
/// processes, each with its own storage root (its own copies of the goldens and its own clones) and one shared root,
/// against one PostgreSQL database: each baseline computed once, each clone scanned once, the same findings as a
/// single-host SQLite scan; a host SIGKILLed mid-unit loses its lease and the others finish its work; a host whose copy
/// of a golden differs is refused for it.
/// </summary>
[Collection(GoldenFleetCollection.Name)]
public sealed class DistributedScanTests(GoldenFleetFixture fixture, PostgresCluster cluster, ITestOutputHelper output) : IClassFixture<PostgresCluster>
{
    private const long RawSize = 16L << 20;

    /// <summary>A fleet laid out on disk and registered in a fresh PostgreSQL catalog.</summary>
    private sealed class Fleet(TempDir dir, string uri)
    {
        public TempDir Dir { get; } = dir;

        public string Uri { get; } = uri;

        public string Shared => Root("shared");

        public string Signatures { get; set; } = "";

        /// <summary>Each golden copy (by path) and the clones made of it, for the single-host reference scan.</summary>
        public Dictionary<string, List<string>> Groups { get; } = new(StringComparer.Ordinal);

        public List<GoldenImage> Goldens { get; } = [];

        public List<CloneRecord> Clones { get; } = [];

        public Dictionary<string, List<string>> Roots { get; } = new(StringComparer.Ordinal);

        public string Root(string name)
        {
            string r = Path.Combine(Dir.Path, name);
            Directory.CreateDirectory(r);
            return r;
        }

        public void Register()
        {
            using PrismCatalog catalog = PrismCatalog.Open(Uri);
            catalog.Store.Write(w =>
            {
                foreach (GoldenImage g in Goldens)
                {
                    w.AddGolden(g);
                }

                foreach ((string host, List<string> roots) in Roots)
                {
                    w.RegisterHost(host, roots);
                }

                w.AddClones(Clones);
                return 0;
            });
        }
    }

    /// <summary>The raw golden: random data with one infected 4 KiB sector; clones write random sectors, some infected.</summary>
    private static byte[] Pattern(int seed)
    {
        byte[] p = new byte[4096];
        new Random(seed).NextBytes(p);
        return p;
    }

    private static void MakeRawGolden(string path)
    {
        VhdxDisk.Create(path, new VhdxCreateOptions { VirtualSize = RawSize, BlockSize = 1 << 20 });
        using VhdxDisk d = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true });
        byte[] chunk = new byte[1 << 20];
        var rng = new Random(77);
        for (long off = 0; off < RawSize; off += chunk.Length)
        {
            rng.NextBytes(chunk);
            d.Write(chunk, off);
        }

        d.Write(Pattern(1), 5L << 20);
        d.Flush();
    }

    private static void MakeRawClone(string path, string parent, int n)
    {
        VhdxDisk.CreateDifferencing(path, parent);
        using VhdxDisk d = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true });
        var rng = new Random(1000 + n);
        byte[] sector = new byte[4096];
        for (int i = 0; i < 16; i++)
        {
            rng.NextBytes(sector);
            d.Write(sector, rng.NextInt64(RawSize / 4096) * 4096);
        }

        if (n % 3 == 0)
        {
            d.Write(Pattern(2), ((n % 7) + 8L) << 20);
        }

        d.Flush();
    }

    /// <summary>A child of <paramref name="parent"/> holding exactly what the fixture's <paramref name="source"/> clone changed in the fixture's golden.</summary>
    private void CopyNtfsClone(string path, string parent, string source)
    {
        VhdxDisk.CreateDifferencing(path, parent);
        using VhdxDisk from = VhdxDisk.Open(source);
        using VhdxDisk golden = VhdxDisk.Open(fixture.GoldenPath);
        List<ByteRange> changed = VhdxDisk.RangesAbove(from.GetChainMap(), from.IndexInChain(golden));
        using VhdxDisk to = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true });
        byte[] buffer = new byte[1 << 20];
        foreach (ByteRange r in changed)
        {
            for (long off = r.Offset; off < r.Offset + r.Length; off += buffer.Length)
            {
                int n = (int)Math.Min(buffer.Length, r.Offset + r.Length - off);
                ((IDiskSource)from).Read(buffer.AsSpan(0, n), off);
                to.Write(buffer.AsSpan(0, n), off);
            }
        }

        to.Flush();
    }

    private static GoldenImage Golden(string name, string path)
    {
        using VhdxDisk d = VhdxDisk.Open(path);
        return new GoldenImage(name, path, d.DiskId, d.DataWriteGuid, d.VirtualSize, DateTime.UtcNow);
    }

    private static CloneRecord Clone(string name, string path, string golden, string parent, string host) =>
        new(name, path, golden, parent, null, DateTime.UtcNow) { Host = host };

    private Fleet NewFleet(TempDir dir)
    {
        string db = cluster.NewDatabase();
        var fleet = new Fleet(dir, cluster.Uri(db));
        fleet.Signatures = dir.File("fleet.ndb");
        File.WriteAllText(fleet.Signatures,
            $"Prism.Dist.Golden:0:*:{Convert.ToHexStringLower(Pattern(1).AsSpan(100, 48))}\nPrism.Dist.Clone:0:*:{Convert.ToHexStringLower(Pattern(2).AsSpan(200, 48))}\n");
        return fleet;
    }

    private string[] SignatureArgs(Fleet f) => ["--signatures", .. fixture.Databases, f.Signatures];

    private Process StartHost(Fleet f, string host, string run, int lease, int parallel)
    {
        var psi = new ProcessStartInfo(CliRunner.Dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] args = [CliRunner.PrismDll, "scan", "--catalog", f.Uri, "--host", host, "--run", run, "--lease", $"{lease}",
            "--parallel", $"{parallel}", "--quiet", .. SignatureArgs(f)];
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return Process.Start(psi)!;
    }

    private static async Task<(int Exit, string Text)> Finish(Process p)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        Task<string> err = p.StandardError.ReadToEndAsync();
        string o = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync(timeout.Token);
        return (p.ExitCode, o + await err);
    }

    /// <summary>The findings per clone of a single-host scan of every group with a SQLite store (the reference).</summary>
    private async Task<Dictionary<string, List<string>>> Reference(Fleet f)
    {
        var engine = new BuiltinEngine(SignatureDatabase.Load([.. fixture.Databases, f.Signatures]));
        var result = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        using VerdictStore store = VerdictStore.Open(f.Dir.File("reference.db"));
        foreach ((string golden, List<string> clones) in f.Groups)
        {
            FleetReport r = await new FleetScanner(engine, new FleetScanOptions { Store = store, MaxParallelism = 1 }).ScanAsync(golden, clones);
            result[golden] = Lines(r.Parent.Findings.Select(x => (x.Path, x.Stream, x.Signature, x.Offset)));
            ParentBytes[golden] = r.Parent.BytesRead;
            for (int i = 0; i < clones.Count; i++)
            {
                Assert.Empty(r.Clones[i].Errors);
                result[clones[i]] = Lines(r.Clones[i].Findings.Select(x => (x.Path, x.Stream, x.Signature, x.Offset)));
            }
        }

        return result;
    }

    /// <summary>Bytes the reference scan read from each golden copy (its first scan, before the store held its baseline).</summary>
    private Dictionary<string, long> ParentBytes { get; } = new(StringComparer.Ordinal);

    private static List<string> Lines(IEnumerable<(string Path, string? Stream, string Signature, long? Offset)> findings) =>
        [.. findings.Select(x => $"{x.Path}:{x.Stream} {x.Signature} @{x.Offset}").Order(StringComparer.Ordinal)];

    private FleetRunReport Report(Fleet f, string run)
    {
        IReadOnlyList<HostRecord> hosts;
        using (PrismCatalog catalog = PrismCatalog.Open(f.Uri))
        {
            hosts = catalog.Hosts();
        }

        FleetRunReport? report = FleetRunReport.Load(f.Uri, run, hosts);
        Assert.NotNull(report);
        foreach (ScanUnitInfo u in report.Units)
        {
            output.WriteLine($"{u.Seq,3} {u.Kind,-8} {u.Golden,-4} by {u.DoneBy,-7} attempts {u.Attempts} read {u.BytesRead,12:N0} {Path.GetRelativePath(f.Dir.Path, u.Path)}");
        }

        return report;
    }

    [SkippableFact]
    public async Task ThreeHostsScanSixtyClonesOfTwoGoldensEachUnitOnceWithTheSingleHostFindings()
    {
        fixture.Require();
        cluster.Require();
        using var dir = new TempDir();
        Fleet f = NewFleet(dir);
        string[] hosts = ["host-a", "host-b", "host-c"];

        // Two goldens, a copy of each on the shared root and on every host's own root (same disk id and DataWriteGuid).
        string ntfsShared = Path.Combine(f.Shared, "ntfs.vhdx"), rawShared = Path.Combine(f.Shared, "raw.vhdx");
        File.Copy(fixture.GoldenPath, ntfsShared);
        MakeRawGolden(rawShared);
        f.Goldens.Add(Golden("ntfs", ntfsShared));
        f.Goldens.Add(Golden("raw", rawShared));
        string[] sources = fixture.ClonePaths;
        int n = 0;
        void AddClones(string root, string host, string ntfs, string raw, int count)
        {
            f.Groups.TryAdd(ntfs, []);
            f.Groups.TryAdd(raw, []);
            for (int i = 0; i < count; i++, n++)
            {
                bool isNtfs = i % 2 == 0;
                string path = Path.Combine(root, $"vm{n:00}.vhdx");
                if (isNtfs)
                {
                    CopyNtfsClone(path, ntfs, sources[n % sources.Length]);
                }
                else
                {
                    MakeRawClone(path, raw, n);
                }

                f.Groups[isNtfs ? ntfs : raw].Add(path);
                f.Clones.Add(Clone($"vm{n:00}", path, isNtfs ? "ntfs" : "raw", isNtfs ? ntfs : raw, host));
            }
        }

        AddClones(f.Shared, "host-a", ntfsShared, rawShared, 30);
        foreach (string host in hosts)
        {
            string own = f.Root(host);
            File.Copy(ntfsShared, Path.Combine(own, "ntfs.vhdx"));
            File.Copy(rawShared, Path.Combine(own, "raw.vhdx"));
            AddClones(own, host, Path.Combine(own, "ntfs.vhdx"), Path.Combine(own, "raw.vhdx"), 10);
            f.Roots[host] = [own, f.Shared];
        }

        Assert.Equal(60, f.Clones.Count);
        f.Register();
        Dictionary<string, List<string>> reference = await Reference(f);

        var procs = hosts.Select(h => StartHost(f, h, "night-1", lease: 60, parallel: 2)).ToList();
        foreach ((Process p, string host) in procs.Zip(hosts))
        {
            (int exit, string text) = await Finish(p);
            output.WriteLine($"--- {host} exit {exit}\n{text}");
            Assert.True(exit is 0 or 1, $"{host}: exit {exit}: {text}");
            Assert.DoesNotContain(cluster.Password, text, StringComparison.Ordinal);
            p.Dispose();
        }

        FleetRunReport report = Report(f, "night-1");
        Assert.Equal(0, report.Pending);
        Assert.NotNull(report.Run.Finished);
        Assert.Empty(report.Refusals);
        Assert.Equal(62, report.Units.Count);
        Assert.All(report.Units, u => Assert.Equal(1, u.Attempts));

        // Each golden's baseline computed once, by one host, reading the golden once; every clone read it from the store.
        foreach (FleetScanReport g in report.Reports)
        {
            Assert.False(g.Parent.Cached, g.Parent.Path);
            Assert.True(g.Parent.BytesRead > 0);
            Assert.Equal(reference[g.Parent.Path], Lines(g.Parent.Findings.Select(x => (x.Path, x.Stream, x.Signature, x.Offset))));
            foreach (DiskScanReport c in g.Clones)
            {
                Assert.Empty(c.Errors);
                Assert.Equal(reference[c.Path], Lines(c.Findings.Select(x => (x.Path, x.Stream, x.Signature, x.Offset))));
            }
        }

        // Three workers, two goldens: the goldens were read once each, what one host alone reads scanning each of them once.
        long once = ParentBytes[ntfsShared] + ParentBytes[rawShared];
        output.WriteLine($"golden bytes read by the run: {report.GoldenBytesRead:N0}; one scan of each golden: {once:N0}");
        Assert.Equal(once, report.GoldenBytesRead);
        Assert.Contains(report.Reports.SelectMany(r => r.Clones), c => c.Findings.Count > 0);
        Assert.True(report.Units.Where(u => u.Kind == "clone").Select(u => u.DoneBy).Distinct().Count() >= 2, "the work was not shared");

        // Own clones are only ever scanned by their host; shared ones by anyone.
        foreach (ScanUnitInfo u in report.Units.Where(u => u.Kind == "clone" && !u.Path.StartsWith(f.Shared, StringComparison.Ordinal)))
        {
            Assert.Equal(u.Host, u.DoneBy);
        }

        // prism scan report --run ID --json: the same reports, in the shape of prism scan --json.
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exitReport = global::Prism.Cli.Program.Run(["scan", "report", "--run", $"{report.Run.Id}", "--catalog", f.Uri, "--json"], stdout, stderr);
        Assert.Equal(1, exitReport);
        Assert.Equal(ReportJson.Serialize(report.Reports).ReplaceLineEndings(), stdout.ToString().Trim().ReplaceLineEndings(), ignoreWhiteSpaceDifferences: true);
        stdout = new StringWriter();
        Assert.Equal(1, global::Prism.Cli.Program.Run(["scan", "report", "--run", "night-1", "--catalog", f.Uri], stdout, stderr));
        output.WriteLine(stdout.ToString());
        Assert.Contains($"golden bytes read: {report.GoldenBytesRead:N0}", stdout.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(cluster.Password, stdout.ToString() + stderr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task AHostKilledMidUnitLosesItsLeaseAndTheOthersFinishTheRunAndADifferingCopyIsRefused()
    {
        fixture.Require();
        cluster.Require();
        using var dir = new TempDir();
        Fleet f = NewFleet(dir);
        string rawShared = Path.Combine(f.Shared, "raw.vhdx");
        MakeRawGolden(rawShared);
        f.Goldens.Add(Golden("raw", rawShared));
        f.Groups[rawShared] = [];
        int n = 0;
        for (; n < 12; n++)
        {
            string path = Path.Combine(f.Shared, $"s{n:00}.vhdx");
            MakeRawClone(path, rawShared, n);
            f.Groups[rawShared].Add(path);
            f.Clones.Add(Clone($"s{n:00}", path, "raw", rawShared, "host-a"));
        }

        // host-a and host-b have three clones each on their own storage, host-c two (only host-c can reach those).
        foreach (string host in new[] { "host-a", "host-b", "host-c" })
        {
            string own = f.Root(host);
            string copy = Path.Combine(own, "raw.vhdx");
            File.Copy(rawShared, copy);
            f.Groups[copy] = [];
            for (int i = 0; i < (host == "host-c" ? 2 : 3); i++, n++)
            {
                string path = Path.Combine(own, $"o{n:00}.vhdx");
                MakeRawClone(path, copy, n);
                f.Groups[copy].Add(path);
                f.Clones.Add(Clone($"o{n:00}", path, "raw", copy, host));
            }

            f.Roots[host] = [own, f.Shared];
        }

        // host-d's copy of the golden was changed (a new DataWriteGuid) and its clones made from it.
        string dRoot = f.Root("host-d");
        string dCopy = Path.Combine(dRoot, "raw.vhdx");
        File.Copy(rawShared, dCopy);
        FleetDisks.WriteRaw(dCopy, 1L << 20, Pattern(9));
        var dClones = new List<string>();
        for (int i = 0; i < 2; i++, n++)
        {
            string path = Path.Combine(dRoot, $"d{n:00}.vhdx");
            MakeRawClone(path, dCopy, n);
            dClones.Add(path);
            f.Clones.Add(Clone($"d{n:00}", path, "raw", dCopy, "host-d"));
        }

        f.Roots["host-d"] = [dRoot];
        f.Register();
        Dictionary<string, List<string>> reference = await Reference(f);

        // host-c starts alone and is SIGKILLed while it holds a lease: the golden's baseline, the first unit anyone claims.
        // So that it is caught holding it whatever the machine's load, the test holds a lock on the verdict store's
        // baselines table (the schema made first): host-c claims the unit, then waits on the table until it is killed.
        PostgresVerdictStore.Open(f.Uri).Dispose();
        using var conn = new NpgsqlConnection(PostgresConnectionString(f.Uri));
        conn.Open();
        using (NpgsqlTransaction hold = conn.BeginTransaction())
        {
            using (var lockCmd = new NpgsqlCommand("LOCK TABLE verdict_baselines IN ACCESS EXCLUSIVE MODE;", conn, hold))
            {
                lockCmd.ExecuteNonQuery();
            }

            using var watch = new NpgsqlConnection(PostgresConnectionString(f.Uri));
            watch.Open();
            Process c = StartHost(f, "host-c", "night-2", lease: 3, parallel: 1);
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                using var cmd = new NpgsqlCommand("SELECT count(*) FROM scan_units WHERE lease_host = 'host-c' AND state = 'pending' AND lease_until > clock_timestamp();", watch);
                if (Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) > 0)
                {
                    break;
                }

                if (c.HasExited)
                {
                    Assert.Fail($"host-c exited ({c.ExitCode}) before it claimed a unit: {await c.StandardError.ReadToEndAsync()}");
                }

                Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(3), "host-c never claimed a unit");
                Thread.Sleep(20);
            }

            c.Kill();
            await c.WaitForExitAsync();
            c.Dispose();
            hold.Rollback();
        }


        var procs = new[] { "host-a", "host-b", "host-d" }.Select(h => (Host: h, Process: StartHost(f, h, "night-2", lease: 3, parallel: 2))).ToList();
        var texts = new Dictionary<string, string>();
        foreach ((string host, Process p) in procs)
        {
            (int exit, string text) = await Finish(p);
            output.WriteLine($"--- {host} exit {exit}\n{text}");
            texts[host] = text;
            Assert.True(exit is 0 or 1 or 2, $"{host}: exit {exit}: {text}");
            p.Dispose();
        }

        // Everything the others can reach is done; host-c's own clones wait for host-c, and the report says so.
        string[] cOwn = [.. f.Clones.Where(c => c.Host == "host-c").Select(c => c.Path)];
        FleetRunReport waiting = Report(f, "night-2");
        Assert.Null(waiting.Run.Finished);
        Assert.Equal(cOwn.Length, waiting.Pending);
        Assert.Equal(cOwn, waiting.Waiting.Select(w => w.Unit.Path));
        Assert.All(waiting.Waiting, w =>
        {
            Assert.Equal("host-c", w.Host);
            Assert.Contains("waiting for host host-c: only it can reach", w.Reason, StringComparison.Ordinal);
            Assert.Contains("--run night-2", w.Reason, StringComparison.Ordinal);
        });
        Assert.All(waiting.Reports.Single().Clones.Where(c => cOwn.Contains(c.Path)),
            c => Assert.StartsWith("waiting for host host-c", Assert.Single(c.Errors), StringComparison.Ordinal));
        Assert.Contains(texts.Values, t => t.Contains("waiting for host host-c", StringComparison.Ordinal));
        var waitingText = new StringWriter();
        Assert.Equal(2, global::Prism.Cli.Program.Run(["scan", "report", "--run", "night-2", "--catalog", f.Uri], waitingText, new StringWriter()));
        Assert.Contains($"WAITING for host host-c: {cOwn.Length} unit(s) only it can reach", waitingText.ToString(), StringComparison.Ordinal);
        var waitingJson = new StringWriter();
        Assert.Equal(2, global::Prism.Cli.Program.Run(["scan", "report", "--run", "night-2", "--catalog", f.Uri, "--json"], waitingJson, new StringWriter()));
        Assert.Contains("waiting for host host-c", waitingJson.ToString(), StringComparison.Ordinal);

        // host-c comes back and runs the same run again: it finishes its clones, and the run.
        (int cExit, string cText) = await Finish(StartHost(f, "host-c", "night-2", lease: 3, parallel: 2));
        output.WriteLine($"--- host-c again: exit {cExit}\n{cText}");
        Assert.True(cExit is 0 or 1, cText);
        FleetRunReport report = Report(f, "night-2");
        Assert.Equal(0, report.Pending);
        Assert.Empty(report.Waiting);
        Assert.NotNull(report.Run.Finished);

        // The unit host-c held was claimed again after its lease expired, and done once, by another host.
        ScanUnitInfo baseline = report.Units.Single(x => x.Kind == "baseline");
        Assert.Equal(2, baseline.Attempts);
        Assert.Contains(baseline.DoneBy, new[] { "host-a", "host-b" });
        Assert.Equal(cOwn, report.Units.Where(x => x.DoneBy == "host-c").Select(x => x.Path));
        Assert.All(report.Units.Where(x => x.Kind == "clone"), x => Assert.Equal(1, x.Attempts));
        Assert.NotEqual(dCopy, baseline.LocalPath);

        // host-d: refused for the golden, with a clear error; its clones are reported, not scanned against another copy.
        ScanRefusal refusal = Assert.Single(report.Refusals);
        Assert.Equal(("host-d", "raw"), (refusal.Host, refusal.Golden));
        Assert.Contains("DataWriteGuid", refusal.Message, StringComparison.Ordinal);
        Assert.Contains(dCopy, refusal.Message, StringComparison.Ordinal);
        Assert.Contains("refused", texts["host-d"], StringComparison.Ordinal);
        FleetScanReport g = Assert.Single(report.Reports);
        foreach (DiskScanReport clone in g.Clones)
        {
            if (dClones.Contains(clone.Path))
            {
                Assert.Contains(clone.Errors, e => e.Contains("refused", StringComparison.Ordinal));
                Assert.Equal("host-d", report.Units.Single(x => x.Path == clone.Path).DoneBy);
            }
            else
            {
                Assert.Empty(clone.Errors);
                Assert.Equal(reference[clone.Path], Lines(clone.Findings.Select(x => (x.Path, x.Stream, x.Signature, x.Offset))));
            }
        }

        var stdout = new StringWriter();
        Assert.Equal(2, global::Prism.Cli.Program.Run(["scan", "report", "--run", "night-2", "--catalog", f.Uri], stdout, new StringWriter()));
        Assert.Contains("REFUSED host host-d: its copy of golden 'raw'", stdout.ToString(), StringComparison.Ordinal);
    }

    private string PostgresConnectionString(string uri) => cluster.ConnectionString(uri[(uri.LastIndexOf('/') + 1)..]) + ";Pooling=false";
}
