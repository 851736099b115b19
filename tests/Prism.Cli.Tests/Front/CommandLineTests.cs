using Prism.Testing;

namespace Prism.Cli.Tests.Front;

/// <summary>The System.CommandLine front end: suggestions, usage errors (one line, exit 2), version, response files, completion.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Program.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void MistypedCommand_SuggestsTheNearestOne_Exit2()
    {
        (int code, string stdout, string stderr) = Run("disk", "creat");

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        string first = stderr.Split('\n')[0];
        Assert.Contains("'creat'", first, StringComparison.Ordinal);
        Assert.Contains("did you mean 'create'?", first, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("golden", "lst", "list")]
    [InlineData("clone", "rest", "reset")]
    [InlineData("scna", null, "scan")]
    public void MistypedNames_AreSuggested(string first, string? second, string suggestion)
    {
        (int code, _, string stderr) = second is null ? Run(first) : Run(first, second);

        Assert.Equal(2, code);
        Assert.Contains($"did you mean '{suggestion}'?", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void MistypedOption_IsSuggested()
    {
        (int code, _, string stderr) = Run("disk", "info", _dir.File("x.vhdx"), "--jsn");

        Assert.Equal(2, code);
        Assert.Contains("did you mean '--json'?", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ScanWithoutArguments_PrintsItsUsageOnStderr_Exit2()
    {
        (int code, string stdout, string stderr) = Run("scan");

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("Usage:", stderr, StringComparison.Ordinal);
        Assert.Contains("prism scan [<DISK>...] [command] [options]", stderr, StringComparison.Ordinal);
        Assert.Contains("--signatures", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("disk", "create", "x.vhdx", "--size", "12 parsecs")]
    [InlineData("disk", "create", "x.vhdx")]
    [InlineData("disk", "create", "x.vhdx", "--size", "1GiB", "--type", "sparse")]
    [InlineData("disk", "create", "x.vhdx", "--size", "1GiB", "--logical-sector", "1024")]
    [InlineData("clone", "new", "g", "--count", "many", "--prefix", "p")]
    [InlineData("scan", "p.vhdx", "--engine", "clamd")]
    [InlineData("scan", "p.vhdx", "--store-optional", "--signatures", "s.ndb")]
    [InlineData("vm", "attach", "c.vhdx")]
    public void ValidationErrors_AreOneLineAndAHint_Exit2_NothingWritten(params string[] args)
    {
        string[] inDir = [.. args.Select(a => a.EndsWith(".vhdx", StringComparison.Ordinal) || a.EndsWith(".ndb", StringComparison.Ordinal) ? _dir.File(a) : a)];

        (int code, string stdout, string stderr) = Run(inDir);

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        string[] lines = stderr.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("prism: ", lines[0], StringComparison.Ordinal);
        Assert.Matches("^run 'prism [a-z -]+ --help' for usage$", lines[1]);
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void Version_PrintsTheAssemblyVersion()
    {
        (int code, string stdout, _) = Run("--version");

        Assert.Equal(0, code);
        string expected = typeof(Program).Assembly.GetName().Version!.ToString(3);
        Assert.StartsWith(expected, stdout.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public void ResponseFile_ExpandsToItsArguments()
    {
        string disk = _dir.File("r.vhdx");
        File.WriteAllLines(_dir.File("create.rsp"), ["disk", "create", disk, "--size", "8MiB"]);

        (int code, string stdout, string stderr) = Run("@" + _dir.File("create.rsp"));

        Assert.True(code == 0, stderr);
        Assert.Contains("created", stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(disk));
    }

    [Fact]
    public void HelpOfEachCommand_ShowsDescriptionsAndDefaults()
    {
        (int code, string stdout, _) = Run("disk", "create", "--help");

        Assert.Equal(0, code);
        Assert.Contains("--size <SIZE> (REQUIRED)", stdout, StringComparison.Ordinal);
        Assert.Contains("[default: dynamic]", stdout, StringComparison.Ordinal);
        Assert.Contains("[default: 512]", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void NoCommand_PrintsTheCommandListOnStderr_Exit2()
    {
        (int code, string stdout, string stderr) = Run();

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        foreach (string command in new[] { "disk", "ntfs", "scan", "sigs", "golden", "clone", "catalog", "vm", "demo", "bench", "completion" })
        {
            Assert.Contains($"  {command}", stderr, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("create -> clone -> write -> info -> map", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void SuggestDirective_CompletesSubcommandsAndOptions()
    {
        (int code, string stdout, _) = Run("[suggest:15]", "prism disk creat");
        Assert.Equal(0, code);
        Assert.Contains("create", stdout.Split('\n', StringSplitOptions.TrimEntries));

        (code, stdout, _) = Run("[suggest:22]", "prism scan --signatu");
        Assert.Equal(0, code);
        Assert.Contains("--signatures", stdout.Split('\n', StringSplitOptions.TrimEntries));
    }

    [Theory]
    [InlineData("bash", "complete -o default -F _prism_complete prism")]
    [InlineData("zsh", "compdef _prism_complete prism")]
    [InlineData("pwsh", "Register-ArgumentCompleter -Native -CommandName prism")]
    public void Completion_PrintsTheShellsScript(string shell, string expected)
    {
        (int code, string stdout, _) = Run("completion", shell);

        Assert.Equal(0, code);
        Assert.Contains(expected, stdout, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void BashCompletion_CompletesThroughTheRealProgram()
    {
        Skip.If(OperatingSystem.IsWindows(), "bash completion is checked on Linux");
        string bash = Oracle.Require("bash", "bash");
        string bin = _dir.File("bin");
        Directory.CreateDirectory(bin);
        string dll = Path.Combine(AppContext.BaseDirectory, "prism.dll");
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        File.WriteAllText(Path.Combine(bin, "prism"), $"#!/bin/sh\nexec '{dotnet}' '{dll}' \"$@\"\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(bin, "prism"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        string script = $$"""
            export PATH='{{bin}}':"$PATH"
            eval "$(prism completion bash)"
            COMP_LINE='prism clone re'; COMP_POINT=14; COMP_WORDS=(prism clone re); COMP_CWORD=2
            _prism_complete
            printf '%s\n' "${COMPREPLY[@]}"
            """;

        ProcessResult r = Oracle.Run(bash, ["-c", script]);

        string[] words = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["remove", "reset"], words.Order(StringComparer.Ordinal).ToArray());
    }
}
