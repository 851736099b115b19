using System.Diagnostics;
using System.Security.Cryptography;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Cli.Tests.Serve;

/// <summary><c>prism serve</c> as a real process: goldens read-only, the lease against catalog operations, clean SIGTERM,
/// and a SIGKILL under a write workload that loses nothing flushed.</summary>
public sealed class ServeCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    /// <summary>Starts <c>prism serve</c> and waits for its "ready" line.</summary>
    private static Process Serve(params string[] args)
    {
        var psi = new ProcessStartInfo(Dotnet) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "prism.dll"), "serve" }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        Process p = Process.Start(psi)!;
        var seen = new System.Text.StringBuilder();
        var wait = Stopwatch.StartNew();
        while (p.StandardOutput.ReadLine() is { } line)
        {
            seen.AppendLine(line);
            if (line == "ready")
            {
                return p;
            }

            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(60), "serve did not get ready: " + seen);
        }

        p.WaitForExit();
        throw new Xunit.Sdk.XunitException($"serve exited {p.ExitCode} before it was ready: {seen}{p.StandardError.ReadToEnd()}");
    }

    private (string Catalog, string Golden, string Clone) Catalog()
    {
        string catalog = _dir.File("catalog.db");
        string golden = _dir.File("g.vhdx");
        Assert.Equal(0, Run("disk", "create", golden, "--size", "32MiB", "--block-size", "1MiB", "--catalog", catalog).Code);
        Assert.Equal(0, Run("golden", "add", golden, "--name", "g", "--catalog", catalog).Code);
        Assert.Equal(0, Run("clone", "new", "g", "web", "--catalog", catalog).Code);
        return (catalog, golden, _dir.File("web.vhdx"));
    }

    [SkippableFact]
    public void ServedClone_IsLockedAgainstCatalogOperations_UntilSigtermStopsTheServerCleanly()
    {
        Skip.If(OperatingSystem.IsWindows(), "signals");
        string nbdinfo = Oracle.Require("nbdinfo", "libnbd-bin");
        (string catalog, string golden, string clone) = Catalog();
        string sock = _dir.File("s.sock");
        string goldenHash = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(golden)));

        using Process server = Serve(golden, "--catalog", catalog, "--listen", "unix:" + sock, "--clone", "web");
        try
        {
            Assert.Contains("is_read_only: true", Oracle.Run(nbdinfo, [$"nbd+unix:///g?socket={sock}"]).StdOut, StringComparison.Ordinal);
            Assert.Contains("is_read_only: false", Oracle.Run(nbdinfo, [$"nbd+unix:///web?socket={sock}"]).StdOut, StringComparison.Ordinal);
            foreach (string[] op in new[] { new[] { "clone", "reset", "web" }, ["clone", "remove", "web"] })
            {
                (int code, _, string err) = Run([.. op, "--catalog", catalog]);
                Assert.Equal(1, code);
                Assert.Contains("being served", err, StringComparison.Ordinal);
            }

            (int writeCode, _, string writeErr) = Run("disk", "write", clone, "--offset", "0", "--input", golden, "--catalog", catalog);
            Assert.NotEqual(0, writeCode);
            Assert.Contains("being served", writeErr, StringComparison.Ordinal);
            Assert.True(File.Exists(clone));
        }
        finally
        {
            Oracle.Run("kill", ["-TERM", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], check: false);
            Assert.True(server.WaitForExit(30_000), "serve did not stop on SIGTERM");
        }

        Assert.Equal(0, server.ExitCode);
        Assert.Contains("stopped after", server.StandardOutput.ReadToEnd(), StringComparison.Ordinal);
        Assert.False(File.Exists(sock));
        Assert.False(DiskLease.IsHeld(clone));
        Assert.Equal(0, Run("clone", "reset", "web", "--catalog", catalog).Code);
        Assert.Equal(goldenHash, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(golden))));
    }

    [SkippableFact]
    public void SigkillAtRandomPoints_UnderAWriteWorkload_LeavesAWriteableCheckedCloneHoldingEveryFlushedWrite()
    {
        Skip.If(OperatingSystem.IsWindows(), "signals");
        string qemuIo = Oracle.Require("qemu-io", "qemu-utils");
        (_, _, string clone) = Catalog();
        var rng = new Random(1509);

        // The 32 MiB clone as 512 slots of 64 KiB; each write takes a slot no other write ever takes, so a slot's content
        // is known once the flush after its write has been answered, whatever was in flight at a kill.
        var free = new Queue<int>(Enumerable.Range(0, 512).OrderBy(_ => rng.Next()));
        var flushed = new List<(long Offset, int Length, byte Pattern)>();
        for (int kill = 0; kill < 4; kill++)
        {
            // Unix socket and TCP on loopback alternately (nbd+unix:// and nbd://127.0.0.1).
            string listen, uri;
            if (kill % 2 == 0)
            {
                string sock = _dir.File($"k{kill}.sock");
                (listen, uri) = ("unix:" + sock, $"nbd+unix:///web?socket={sock}");
            }
            else
            {
                int port = FreeTcpPort();
                (listen, uri) = ($"tcp:127.0.0.1:{port}", $"nbd://127.0.0.1:{port}/web");
            }

            using Process server = Serve(clone, "--listen", listen);
            int delayMs = rng.Next(150, 1500);
            var workload = Task.Run(() =>
            {
                // Rounds of writes (aligned and not), each ended by a flush that qemu-io waits for: a round whose
                // process exits 0 is acknowledged durable. Rounds go on until the killed server stops answering.
                var local = new Random(kill);
                while (true)
                {
                    var round = new List<(long Offset, int Length, byte Pattern)>();
                    var args = new List<string> { "-f", "raw" };
                    lock (free)
                    {
                        for (int i = 0; i < 6 && free.Count > 0; i++)
                        {
                            long slot = free.Dequeue() * 65536L;
                            (long offset, int length) = local.Next(2) == 0 ? (slot, 65536) : (slot + local.Next(1, 4000), local.Next(1, 60000));
                            byte pattern = (byte)local.Next(1, 256);
                            args.AddRange(["-c", $"write -P {pattern} {offset} {length}"]);
                            round.Add((offset, length, pattern));
                        }
                    }

                    if (round.Count == 0)
                    {
                        return;
                    }

                    args.AddRange(["-c", "flush", uri]);
                    if (Oracle.Run(qemuIo, args, check: false, timeoutMs: 60_000).ExitCode != 0)
                    {
                        return;
                    }

                    lock (flushed)
                    {
                        flushed.AddRange(round);
                    }
                }
            });

            Thread.Sleep(delayMs);
            server.Kill();
            server.WaitForExit();
            Assert.True(workload.Wait(TimeSpan.FromSeconds(60)), "the workload did not end after the kill");

            Assert.False(DiskLease.IsHeld(clone), "the kernel drops the lease of a killed server");
            using VhdxDisk d = VhdxDisk.Open(clone, new VhdxOpenOptions { Writable = true }); // replays the log if needed
            Assert.DoesNotContain(d.CheckChain(), i => i.Issue.Severity == VhdxCheckSeverity.Error);
            foreach ((long offset, int length, byte pattern) in flushed)
            {
                byte[] buf = new byte[length];
                d.ReadExactly(buf, offset);
                Assert.True(buf.All(b => b == pattern), $"kill {kill} after {delayMs} ms: the flushed write of {length} bytes at {offset} was lost");
            }
        }

        Assert.True(flushed.Count >= 24, $"only {flushed.Count} writes were flushed before the kills: the workload did not run");
    }

    private static int FreeTcpPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public void ServeWithoutDisks_IsAUsageError()
    {
        (int code, _, string err) = Run("serve");
        Assert.Equal(2, code);
        Assert.Contains("serve needs DISK", err, StringComparison.Ordinal);
    }
}
