using System.Diagnostics;
using System.Globalization;
using System.Text;
using Prism.Disks.Guest;
using Prism.Disks.IO;
using Prism.Disks.Ntfs;
using Prism.Disks.Vhdx;
using Prism.Fleet.Stores;
using Prism.Scanner.Fleet;
using Prism.Scanner.Signatures;

using static Prism.Cli.BenchTools;

namespace Prism.Cli;

/// <summary>
/// <c>prism bench scan</c>: a golden NTFS disk, N clones that each overwrite a fraction d of the golden's file bytes in
/// place (through the clone, as a guest would), then fleet scan vs --full with the same engine, vs one clamscan process
/// over all clones' files, engine throughput vs clamscan, a d = 0 fleet, and a nightly re-run with a verdict store.
/// </summary>
internal static class BenchScan
{
    private const long MiB = 1L << 20;
    private const string Eicar = @"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

    public static int Run(long size, int clones, double divergence, int idleClones, string? dirOption, bool keep, bool skipPeers, TextWriter log,
        string fs = "ntfs", string? pg = null)
    {
        if (fs is not ("ntfs" or "ext4"))
        {
            throw new UsageException($"--fs {fs}: ntfs or ext4");
        }

        string dir = dirOption ?? Path.Combine(Path.GetTempPath(), $"prism-bench-scan-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        var rows = new List<(string, string, string, bool)>();
        try
        {
            string staging = Path.Combine(dir, "files");
            string golden = Path.Combine(dir, "golden.vhdx");
            string db = Path.Combine(dir, "bench.ndb");
            File.WriteAllText(db, BuildSignatures());
            var sw = Stopwatch.StartNew();
            BuildGolden(dir, staging, golden, size, fs);
            log.WriteLine($"{fs} golden {Sizes.Format(size)} built in {sw.Elapsed.TotalSeconds:0.0} s");
            SignatureDatabase database = SignatureDatabase.Load(db);
            var engine = new BuiltinEngine(database);

            // Clones: each overwrites, in place, whole files adding up to d of the golden's size.
            (List<string> clonePaths, long modifiedBytes, long mftBytes) = MakeClones(dir, golden, clones, divergence, size);
            log.WriteLine($"d_eff: {Sizes.Format(modifiedBytes / clones)} of file content per clone" + (mftBytes > 0 ? $" + the {Sizes.Format(mftBytes)} $MFT" : string.Empty));
            double dEff = ((double)modifiedBytes / clones + mftBytes) / size;
            double ideal = clones / (1 + (clones * dEff));

            // Warm-up, not counted: both timed scans below run the engine's and the walks' code already compiled by the
            // JIT's optimizing tier, so the one timed first does not pay the compilation the other one then skips.
            FleetReport warm = Scan(engine, golden, clonePaths.Take(2).ToList(), full: false, null);
            log.WriteLine($"warm-up (not counted): the parent and 2 clones in {warm.Seconds:0.00} s");
            FleetReport fleet = Scan(engine, golden, clonePaths, full: false, null);
            FleetReport full = Scan(engine, golden, clonePaths, full: true, null);
            bool same = fleet.Clones.Zip(full.Clones).All(p => Same(p.First, p.Second));
            double speedup = full.Seconds / fleet.Seconds;
            long fleetBytes = fleet.Parent.BytesRead + fleet.Clones.Sum(c => c.BytesRead);
            double bytesBound = 1.05 * (1 + (clones * dEff)) * size;
            log.WriteLine($"fleet {fleet.Seconds:0.00} s ({Sizes.Format(fleetBytes)} read), full {full.Seconds:0.00} s; d_eff {dEff:0.0000}; ideal speedup {ideal:0.00}, achieved {speedup:0.00}; findings equal: {same}");
            rows.Add(($"fleet vs --full speedup, {clones} clones, d={divergence}", $"{speedup:0.00} (ideal {ideal:0.00}) = {speedup / ideal:0.00} x ideal", ">= 0.8 x ideal", speedup >= 0.8 * ideal && same));
            rows.Add(("bytes read by the fleet scan", $"{Sizes.Format(fleetBytes)} <= {Sizes.Format((long)bytesBound)}", "<= 1.05 (1+N d_eff) S", fleetBytes <= bytesBound));

            // clamscan over all clones' files: byte-identical files are hard links (what clamscan's cache would skip).
            string? clamscan = skipPeers ? null : FindTool("clamscan");
            if (clamscan is not null)
            {
                string tree = Path.Combine(dir, "clamscan-tree");
                ExtractTree(tree, staging, golden, clonePaths);
                double clam = Time(() => RunTool(clamscan, "--no-summary", "-r", "--max-filesize=4000M", "--max-scansize=4000M", "-d", db, tree));
                double ratio = clam / fleet.Seconds;
                log.WriteLine($"clamscan over all {clones + 1} file trees: {clam:0.00} s; fleet scan {fleet.Seconds:0.00} s; ratio {ratio:0.0}");
                rows.Add(("fleet scan vs one clamscan over all clones' files", $"{ratio:0.0}x faster", ">= 5x", ratio >= 5));
                Directory.Delete(tree, recursive: true);

                long stagedBytes = Directory.EnumerateFiles(staging).Sum(f => new FileInfo(f).Length);
                double clamTp = stagedBytes / Time(() => RunTool(clamscan, "--no-summary", "-r", "--max-filesize=4000M", "--max-scansize=4000M", "-d", db, staging)) / MiB;
                double ownTp = stagedBytes / Time(() =>
                {
                    foreach (string f in Directory.EnumerateFiles(staging))
                    {
                        using var s = new FileDiskSource(f);
                        engine.ScanAsync(s, default).GetAwaiter().GetResult();
                    }
                }) / MiB;
                log.WriteLine($"engine throughput on {Sizes.Format(stagedBytes)}: builtin {ownTp:0} MiB/s, clamscan {clamTp:0} MiB/s");
                rows.Add(("built-in engine throughput vs clamscan", $"{ownTp:0} vs {clamTp:0} MiB/s = {ownTp / clamTp:0.0}x", ">= 5x", ownTp >= 5 * clamTp));
            }
            else
            {
                log.WriteLine(skipPeers ? "--skip-peers: clamscan comparisons not run" : "clamscan not installed: peer comparisons skipped");
            }

            // d = 0: idle clones cost almost nothing beyond the parent.
            var idle = new List<string>();
            for (int i = 0; i < idleClones; i++)
            {
                string p = Path.Combine(dir, $"idle-{i:D3}.vhdx");
                VhdxDisk.CreateDifferencing(p, golden, new VhdxDifferencingOptions { Durable = false });
                idle.Add(p);
            }

            FleetReport parentOnly = Scan(engine, golden, [], full: false, null);
            FleetReport idleFleet = Scan(engine, golden, idle, full: false, null);
            double idleRatio = idleFleet.Seconds / parentOnly.Seconds;
            log.WriteLine($"d=0: {idleClones} idle clones {idleFleet.Seconds:0.00} s vs parent alone {parentOnly.Seconds:0.00} s = {idleRatio:0.00}");
            rows.Add(($"d = 0, {idleClones} clones vs the parent alone", $"{idleRatio:0.00}x", "<= 1.2x", idleRatio <= 1.2));

            string store = Path.Combine(dir, "verdicts.db");
            using (VerdictStore s = VerdictStore.Open(store))
            {
                Scan(engine, golden, clonePaths, full: false, s);
                FleetReport again = Scan(engine, golden, clonePaths, full: false, s);
                long contentRead = again.Parent.BytesRead + again.Clones.Sum(c => c.BytesRead);
                int rescanned = again.Clones.Count(c => !c.Cached);
                bool sameFindings = again.Clones.Zip(fleet.Clones).All(p => Same(p.First, p.Second));
                log.WriteLine($"nightly re-run, nothing changed: {contentRead} bytes read, {rescanned} clones rescanned, findings unchanged: {sameFindings}, {again.Seconds:0.00} s");
                rows.Add(("nightly re-run with nothing changed", $"{contentRead} bytes read, {rescanned} rescanned", "0 bytes, same findings", contentRead == 0 && again.ParentFromStore && sameFindings));
            }

            if (pg is not null)
            {
                // The same fleet with a fresh store of each kind (the parent and every clone stored), then again (all
                // reused); the two stores alternate so the load of the machine falls on both alike.
                var sqlite = new double[2];
                var postgres = new double[2];
                using (IVerdictStore s = VerdictStore.Open(Path.Combine(dir, "compare.db")))
                using (IVerdictStore p = VerdictStores.Open(pg))
                {
                    for (int run = 0; run < 2; run++)
                    {
                        sqlite[run] = Scan(engine, golden, clonePaths, full: false, s).Seconds;
                        postgres[run] = Scan(engine, golden, clonePaths, full: false, p).Seconds;
                    }

                    foreach (string problem in s.Problems.Concat(p.Problems))
                    {
                        log.WriteLine($"store problem: {problem}");
                    }

                    bool clean = s.Problems.Count == 0 && p.Problems.Count == 0;
                    log.WriteLine($"store {p.Display}: cold {postgres[0]:0.00} s vs SQLite {sqlite[0]:0.00} s; warm {postgres[1]:0.00} s vs {sqlite[1]:0.00} s");
                    rows.Add(($"scan, PostgreSQL store vs SQLite, cold, {clones} clones", $"{postgres[0] / sqlite[0]:0.00}x", "<= 1.1x", clean && postgres[0] <= 1.1 * sqlite[0]));
                    rows.Add(("scan, PostgreSQL store vs SQLite, re-run (all reused)", $"{postgres[1] / sqlite[1]:0.00}x", "<= 1.1x", clean && postgres[1] <= 1.1 * sqlite[1]));
                }
            }

            log.WriteLine();
            foreach ((string f, string m, string t, bool p) in rows)
            {
                log.WriteLine($"{f,-52} {m,-46} {t,-24} {(p ? "yes" : "NO")}");
            }

            return rows.All(r => r.Item4) ? 0 : 1;
        }
        finally
        {
            if (!keep)
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    private static bool Same(DiskReport a, DiskReport b) =>
        a.Findings.Select(f => (f.Path, f.Stream, f.Signature)).Order().SequenceEqual(b.Findings.Select(f => (f.Path, f.Stream, f.Signature)).Order());

    private static FleetReport Scan(IScanEngine engine, string golden, List<string> clones, bool full, IVerdictStore? store) =>
        new FleetScanner(engine, new FleetScanOptions { Full = full, Store = store }).ScanAsync(golden, clones).GetAwaiter().GetResult();

    private static string BuildSignatures()
    {
        var sb = new StringBuilder();
        sb.Append("Bench.Eicar:0:*:").Append(Convert.ToHexStringLower(Encoding.ASCII.GetBytes(Eicar))).Append('\n');
        var rng = new Random(99);
        for (int i = 0; i < 200; i++)
        {
            byte[] pattern = new byte[24];
            rng.NextBytes(pattern);
            sb.Append(CultureInfo.InvariantCulture, $"Bench.Random{i}:0:*:{Convert.ToHexStringLower(pattern[..12])}{{4-16}}{Convert.ToHexStringLower(pattern[12..])}\n");
        }

        return sb.ToString();
    }

    /// <summary>
    /// Files of 64 KiB–4 MiB (seeded) filling ~85% of an NTFS volume (written with ntfs-3g) or an ext4 volume (mke2fs -d),
    /// one EICAR file, in one MBR partition.
    /// </summary>
    private static void BuildGolden(string dir, string staging, string golden, long size, string fs)
    {
        Directory.CreateDirectory(staging);
        var rng = new Random(1234);
        long budget = size * 85 / 100;
        long total = 0;
        byte[] buf = new byte[4 * MiB];
        for (int i = 0; total < budget; i++)
        {
            int len = rng.Next(64 * 1024, 4 * 1024 * 1024);
            rng.NextBytes(buf.AsSpan(0, len));
            File.WriteAllBytes(Path.Combine(staging, $"f{i:D5}.bin"), buf.AsSpan(0, len).ToArray());
            total += len;
        }

        File.WriteAllText(Path.Combine(staging, "eicar.com"), Eicar);
        string volume = Path.Combine(dir, "volume.raw");
        using (var fsStream = new FileStream(volume, FileMode.Create))
        {
            fsStream.SetLength(size - MiB);
        }

        if (fs == "ext4")
        {
            RunTool(FindTool("mke2fs") ?? "/usr/sbin/mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-L", "golden", "-d", staging, volume);
        }
        else
        {
            RunTool(FindTool("mkntfs") ?? "/usr/sbin/mkntfs", "-F", "-Q", "-T", "-c", "4096", "-L", "golden", volume);
            string mount = Path.Combine(dir, "mnt");
            Directory.CreateDirectory(mount);
            RunTool(FindTool("ntfs-3g") ?? "/usr/bin/ntfs-3g", volume, mount);
            try
            {
                foreach (string f in Directory.EnumerateFiles(staging))
                {
                    File.Copy(f, Path.Combine(mount, Path.GetFileName(f)));
                }
            }
            finally
            {
                RunTool("/bin/umount", mount);
            }
        }

        VhdxDisk.Create(golden, new VhdxCreateOptions { VirtualSize = size });
        using VhdxDisk g = VhdxDisk.Open(golden, new VhdxOpenOptions { Writable = true });
        byte[] mbr = new byte[512];
        long sectors = (size - MiB) / 512;
        mbr[446 + 4] = fs == "ext4" ? (byte)0x83 : (byte)0x07;
        BitConverter.TryWriteBytes(mbr.AsSpan(446 + 8), 2048u);
        BitConverter.TryWriteBytes(mbr.AsSpan(446 + 12), (uint)sectors);
        mbr[510] = 0x55;
        mbr[511] = 0xAA;
        g.Write(mbr, 0);
        using var v = new FileDiskSource(volume);
        byte[] chunk = new byte[32 * MiB];
        for (long o = 0; o < v.Length; o += chunk.Length)
        {
            int n = v.Read(chunk, o);
            if (chunk.AsSpan(0, n).ContainsAnyExcept((byte)0))
            {
                g.Write(chunk.AsSpan(0, n), MiB + o);
            }
        }

        File.Delete(volume);
    }

    private static (List<string> Clones, long ModifiedBytes, long MftBytes) MakeClones(string dir, string golden, int count, double d, long size)
    {
        var files = new List<(string Path, long Size, IReadOnlyList<ByteRange> Ranges)>();
        long mftBytes = 0;
        using (VhdxDisk g = VhdxDisk.Open(golden))
        {
            IGuestVolume vol = GuestDisk.Open(g, golden).Volumes.First();
            if (vol is NtfsVolume ntfs)
            {
                mftBytes = ntfs.MftRecordCount * ntfs.MftRecordSize;
            }

            vol.Visit((in GuestFileView e) =>
            {
                if (!e.IsDirectory && e.Name.StartsWith('f') && e.StreamCount > 0)
                {
                    files.Add((e.Path.ToString(), e.Size, e.GetSectorMap().StreamRanges(0).ToArray()));
                }
            });
        }

        var paths = new List<string>();
        long modified = 0;
        var rng = new Random(77);
        for (int c = 0; c < count; c++)
        {
            string path = Path.Combine(dir, $"clone-{c:D3}.vhdx");
            VhdxDisk.CreateDifferencing(path, golden, new VhdxDifferencingOptions { Durable = false });
            using VhdxDisk clone = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true });
            long target = (long)(d * size);
            long done = 0;
            while (done < target)
            {
                var f = files[rng.Next(files.Count)];
                foreach (ByteRange r in f.Ranges)
                {
                    byte[] data = new byte[r.Length];
                    rng.NextBytes(data);
                    if (c % 10 == 0 && done == 0)
                    {
                        Encoding.ASCII.GetBytes(Eicar).CopyTo(data, 100);
                    }

                    clone.Write(data, r.Offset);
                }

                done += f.Size;
            }

            modified += done;
            paths.Add(path);
        }

        return (paths, modified, mftBytes);
    }

    /// <summary>clamscan's view of every clone: one directory per disk, unchanged files hard links to the golden's.</summary>
    private static void ExtractTree(string tree, string staging, string golden, List<string> clones)
    {
        Directory.CreateDirectory(tree);
        RunTool("/bin/cp", "-al", staging, Path.Combine(tree, "golden"));
        foreach (string c in clones)
        {
            string cdir = Path.Combine(tree, Path.GetFileNameWithoutExtension(c));
            RunTool("/bin/cp", "-al", staging, cdir);
            using VhdxDisk clone = VhdxDisk.Open(c);
            var divergent = clone.GetAllocatedRanges().ToList();
            IGuestVolume vol = GuestDisk.Open(clone, c).Volumes.First();
            var changed = new List<GuestFileEntry>();
            vol.Visit((in GuestFileView e) =>
            {
                if (!e.IsDirectory && e.StreamCount > 0 && ByteRanges.Touches(e.GetSectorMap().StreamRanges(0), divergent))
                {
                    changed.Add(e.ToEntry());
                }
            });

            // A changed file gets its own bytes; every other file stays a hard link to the golden's copy.
            foreach (GuestFileEntry e in changed)
            {
                string target = Path.Combine(cdir, e.Name);
                File.Delete(target);
                using FileStream fs = File.Create(target);
                new DiskStream(vol.OpenStream(e)).CopyTo(fs);
            }
        }
    }

}
