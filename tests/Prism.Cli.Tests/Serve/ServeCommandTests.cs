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
    public void SigkillUnderAWriteWorkload_LeavesAWriteableCheckedCloneHoldingEveryFlushedWrite()
    {
        Skip.If(OperatingSystem.IsWindows(), "signals");
        string qemuIo = Oracle.Require("qemu-io", "qemu-utils");
        (_, _, string clone) = Catalog();
        string sock = _dir.File("k.sock");
        string uri = $"nbd+unix:///web?socket={sock}";
        using Process server = Serve(clone, "--listen", "unix:" + sock);
        var flushed = new List<(long Offset, byte Pattern)>();
        try
        {
            // Rounds of writes, each ended by a flush that qemu-io waits for: those are acknowledged durable.
            for (int round = 0; round < 6; round++)
            {
                var args = new List<string> { "-f", "raw" };
                for (int i = 0; i < 8; i++)
                {
                    long offset = ((round * 8L) + i) * 65536;
                    byte pattern = (byte)(1 + (round * 8) + i);
                    args.AddRange(["-c", $"write -P {pattern} {offset} 65536"]);
                    flushed.Add((offset, pattern));
                }

                args.AddRange(["-c", "flush", uri]);
                Oracle.Run(qemuIo, args);
            }

            // An unflushed burst in flight when the kill lands.
            var burst = Process.Start(new ProcessStartInfo(qemuIo, ["-f", "raw", "-c", "write -P 250 16777216 8388608", uri])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            Thread.Sleep(50);
            server.Kill();
            server.WaitForExit();
            burst.WaitForExit(30_000);
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill();
            }
        }

        Assert.False(DiskLease.IsHeld(clone), "the kernel drops the lease of a killed server");
        using VhdxDisk d = VhdxDisk.Open(clone, new VhdxOpenOptions { Writable = true }); // replays the log if needed
        Assert.DoesNotContain(d.CheckChain(), i => i.Issue.Severity == VhdxCheckSeverity.Error);
        byte[] buf = new byte[65536];
        foreach ((long offset, byte pattern) in flushed)
        {
            d.ReadExactly(buf, offset);
            Assert.True(buf.All(b => b == pattern), $"flushed write at {offset} lost");
        }
    }

    [Fact]
    public void ServeWithoutDisks_IsAUsageError()
    {
        (int code, _, string err) = Run("serve");
        Assert.Equal(2, code);
        Assert.Contains("serve needs DISK", err, StringComparison.Ordinal);
    }
}
