using System.Diagnostics;
using System.Globalization;
using Prism.Disks.Vhdx;
using Prism.Nbd;
using static Prism.Cli.BenchTools;

namespace Prism.Cli;

/// <summary>
/// <c>prism bench nbd</c>: the NBD figures of issue #15, against qemu-nbd serving the same content as a qcow2 overlay on
/// a raw base, both over a unix socket, in the same run. Sequential read: nbdcopy of the whole export to null:. Random-ish
/// writes: <c>qemu-img bench -w -d 16 -s 4096</c> with a step that scatters the writes over the disk.
/// </summary>
internal static class BenchNbd
{
    private const long MiB = 1L << 20;

    public static int Run(long size, int writes, int runs, string? dirOption, bool keep, TextWriter log)
    {
        string qemuImg = RequireTool("qemu-img", "qemu-utils");
        string qemuIo = RequireTool("qemu-io", "qemu-utils");
        string qemuNbd = RequireTool("qemu-nbd", "qemu-utils");
        string nbdcopy = RequireTool("nbdcopy", "libnbd-bin");
        string dir = dirOption ?? Path.Combine(Path.GetTempPath(), $"prism-bench-nbd-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            // The golden: every block holds data (a full read moves the whole size).
            string golden = Path.Combine(dir, "golden.vhdx");
            string raw = Path.Combine(dir, "golden.raw");
            VhdxDisk.Create(golden, new VhdxCreateOptions { VirtualSize = size, BlockSize = 32 * MiB });
            using (VhdxDisk g = VhdxDisk.Open(golden, new VhdxOpenOptions { Writable = true }))
            {
                byte[] chunk = new byte[4 * MiB];
                var rng = new Random(1);
                for (long o = 0; o < size; o += chunk.Length)
                {
                    rng.NextBytes(chunk);
                    g.Write(chunk.AsSpan(0, (int)Math.Min(chunk.Length, size - o)), o);
                }

                g.Flush();
            }

            RunTool(qemuImg, "convert", "-f", "vhdx", "-O", "raw", golden, raw);
            log.WriteLine($"golden: {Sizes.Format(size)} of data (VHDX and the same bytes as raw for qemu)");
            var rows = new List<(string Figure, double Prism, double Peer, string Unit, double Target)>();
            for (int run = 0; run < runs; run++)
            {
                string clone = Path.Combine(dir, $"clone-{run}.vhdx");
                string overlay = Path.Combine(dir, $"overlay-{run}.qcow2");
                VhdxDisk.CreateDifferencing(clone, golden);
                RunTool(qemuImg, "create", "-q", "-f", "qcow2", "-b", raw, "-F", "raw", overlay);
                string prismSock = Path.Combine(dir, $"prism-{run}.sock");
                string qemuSock = Path.Combine(dir, $"qemu-{run}.sock");
                var server = new NbdServer([NbdExport.Open(clone, "clone", readOnly: false, protectedReason: null)]);
                server.Listen(NbdEndpoint.Parse("unix:" + prismSock));
                using Process peer = Process.Start(new ProcessStartInfo(qemuNbd, ["-k", qemuSock, "-f", "qcow2", "-x", "clone", "--shared=16", "--persistent", overlay])
                {
                    RedirectStandardError = true,
                    RedirectStandardOutput = true,
                })!;
                try
                {
                    WaitForSocket(qemuSock, peer);
                    string prismUri = $"nbd+unix:///clone?socket={prismSock}";
                    string qemuUri = $"nbd+unix:///clone?socket={qemuSock}";
                    double prismRead = Time(() => RunTool(nbdcopy, prismUri, "null:"));
                    double qemuRead = Time(() => RunTool(nbdcopy, qemuUri, "null:"));
                    rows.Add(("sequential read (nbdcopy)", size / MiB / prismRead, size / MiB / qemuRead, "MiB/s", 0.9));
                    string step = (size / writes / 4096 * 4096).ToString(CultureInfo.InvariantCulture);
                    string count = writes.ToString(CultureInfo.InvariantCulture);
                    double prismWrite = Time(() => RunTool(qemuImg, "bench", "-q", "-f", "raw", "-w", "-d", "16", "-s", "4096", "-S", step, "-c", count, prismUri));
                    double qemuWrite = Time(() => RunTool(qemuImg, "bench", "-q", "-f", "raw", "-w", "-d", "16", "-s", "4096", "-S", step, "-c", count, qemuUri));
                    rows.Add(("4 KiB writes, queue depth 16 (qemu-img bench)", writes / prismWrite, writes / qemuWrite, "IOPS", 1.0));
                    RunTool(qemuIo, "-f", "raw", "-c", "flush", prismUri);
                }
                finally
                {
                    server.DisposeAsync().AsTask().GetAwaiter().GetResult();
                    peer.Kill();
                    peer.WaitForExit();
                }
            }

            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"figure",-48} {"prism",12} {"qemu-nbd",12} {"ratio",7} {"target",7}  ({runs} runs, medians)"));
            bool pass = true;
            foreach (var g in rows.GroupBy(r => r.Figure))
            {
                double p = Median([.. g.Select(r => r.Prism)]);
                double q = Median([.. g.Select(r => r.Peer)]);
                double target = g.First().Target;
                pass &= p / q >= target;
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{g.Key,-48} {p,8:0.0} {g.First().Unit,-4}{q,8:0.0} {g.First().Unit,-4}{p / q,6:0.00} {"≥ " + target.ToString("0.0", CultureInfo.InvariantCulture),7}  {(p / q >= target ? "met" : "NOT met")}"));
            }

            return pass ? 0 : 1;
        }
        finally
        {
            if (!keep)
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    private static void WaitForSocket(string path, Process peer)
    {
        var sw = Stopwatch.StartNew();
        while (!File.Exists(path))
        {
            if (peer.HasExited || sw.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException($"qemu-nbd did not start: {peer.StandardError.ReadToEnd()}");
            }

            Thread.Sleep(20);
        }
    }
}
