using Prism.Testing;

namespace Prism.Cli.Tests.Front;

/// <summary>Long operations draw a live bar (bytes, rate, ETA) on a terminal and print nothing but their result when redirected.</summary>
public sealed class ProgressTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private static string PrismDll => Path.Combine(AppContext.BaseDirectory, "prism.dll");

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>A catalog holding one golden, g, of <paramref name="size"/>.</summary>
    private string CatalogWithGolden(string size)
    {
        string catalog = _dir.File("catalog.db");
        string golden = _dir.File("g.vhdx");
        Assert.Equal(0, Program.Run(["disk", "create", golden, "--size", size, "--catalog", catalog], TextWriter.Null, TextWriter.Null));
        Assert.Equal(0, Program.Run(["golden", "add", golden, "--name", "g", "--catalog", catalog], TextWriter.Null, TextWriter.Null));
        return catalog;
    }

    private string RawImage()
    {
        string raw = _dir.File("in.raw");
        byte[] data = new byte[48 << 20];
        new Random(11).NextBytes(data);
        File.WriteAllBytes(raw, data);
        return raw;
    }

    [SkippableFact]
    public void DiskImport_InAPseudoTerminal_ShowsABarWithBytesAndRate()
    {
        Skip.If(OperatingSystem.IsWindows(), "script(1) runs on Linux");
        string script = Oracle.Require("script", "bsdutils");
        string raw = RawImage();
        string vhdx = _dir.File("out.vhdx");

        // script(1) gives the command a pseudo-terminal as stdin/stdout/stderr and copies what it draws to its stdout.
        ProcessResult r = Oracle.Run(script, ["-qfec", $"{Quote(Dotnet)} {Quote(PrismDll)} disk import {Quote(raw)} {Quote(vhdx)}", "/dev/null"],
            timeoutMs: 120_000);

        Assert.Contains("importing in.raw", r.StdOut, StringComparison.Ordinal);
        // The rate's unit follows the machine's speed (a cached 48 MiB import can pass 1 GiB/s), so any unit counts.
        Assert.Matches(@"\d+(\.\d+)? (B|KiB|MiB|GiB|TiB)/s", r.StdOut);
        Assert.Contains("%", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("\u001b[", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("imported", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void DiskImport_Redirected_PrintsOnlyTheResult()
    {
        string raw = RawImage();
        string vhdx = _dir.File("out.vhdx");

        ProcessResult r = Oracle.Run(Dotnet, [PrismDll, "disk", "import", raw, vhdx]);

        Assert.Equal("", r.StdErr);
        Assert.DoesNotContain("\u001b", r.StdOut, StringComparison.Ordinal);
        Assert.StartsWith("imported ", r.StdOut, StringComparison.Ordinal);
        Assert.Single(r.StdOut.TrimEnd('\n').Split('\n'));
    }

    [SkippableFact]
    public void CloneNewCount_InAPseudoTerminal_ShowsABar_AndNotWithQuiet()
    {
        Skip.If(OperatingSystem.IsWindows(), "script(1) runs on Linux");
        string script = Oracle.Require("script", "bsdutils");
        string catalog = CatalogWithGolden("16MiB");
        string command = $"{Quote(Dotnet)} {Quote(PrismDll)} clone new g --count 5 --prefix web --catalog {Quote(catalog)}";

        ProcessResult shown = Oracle.Run(script, ["-qfec", command, "/dev/null"], timeoutMs: 120_000);
        ProcessResult quiet = Oracle.Run(script, ["-qfec", command.Replace("web", "db", StringComparison.Ordinal) + " --quiet", "/dev/null"], timeoutMs: 120_000);

        Assert.Contains("creating 5 clones of g", shown.StdOut, StringComparison.Ordinal);
        Assert.Contains("5 clone(s) of g", shown.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("creating 5 clones", quiet.StdOut, StringComparison.Ordinal);
        Assert.Contains("5 clone(s) of g", quiet.StdOut, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void CloneMerge_InAPseudoTerminal_ShowsABarWithBytesAndRate_AndNothingWhenRedirected()
    {
        Skip.If(OperatingSystem.IsWindows(), "script(1) runs on Linux");
        string script = Oracle.Require("script", "bsdutils");
        string catalog = CatalogWithGolden("64MiB");
        Assert.Equal(0, Program.Run(["clone", "new", "g", "mid", "--catalog", catalog], TextWriter.Null, TextWriter.Null));
        string data = RawImage();
        Assert.Equal(0, Program.Run(["clone", "new", "mid", "a", "--catalog", catalog], TextWriter.Null, TextWriter.Null));
        Assert.Equal(0, Program.Run(["disk", "write", _dir.File("a.vhdx"), "--offset", "0", "--input", data, "--catalog", catalog], TextWriter.Null, TextWriter.Null));
        ProcessResult shown = Oracle.Run(script, ["-qfec", $"{Quote(Dotnet)} {Quote(PrismDll)} clone merge a --catalog {Quote(catalog)}", "/dev/null"],
            timeoutMs: 120_000);

        Assert.Contains("merging a into its parent", shown.StdOut, StringComparison.Ordinal);
        Assert.Matches(@"\d+(\.\d+)? (B|KiB|MiB|GiB|TiB)/s", shown.StdOut);
        Assert.Contains("\u001b[", shown.StdOut, StringComparison.Ordinal);
        Assert.Contains("merged into its parent: a", shown.StdOut, StringComparison.Ordinal);

        Assert.Equal(0, Program.Run(["clone", "new", "mid", "c", "--catalog", catalog], TextWriter.Null, TextWriter.Null));
        Assert.Equal(0, Program.Run(["disk", "write", _dir.File("c.vhdx"), "--offset", "0", "--input", data, "--catalog", catalog], TextWriter.Null, TextWriter.Null));
        ProcessResult quiet = Oracle.Run(Dotnet, [PrismDll, "clone", "merge", "c", "--catalog", catalog]);
        Assert.Equal("", quiet.StdErr);
        Assert.Equal("merged into its parent: c\n", quiet.StdOut);
    }
}
