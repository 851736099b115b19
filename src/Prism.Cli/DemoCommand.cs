using System.Diagnostics;
using System.Text;
using Prism.Disks.Vhdx;

namespace Prism.Cli;

/// <summary><c>prism demo [DIR]</c>: the main job on an embedded default, end to end, in a few seconds.</summary>
internal static class DemoCommand
{
    public static int Run(string[] args, TextWriter stdout)
    {
        var a = new CliArgs(args, new HashSet<string>(StringComparer.Ordinal) { "--keep" });
        string dir = a.Positionals.Count > 0
            ? a.Positionals[0]
            : Path.Combine(Path.GetTempPath(), $"prism-demo-{Environment.ProcessId}");
        bool keep = a.Flag("--keep") || a.Positionals.Count > 0;
        a.RejectUnknown();
        Directory.CreateDirectory(dir);
        try
        {
            string golden = Path.Combine(dir, "golden.vhdx");
            string[] clones = [Path.Combine(dir, "web-01.vhdx"), Path.Combine(dir, "web-02.vhdx")];
            foreach (string f in clones.Append(golden))
            {
                File.Delete(f);
            }

            stdout.WriteLine($"1. create a 64 GiB dynamic golden disk: {golden}");
            VhdxDisk.Create(golden, new VhdxCreateOptions { VirtualSize = 64L << 30 });
            using (VhdxDisk g = VhdxDisk.Open(golden, new VhdxOpenOptions { Writable = true }))
            {
                byte[] image = new byte[8 << 20];
                new Random(42).NextBytes(image);
                g.Write(image, 0);
                g.Write(Encoding.ASCII.GetBytes("golden image v1"), 1L << 30);
                g.Flush();
            }

            stdout.WriteLine("2. clone it twice (differencing children that share the golden's sectors):");
            foreach (string c in clones)
            {
                var sw = Stopwatch.StartNew();
                VhdxDisk.CreateDifferencing(c, golden);
                stdout.WriteLine($"   {Path.GetFileName(c)} in {sw.Elapsed.TotalMilliseconds:0.00} ms");
            }

            stdout.WriteLine("3. let web-01 diverge like a guest would (4 KiB + an unaligned 1000 bytes):");
            using (VhdxDisk c = VhdxDisk.Open(clones[0], new VhdxOpenOptions { Writable = true }))
            {
                c.Write(new byte[4096].AsSpan().ToArray().Select(_ => (byte)0x5A).ToArray(), 4L << 20);
                c.Write(Encoding.ASCII.GetBytes(new string('x', 1000)), (1L << 30) + 100);
                c.Flush();
            }

            stdout.WriteLine("4. info:");
            foreach (string c in clones)
            {
                using VhdxDisk d = VhdxDisk.Open(c);
                stdout.WriteLine($"   {Path.GetFileName(c)}: {d.Type}, virtual {CliArgs.FormatSize(d.VirtualSize)}, file {CliArgs.FormatSize(d.FileSize)}, "
                    + $"holds {d.GetAllocatedBytes()} bytes of its own, parent {Path.GetFileName(d.Parent!.Path)}");
            }

            stdout.WriteLine("5. map of web-01 (layer 0 = the clone, 1 = golden):");
            using (VhdxDisk d = VhdxDisk.Open(clones[0]))
            {
                foreach (ChainRange r in d.GetChainMap())
                {
                    stdout.WriteLine($"   0x{r.Offset:X10} +0x{r.Length:X8}  layer {r.Layer} ({Path.GetFileName(d.Chain[r.Layer].Path)})");
                }

                byte[] check = new byte[15];
                d.ReadExactly(check, 1L << 30);
                stdout.WriteLine($"   web-01 reads \"{Encoding.ASCII.GetString(check)}\" at 1 GiB (own sectors over the golden's)");
            }

            stdout.WriteLine(keep ? $"files kept in {dir}" : "done");
            return 0;
        }
        finally
        {
            if (!keep)
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    private static void ReadExactly(this VhdxDisk disk, Span<byte> buffer, long offset) =>
        Prism.Disks.IO.DiskSourceExtensions.ReadExactly(disk, buffer, offset);
}
