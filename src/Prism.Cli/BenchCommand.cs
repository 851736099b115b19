using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;

using static Prism.Cli.BenchTools;

namespace Prism.Cli;

/// <summary>
/// <c>prism bench disk</c> (and <c>scan</c>, <c>ntfs</c>): measures the VHDX engine's figures against their targets and, where there is one,
/// against the peer tool (qemu-img) in the same run. Timings are wall clock, best of several runs, page cache warm.
/// </summary>
internal static class BenchCommand
{
    private const long GiB = 1L << 30;
    private const long MiB = 1L << 20;

    /// <summary><c>prism bench disk|scan|ntfs</c>.</summary>
    public static Command Create()
    {
        var dir = CliOptions.Text("--dir", "work folder (default: a new temporary folder)", "DIR");
        var quick = CliOptions.Flag("--quick", "smaller sizes, for a quick look");
        var only = CliOptions.Text("--only", "which figures: clone,export,read,write,map", "LIST");
        var disk = new Command("disk", "the VHDX engine's figures against their targets and qemu-img, same run") { dir, quick, only };
        disk.SetAction(p => RunDisk(p.GetValue(dir), p.GetValue(quick), (p.GetValue(only) ?? "clone,export,read,write,map").Split(',', StringSplitOptions.RemoveEmptyEntries),
            p.InvocationConfiguration.Output));

        var size = CliOptions.Size("--size", "golden size", 2L << 30);
        var clones = CliOptions.Int("--clones", "clones scanned", 50, minimum: 1);
        var divergence = new Option<double>("--divergence") { Description = "fraction of each clone rewritten", DefaultValueFactory = _ => 0.01 };
        var idle = CliOptions.Int("--idle-clones", "unchanged clones for the verdict-store figure", 100);
        var keep = CliOptions.Flag("--keep", "keep the work folder");
        var skipPeers = CliOptions.Flag("--skip-peers", "do not run the peer tools (clamscan, ntfsls)");
        var scanFs = CliOptions.Text("--fs", "the golden's file system: ntfs (default) or ext4", "FS");
        var pg = CliOptions.Text("--pg", "also time the scan with a PostgreSQL verdict store (an empty database) against a SQLite one", "URI");
        var scan = new Command("scan", "fleet scan vs full scan vs clamscan, same run") { size, clones, divergence, idle, dir, keep, skipPeers, scanFs, pg };
        scan.SetAction(p => BenchScan.Run(p.GetValue(size)!.Value, p.GetValue(clones)!.Value, p.GetValue(divergence), p.GetValue(idle)!.Value,
            p.GetValue(dir), p.GetValue(keep), p.GetValue(skipPeers), p.InvocationConfiguration.Output, p.GetValue(scanFs) ?? "ntfs", p.GetValue(pg)));

        var image = CliOptions.Arg("IMAGE", "a raw NTFS image (scripts/make-ntfs-bench-image.sh)");
        var runs = CliOptions.Int("--runs", "measured runs (median reported)", 9, minimum: 1);
        var cold = CliOptions.Flag("--cold", "drop the page cache before each run (root)");
        var json = CliOptions.JsonFlag();
        var ntfs = new Command("ntfs", "NTFS walk with paths + sector maps vs ntfsls -R") { image, runs, cold, skipPeers, json };
        ntfs.SetAction(p => BenchNtfs.Run(p.GetValue(image)!, p.GetValue(runs)!.Value, p.GetValue(cold), p.GetValue(skipPeers), p.GetValue(json), p.InvocationConfiguration.Output));
        var ext4Image = CliOptions.Arg("IMAGE", "a raw ext4 image (scripts/make-ext4-bench-image.sh)");
        var ext4 = new Command("ext4", "ext4 walk with paths + sector maps vs fls -r -p") { ext4Image, runs, cold, skipPeers, json };
        ext4.SetAction(p => BenchExt4.Run(p.GetValue(ext4Image)!, p.GetValue(runs)!.Value, p.GetValue(cold), p.GetValue(skipPeers), p.GetValue(json),
            p.InvocationConfiguration.Output));
        var startupRuns = CliOptions.Int("--runs", "runs per command (median reported)", 10, minimum: 1);
        var baseline = CliOptions.Text("--baseline", "another build's prism.dll, measured in the same run (e.g. the previous release)", "DLL");
        var startup = new Command("startup", "start-up time of prism --version and prism disk info, new process per run") { startupRuns, baseline };
        startup.SetAction(p => BenchStartup.Run(p.GetValue(startupRuns)!.Value, p.GetValue(baseline), p.InvocationConfiguration.Output));
        var nbdSize = CliOptions.Size("--size", "clone size", 1L << 30);
        var nbdWrites = CliOptions.Int("--writes", "4 KiB writes per run", 20000, minimum: 16);
        var nbdRuns = CliOptions.Int("--runs", "runs (median reported)", 3, minimum: 1);
        var nbd = new Command("nbd", "prism serve vs qemu-nbd (qcow2 overlay on a raw base): nbdcopy read and 4 KiB writes at depth 16")
        {
            nbdSize, nbdWrites, nbdRuns, dir, keep,
        };
        nbd.SetAction(p => BenchNbd.Run(p.GetValue(nbdSize)!.Value, p.GetValue(nbdWrites)!.Value, p.GetValue(nbdRuns)!.Value, p.GetValue(dir),
            p.GetValue(keep), p.InvocationConfiguration.Output));
        return CliOptions.Group("bench", "the performance figures, measured against the peer tools in the same run", [disk, scan, ntfs, ext4, startup, nbd, .. BenchSigs.Create()]);
    }

    private static int RunDisk(string? dirOption, bool quick, string[] only, TextWriter stdout)
    {
        string dir = dirOption ?? Path.Combine(Path.GetTempPath(), $"prism-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            var rows = new List<(string Figure, string Measured, string Target, bool Pass)>();
            if (only.Contains("clone"))
            {
                CloneCreation(dir, quick, rows, stdout);
            }

            if (only.Contains("export") || only.Contains("read"))
            {
                MakeFullDisk(dir);
            }

            if (only.Contains("export"))
            {
                Export(dir, rows, stdout);
            }

            if (only.Contains("read"))
            {
                ChainRead(dir, rows, stdout);
            }

            if (only.Contains("write"))
            {
                RandomWrites(dir, quick, rows, stdout);
            }

            if (only.Contains("map"))
            {
                AllocationMap(dir, quick, rows, stdout);
            }
            stdout.WriteLine();
            stdout.WriteLine($"{"figure",-58} {"measured",-34} {"target",-22} ok");
            foreach ((string f, string m, string t, bool p) in rows)
            {
                stdout.WriteLine($"{f,-58} {m,-34} {t,-22} {(p ? "yes" : "NO")}");
            }

            return rows.All(r => r.Pass) ? 0 : 1;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string F(double v, string format = "0.00") => v.ToString(format, CultureInfo.InvariantCulture);

    private static void CloneCreation(string dir, bool quick, List<(string, string, string, bool)> rows, TextWriter log)
    {
        int n = quick ? 20 : 100;
        foreach ((string name, long size) in new[] { ("1 GiB", GiB), ("64 TiB", 64L << 40) })
        {
            string parent = Path.Combine(dir, $"parent-{size}.vhdx");
            VhdxDisk.Create(parent, new VhdxCreateOptions { VirtualSize = size });
            var times = new List<double>();
            for (int i = 0; i < n; i++)
            {
                string child = Path.Combine(dir, $"child-{size}-{i}.vhdx");
                var sw = Stopwatch.StartNew();
                VhdxDisk.CreateDifferencing(child, parent);
                times.Add(sw.Elapsed.TotalMilliseconds);
            }

            times.Sort();
            double median = times[times.Count / 2];
            log.WriteLine($"clone creation, {name} parent: median {F(median, "0.000")} ms, p90 {F(times[times.Count * 9 / 10], "0.000")} ms over {n} (durable: fsync before rename)");
            rows.Add(($"differencing child of a {name} parent (median of {n})", $"{F(median, "0.000")} ms", "< 5 ms", median < 5));
        }
    }

    private static void MakeFullDisk(string dir)
    {
        string vhdx = Path.Combine(dir, "full-1g.vhdx");
        VhdxDisk.Create(vhdx, new VhdxCreateOptions { VirtualSize = GiB });
        using (VhdxDisk d = VhdxDisk.Open(vhdx, new VhdxOpenOptions { Writable = true }))
        {
            byte[] buf = new byte[32 * MiB];
            var rng = new Random(7);
            for (long o = 0; o < GiB; o += buf.Length)
            {
                rng.NextBytes(buf);
                d.Write(buf, o);
            }
        }
    }

    private static void Export(string dir, List<(string, string, string, bool)> rows, TextWriter log)
    {
        string qemu = RequireTool("qemu-img", "qemu-utils");
        string vhdx = Path.Combine(dir, "full-1g.vhdx");

        // Interleaved, best of five, with the page cache's dirty data written back before every run: otherwise the
        // run that follows another one pays for its predecessor's 1 GiB of writeback.
        string raw = Path.Combine(dir, "out.raw");
        double prism = double.MaxValue;
        double peer = double.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            RunTool("/bin/sync");
            prism = Math.Min(prism, Best(1, () =>
            {
                using VhdxDisk d = VhdxDisk.Open(vhdx);
                d.ExportRaw(raw);
            }));
            File.Delete(raw);
            RunTool("/bin/sync");
            peer = Math.Min(peer, Best(1, () => RunTool(qemu, "convert", "-O", "raw", vhdx, raw)));
            File.Delete(raw);
        }

        double ratio = prism / peer;
        log.WriteLine($"export 1 GiB fully allocated: prism {F(prism * 1000, "0")} ms, qemu-img convert {F(peer * 1000, "0")} ms, ratio {F(ratio)}");
        rows.Add(("export of a full 1 GiB dynamic VHDX vs qemu-img convert -O raw", $"{F(prism * 1000, "0")} vs {F(peer * 1000, "0")} ms = {F(ratio)}", "ratio <= 1.0", ratio <= 1.0));
    }

    private static void ChainRead(string dir, List<(string, string, string, bool)> rows, TextWriter log)
    {
        string basePath = Path.Combine(dir, "full-1g.vhdx");
        string c1 = Path.Combine(dir, "chain-1.vhdx");
        string c2 = Path.Combine(dir, "chain-2.vhdx");
        VhdxDisk.CreateDifferencing(c1, basePath);
        ScatterWrites(c1, 2000, 64 * 1024, 11);
        VhdxDisk.CreateDifferencing(c2, c1);
        ScatterWrites(c2, 2000, 4096, 12);
        byte[] buf = new byte[4 * MiB];
        double secs = Best(3, () =>
        {
            using VhdxDisk d = VhdxDisk.Open(c2);
            for (long o = 0; o < d.VirtualSize; o += buf.Length)
            {
                d.ReadExactly(buf, o);
            }
        });
        double gbps = GiB / secs / 1e9;
        log.WriteLine($"sequential read, 3-deep chain, 1 GiB in 4 MiB reads: {F(gbps)} GB/s");
        rows.Add(("sequential read through a 3-deep chain (page cache)", $"{F(gbps)} GB/s", ">= 1.5 GB/s", gbps >= 1.5));
    }

    private static void ScatterWrites(string path, int count, int size, int seed)
    {
        using VhdxDisk d = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true });
        var rng = new Random(seed);
        byte[] data = new byte[size];
        rng.NextBytes(data);
        for (int i = 0; i < count; i++)
        {
            long offset = rng.NextInt64(0, (d.VirtualSize - size) / 512) * 512;
            d.Write(data, offset);
        }
    }

    private static void RandomWrites(string dir, bool quick, List<(string, string, string, bool)> rows, TextWriter log)
    {
        int n = quick ? 50_000 : 200_000;
        string parent = Path.Combine(dir, "rw-parent.vhdx");
        string child = Path.Combine(dir, "rw-child.vhdx");
        VhdxDisk.Create(parent, new VhdxCreateOptions { VirtualSize = 64 * GiB });
        VhdxDisk.CreateDifferencing(child, parent);
        byte[] data = new byte[4096];
        new Random(3).NextBytes(data);
        var rng = new Random(5);
        long[] offsets = new long[n];
        for (int i = 0; i < n; i++)
        {
            offsets[i] = rng.NextInt64(0, (64 * GiB) / 4096) * 4096;
        }

        double secs;
        using (VhdxDisk d = VhdxDisk.Open(child, new VhdxOpenOptions { Writable = true }))
        {
            d.Write(data, 0); // session start (header update) outside the timed loop
            var sw = Stopwatch.StartNew();
            foreach (long o in offsets)
            {
                d.Write(data, o);
            }

            secs = sw.Elapsed.TotalSeconds;
        }

        double perSecond = n / secs;
        log.WriteLine($"4 KiB random writes into a 64 GiB child, no flush: {F(perSecond, "0")}/s ({n} writes)");
        rows.Add(("4 KiB random writes into a child, single thread, no flush", $"{F(perSecond, "0")}/s", ">= 50,000/s", perSecond >= 50_000));
    }

    private static void AllocationMap(string dir, bool quick, List<(string, string, string, bool)> rows, TextWriter log)
    {
        string parent = Path.Combine(dir, "map-parent.vhdx");
        string child = Path.Combine(dir, "map-child.vhdx");
        VhdxDisk.Create(parent, new VhdxCreateOptions { VirtualSize = 64L << 40 });
        VhdxDisk.CreateDifferencing(child, parent);
        ScatterWrites(child, 10_000, 4096, 21);
        int ranges = 0;
        double secs = Best(quick ? 2 : 5, () =>
        {
            using VhdxDisk d = VhdxDisk.Open(child);
            ranges = d.GetChainMap().Count;
        });
        log.WriteLine($"allocation map of a 64 TiB child with 10,000 scattered writes (fresh open each run): {F(secs * 1000, "0.0")} ms, {ranges} ranges");
        rows.Add(("allocation map, 64 TiB child, 10,000 scattered writes", $"{F(secs * 1000, "0.0")} ms", "< 100 ms", secs < 0.1));
    }

}
