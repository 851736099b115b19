using System.CommandLine;
using System.IO.Compression;
using System.Text;
using Prism.Disks.IO;
using Prism.Disks.Ntfs;
using Prism.Disks.Partitions;
using Prism.Disks.Vhdx;
using Prism.Provisioner.Catalog;
using Prism.Provisioner.Cloning;
using Prism.Scanner.Fleet;
using Prism.Scanner.Signatures;

namespace Prism.Cli;

/// <summary>
/// <c>prism demo [DIR]</c>: Prism's main job on the golden NTFS disk shipped inside the CLI: register and seal it,
/// stamp out clones, let some diverge the way guests would (a rewritten library, an infected file, a boot-sector
/// style infection in unpartitioned space), then run the fleet scan and show what it found and what it did not read.
/// </summary>
internal static class DemoCommand
{
    private const string Eicar = @"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

    /// <summary><c>prism demo [DIR]</c>.</summary>
    public static Command Create()
    {
        var dirArg = new Argument<string?>("DIR") { Description = "an empty or new folder for the demo's files (kept); default: a temporary folder, deleted", Arity = ArgumentArity.ZeroOrOne };
        var clones = CliOptions.Int("--clones", "clones to create", 8, minimum: 1);
        var keepOption = CliOptions.Flag("--keep", "keep the temporary folder");
        var demo = new Command("demo", "Prism's main job on the golden NTFS disk shipped in the CLI: register and seal it, clone it, let the "
            + "clones diverge like guests (a rewritten file, an infected file, a boot-sector style infection), then run the fleet scan "
            + "and show what it found and how many bytes it did not have to read") { dirArg, clones, keepOption };
        demo.SetAction(p => Run(p.GetValue(dirArg), p.GetValue(clones)!.Value, p.GetValue(keepOption), p.InvocationConfiguration.Output));
        return demo;
    }

    private static int Run(string? dirArgument, int count, bool keepOption, TextWriter stdout)
    {
        string dir = Path.GetFullPath(dirArgument ?? Path.Combine(Path.GetTempPath(), $"prism-demo-{Environment.ProcessId}"));
        bool keep = keepOption || dirArgument is not null;
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
        {
            throw new UsageException($"{dir} is not empty; give an empty or new directory");
        }

        Directory.CreateDirectory(dir);
        try
        {
            string golden = Path.Combine(dir, "golden-ntfs.vhdx");
            using (Stream res = typeof(DemoCommand).Assembly.GetManifestResourceStream("Prism.Cli.Demo.golden-ntfs.vhdx.gz")!)
            using (var gz = new GZipStream(res, CompressionMode.Decompress))
            using (FileStream f = File.Create(golden))
            {
                gz.CopyTo(f);
            }

            stdout.WriteLine($"1. golden image unpacked: {golden}");
            using (VhdxDisk g = VhdxDisk.Open(golden))
            {
                NtfsVolume v = NtfsVolume.Open(PartitionTable.Read(g).Partitions[0]);
                stdout.WriteLine($"   {Sizes.Format(g.VirtualSize)} VHDX, NTFS volume \"{v.VolumeLabel}\" with {v.Enumerate().Count(e => !e.IsDirectory)} files");
            }

            using var catalog = PrismCatalog.Open(Path.Combine(dir, "catalog.db"));
            var manager = new CloneManager(catalog);
            manager.AddGolden(golden, "web-golden");
            stdout.WriteLine("2. registered and sealed as web-golden (read-only: Prism refuses any write to it)");

            var sw = System.Diagnostics.Stopwatch.StartNew();
            IReadOnlyList<CloneRecord> clones = manager.NewClones("web-golden", manager.NextNames("web", count));
            stdout.WriteLine($"3. {clones.Count} clones created in {sw.Elapsed.TotalMilliseconds:0.0} ms (each shares every sector of the golden)");

            stdout.WriteLine("4. guests write to their disks:");
            Diverge(clones[0].Path, "lib2.dll", infect: false, stdout);
            Diverge(clones[1].Path, "lib3.dll", infect: true, stdout);
            using (VhdxDisk c = VhdxDisk.Open(clones[2].Path, new VhdxOpenOptions { Writable = true }))
            {
                c.Write(Encoding.ASCII.GetBytes(Eicar), 64 * 1024);
                stdout.WriteLine($"   {Path.GetFileName(clones[2].Path)}: test signature written into unpartitioned space (0x10000), outside any file");
            }

            foreach (CloneStatus s in manager.ListClones().Take(4))
            {
                stdout.WriteLine($"   {s.Record.Name}: holds {Sizes.Format(s.AllocatedBytes)} of its own ({s.DivergencePercent:0.000}% of the disk)");
            }

            string db = Path.Combine(dir, "demo.ndb");
            File.WriteAllText(db, $"Demo.EICAR-Test-Signature:0:*:{Convert.ToHexStringLower(Encoding.ASCII.GetBytes(Eicar))}\n");
            var engine = new BuiltinEngine(SignatureDatabase.Load(db));
            List<string> paths = clones.Select(c => c.Path).ToList();
            FleetReport fleet = new FleetScanner(engine).ScanAsync(golden, paths).GetAwaiter().GetResult();
            FleetReport full = new FleetScanner(engine, new FleetScanOptions { Full = true }).ScanAsync(golden, paths).GetAwaiter().GetResult();

            stdout.WriteLine("5. fleet scan (golden read once, then only what each clone changed):");
            stdout.WriteLine($"   {"disk",-22} {"findings",-52} {"read",10} {"not re-read",12}");
            stdout.WriteLine($"   {"web-golden",-22} {"-",-52} {Sizes.Format(fleet.Parent.BytesRead),10} {"",12}");
            foreach (DiskReport r in fleet.Clones)
            {
                string found = r.Findings.Count == 0 ? "clean" : string.Join("; ", r.Findings.Select(f => $"{f.Signature} in {(f.DiskOffset is long at ? $"raw space at 0x{at:X}" : f.Path)}"));
                stdout.WriteLine($"   {Path.GetFileNameWithoutExtension(r.Path),-22} {Trim(found, 52),-52} {Sizes.Format(r.BytesRead),10} {Sizes.Format(r.BytesInherited),12}");
            }

            long fleetRead = fleet.Parent.BytesRead + fleet.Clones.Sum(c => c.BytesRead);
            long fullRead = full.Clones.Sum(c => c.BytesRead);
            bool same = fleet.Clones.Zip(full.Clones).All(p => p.First.Findings.Select(f => (f.Path, f.Signature)).SequenceEqual(p.Second.Findings.Select(f => (f.Path, f.Signature))));
            stdout.WriteLine($"6. the fleet scan read {Sizes.Format(fleetRead)}; scanning every clone in full reads {Sizes.Format(fullRead)}: "
                + $"{Sizes.Format(Math.Max(0, fullRead - fleetRead))} not read ({(fullRead == 0 ? 0 : 100.0 * (fullRead - fleetRead) / fullRead):0}%), findings identical: {(same ? "yes" : "NO")}");
            stdout.WriteLine(keep ? $"files kept in {dir}" : "done (files removed; run 'prism demo DIR' to keep them)");
            return same ? 0 : 1;
        }
        finally
        {
            if (!keep)
            {
                foreach (string f in Directory.EnumerateFiles(dir))
                {
                    File.SetAttributes(f, FileAttributes.Normal);
                }

                Directory.Delete(dir, recursive: true);
            }
        }
    }

    private static string Trim(string s, int n) => s.Length <= n ? s : s[..(n - 3)] + "...";

    /// <summary>Rewrites a file's clusters in place through the clone, as the guest's file system would.</summary>
    private static void Diverge(string clonePath, string file, bool infect, TextWriter stdout)
    {
        using VhdxDisk c = VhdxDisk.Open(clonePath, new VhdxOpenOptions { Writable = true });
        NtfsVolume v = NtfsVolume.Open(PartitionTable.Read(c).Partitions[0]);
        NtfsFileEntry e = v.Find("/" + file) ?? throw new InvalidOperationException($"demo disk lacks {file}");
        IReadOnlyList<ByteRange> ranges = v.GetExtents(e).Streams[0].Ranges;
        var rng = new Random(file.Length);
        foreach (ByteRange r in ranges)
        {
            byte[] data = new byte[r.Length];
            rng.NextBytes(data);
            if (infect && r == ranges[0])
            {
                Encoding.ASCII.GetBytes(Eicar).CopyTo(data, 100);
            }

            c.Write(data, r.Offset);
        }

        c.Flush();
        stdout.WriteLine($"   {Path.GetFileName(clonePath)}: {file} rewritten{(infect ? " and infected with a test signature" : "")}");
    }
}
