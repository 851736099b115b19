using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Prism.Scanner.Signatures;

using static Prism.Cli.BenchTools;

namespace Prism.Cli;

/// <summary>
/// <c>prism bench sigs</c>: a seeded ClamAV-shaped database (4 M mdb, 1 M hdb, 300 k hsb, 100 k ndb, 30 k ldb at scale
/// 1) and a 1 GiB file set, then load and scan against clamscan in the same run. Every run is its own process under
/// <c>/usr/bin/time</c> (wall time, user + system CPU time, peak RSS): clamscan <c>-d DB</c> on an empty file (load), prism <c>sigs info</c>
/// without and with the compiled cache (load), clamscan <c>--allmatch -r</c> over the files and the hidden
/// <c>prism bench sigs-scan</c> (scan, on all cores and with <c>DOTNET_PROCESSOR_COUNT=1</c>). Scan throughput is the
/// file set's size over the scan run's wall time minus the same tool's load time; findings are compared per file.
/// </summary>
internal static class BenchSigs
{
    private const long MiB = 1L << 20;
    private const string UnofficialSuffix = ".UNOFFICIAL";

    /// <summary><c>prism bench sigs</c> and the hidden <c>prism bench sigs-scan DB FILES</c> it runs as a child.</summary>
    public static Command[] Create()
    {
        var dir = CliOptions.Text("--dir", "work folder (default: a new temporary folder)", "DIR");
        var scale = new Option<double>("--scale") { Description = "database size relative to the issue's figures (1 = 5.43 M lines)", DefaultValueFactory = _ => 1.0 };
        var files = CliOptions.Size("--files", "size of the file set", 1L << 30);
        var keep = CliOptions.Flag("--keep", "keep the work folder");
        var seed = CliOptions.Int("--seed", "generator seed", 13);
        var sigs = new Command("sigs", "load time, RSS and scan throughput of a ClamAV-shaped database vs clamscan, same run") { dir, scale, files, keep, seed };
        sigs.SetAction(p => Run(p.GetValue(dir), p.GetValue(scale), p.GetValue(files)!.Value, p.GetValue(keep), p.GetValue(seed)!.Value,
            p.InvocationConfiguration.Output));

        var db = CliOptions.Arg("DB", "database folder");
        var set = CliOptions.Arg("FILES", "folder of files to scan");
        var child = new Command("sigs-scan", "(bench child) load DB, scan every file of FILES on all cores, print findings as clamscan does") { db, set };
        child.Hidden = true;
        child.SetAction(p => ScanChild(p.GetValue(db)!, p.GetValue(set)!, p.InvocationConfiguration.Output));
        return [sigs, child];
    }

    private static int ScanChild(string db, string filesDir, TextWriter stdout)
    {
        var clock = Stopwatch.StartNew();
        SignatureDatabase database = SignatureDatabase.Load([db], notice: null);
        double load = clock.Elapsed.TotalSeconds;
        string[] files = Directory.GetFiles(filesDir);
        var lines = new List<string>[files.Length];
        long bytes = 0;
        clock.Restart();
        Parallel.For(0, files.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            using var stream = new FileStream(files[i], FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            Interlocked.Add(ref bytes, stream.Length);
            lines[i] = [.. database.Scan(stream).Select(d => $"{files[i]}: {d.SignatureName} FOUND")];
        });
        double scan = clock.Elapsed.TotalSeconds;
        foreach (List<string> l in lines)
        {
            l.ForEach(stdout.WriteLine);
        }

        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"#prism load {load:F3} scan {scan:F3} bytes {bytes} cache {database.CachePath ?? "-"}"));
        return 0;
    }

    private static int Run(string? dirOption, double scale, long fileBytes, bool keep, int seed, TextWriter log)
    {
        string clamscan = RequireTool("clamscan", "clamav");
        string time = File.Exists("/usr/bin/time") ? "/usr/bin/time" : throw new InvalidOperationException("/usr/bin/time not found: install the 'time' package");
        string dir = dirOption ?? Path.Combine(Path.GetTempPath(), $"prism-bench-sigs-{Environment.ProcessId}");
        string db = Path.Combine(dir, "db"), filesDir = Path.Combine(dir, "files"), empty = Path.Combine(dir, "empty");
        try
        {
            var shape = BenchSigsData.Shape.Scaled(scale);
            var clock = Stopwatch.StartNew();
            BenchSigsData.Planted planted = BenchSigsData.Generate(filesDir, db, fileBytes, shape, seed);
            File.WriteAllBytes(empty, []);
            long dbBytes = Directory.GetFiles(db).Sum(f => new FileInfo(f).Length);
            long setBytes = Directory.GetFiles(filesDir).Sum(f => new FileInfo(f).Length);
            int fileCount = Directory.GetFiles(filesDir).Length;
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"generated in {clock.Elapsed.TotalSeconds:F1} s: database {shape} ({Sizes.Format(dbBytes)}), {fileCount} files ({Sizes.Format(setBytes)}); planted {planted}"));

            string self = Path.Combine(AppContext.BaseDirectory, "prism.dll");
            string dotnet = Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : FindTool("dotnet") ?? "dotnet";
            Measured Prism(IReadOnlyDictionary<string, string>? env, params string[] args) => RunMeasured(time, dotnet, [self, .. args], env);

            // Page cache warm for both: read every source once.
            foreach (string f in Directory.GetFiles(db).Concat(Directory.GetFiles(filesDir)))
            {
                using FileStream s = File.OpenRead(f);
                s.CopyTo(Stream.Null);
            }

            foreach (string stale in SignatureDatabase.CacheLocations(db).Where(File.Exists))
            {
                File.Delete(stale);
            }

            Measured clamLoad = RunMeasured(time, clamscan, ["--no-summary", "-d", db, empty], null);
            Measured firstLoad = Prism(null, "sigs", "info", db);
            Measured compile = Prism(null, "sigs", "compile", db);
            Measured cachedLoad = Prism(null, "sigs", "info", db);
            log.WriteLine($"load: clamscan {clamLoad}; prism first run {firstLoad}; prism sigs compile {compile}; prism with the cache {cachedLoad}");
            Measured clamScan = RunMeasured(time, clamscan, ["--no-summary", "--allmatch", "-r", "-d", db, filesDir], null);
            Measured scan2 = Prism(null, "bench", "sigs-scan", db, filesDir);
            Measured scan1 = Prism(new Dictionary<string, string> { ["DOTNET_PROCESSOR_COUNT"] = "1" }, "bench", "sigs-scan", db, filesDir);
            log.WriteLine($"scan: clamscan {clamScan}; prism 2 cores {scan2}; prism DOTNET_PROCESSOR_COUNT=1 {scan1}");
            log.WriteLine($"prism child: {scan2.Output.Split('\n').LastOrDefault(l => l.StartsWith('#')) ?? "?"} | {scan1.Output.Split('\n').LastOrDefault(l => l.StartsWith('#')) ?? "?"}");

            Dictionary<string, SortedSet<string>> clamFindings = Findings(clamScan.Output), own2 = Findings(scan2.Output), own1 = Findings(scan1.Output);
            int differing = clamFindings.Keys.Union(own2.Keys).Count(k => !Same(clamFindings, own2, k));
            bool same1 = own1.Keys.Union(own2.Keys).All(k => Same(own1, own2, k));
            foreach (string k in clamFindings.Keys.Union(own2.Keys).Where(k => !Same(clamFindings, own2, k)).Take(5))
            {
                log.WriteLine($"  differs: {k}: clamscan [{string.Join(", ", clamFindings.GetValueOrDefault(k) ?? [])}] prism [{string.Join(", ", own2.GetValueOrDefault(k) ?? [])}]");
            }

            double clamScanPhase = Math.Max(0.01, clamScan.Seconds - clamLoad.Seconds);
            // Prism's scan phase is timed inside the child (after its load), clamscan's as its scan run minus its load run.
            double scan2Phase = ChildScanSeconds(scan2.Output), scan1Phase = ChildScanSeconds(scan1.Output);
            double clamTp = setBytes / clamScanPhase / MiB, tp2 = setBytes / scan2Phase / MiB, tp1 = setBytes / scan1Phase / MiB;
            var rows = new List<(string Figure, string Measured, string Target, bool Pass)>
            {
                ("load, first run (no cache) vs clamscan -d", Versus(firstLoad, clamLoad), "<= 1.0", firstLoad.Seconds <= clamLoad.Seconds),
                ("load with the compiled cache vs clamscan -d", Versus(cachedLoad, clamLoad), "<= 0.2", cachedLoad.Seconds <= clamLoad.Seconds / 5),
                ("peak RSS while scanning (2 cores) vs clamscan", $"{scan2.RssMiB} vs {clamScan.RssMiB} MiB", "<= clamscan", scan2.RssMiB <= clamScan.RssMiB),
                ("scan throughput, 2 cores, vs clamscan", $"{tp2:0} vs {clamTp:0} MiB/s = {tp2 / clamTp:0.0}x", ">= 10x", tp2 >= 10 * clamTp),
                ("scan throughput, DOTNET_PROCESSOR_COUNT=1, vs clamscan", $"{tp1:0} vs {clamTp:0} MiB/s = {tp1 / clamTp:0.0}x", ">= 5x", tp1 >= 5 * clamTp),
                ("findings per file equal to clamscan --allmatch", $"{differing} of {fileCount} files differ ({clamFindings.Values.Sum(v => v.Count)} clamscan findings); 1 core = 2 cores: {same1}", "0 differ", differing == 0 && same1),
            };
            log.WriteLine();
            log.WriteLine($"{"figure",-56} {"measured",-62} {"target",-12} ok");
            foreach ((string f, string m, string t, bool p) in rows)
            {
                log.WriteLine($"{f,-56} {m,-62} {t,-12} {(p ? "yes" : "NO")}");
            }

            return rows.All(r => r.Pass) ? 0 : 1;
        }
        finally
        {
            if (!keep)
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    private static double ChildScanSeconds(string output)
    {
        string[] words = output.Split('\n').Last(l => l.StartsWith("#prism ", StringComparison.Ordinal)).Split(' ');
        return Math.Max(0.001, double.Parse(words[4], CultureInfo.InvariantCulture));
    }

    private static string F(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);

    /// <summary>Wall time (the figure) and CPU time (user + system; steadier on a loaded machine) of two runs, with their ratios.</summary>
    private static string Versus(Measured own, Measured peer) =>
        $"{F(own.Seconds)} vs {F(peer.Seconds)} s = {F(own.Seconds / peer.Seconds)}; CPU {F(own.CpuSeconds)} vs {F(peer.CpuSeconds)} s = {F(own.CpuSeconds / Math.Max(0.01, peer.CpuSeconds))}";

    private static bool Same(Dictionary<string, SortedSet<string>> a, Dictionary<string, SortedSet<string>> b, string key) =>
        (a.GetValueOrDefault(key) ?? []).SetEquals(b.GetValueOrDefault(key) ?? []);

    /// <summary>"path: Name FOUND" lines per path (clamscan's ".UNOFFICIAL" suffix removed).</summary>
    private static Dictionary<string, SortedSet<string>> Findings(string output)
    {
        var findings = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (string line in output.Split('\n'))
        {
            if (!line.EndsWith(" FOUND", StringComparison.Ordinal))
            {
                continue;
            }

            int colon = line.LastIndexOf(": ", StringComparison.Ordinal);
            string name = line[(colon + 2)..^" FOUND".Length];
            name = name.EndsWith(UnofficialSuffix, StringComparison.Ordinal) ? name[..^UnofficialSuffix.Length] : name;
            string path = line[..colon];
            if (!findings.TryGetValue(path, out SortedSet<string>? set))
            {
                findings[path] = set = new SortedSet<string>(StringComparer.Ordinal);
            }

            set.Add(name);
        }

        return findings;
    }

    /// <summary>Runs <paramref name="tool"/> under /usr/bin/time; clamscan's exit 1 ("found") is a result.</summary>
    private static Measured RunMeasured(string time, string tool, string[] args, IReadOnlyDictionary<string, string>? env)
    {
        string report = Path.GetTempFileName();
        try
        {
            var psi = new ProcessStartInfo(time) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in (string[])["-f", "%e %M %U %S", "-o", report, tool, .. args])
            {
                psi.ArgumentList.Add(a);
            }

            foreach ((string k, string v) in env ?? new Dictionary<string, string>())
            {
                psi.Environment[k] = v;
            }

            string load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            using var p = Process.Start(psi)!;
            Task<string> err = p.StandardError.ReadToEndAsync();
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode is not (0 or 1))
            {
                throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed ({p.ExitCode}): {err.Result}");
            }

            string[] words = File.ReadAllText(report).Trim().Split('\n')[^1].Split(' ');
            return new Measured(double.Parse(words[0], CultureInfo.InvariantCulture), long.Parse(words[1], CultureInfo.InvariantCulture) / 1024, load, output,
                double.Parse(words[2], CultureInfo.InvariantCulture) + double.Parse(words[3], CultureInfo.InvariantCulture));
        }
        finally
        {
            File.Delete(report);
        }
    }

    /// <summary>One measured process: wall seconds, peak RSS, the 1-minute load average when it started, its stdout, its CPU seconds (user + system).</summary>
    private sealed record Measured(double Seconds, long RssMiB, string LoadAverage, string Output, double CpuSeconds)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Seconds:F2} s (CPU {CpuSeconds:F2} s), {RssMiB} MiB (load {LoadAverage})");
    }
}
