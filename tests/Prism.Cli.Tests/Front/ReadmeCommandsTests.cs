using System.Text.RegularExpressions;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Cli.Tests.Front;

/// <summary>
/// Every command the README's "## Commands" block lists has generated help that names every option the README gives
/// it, and runs as documented in a minimal valid invocation (scripts depend on both).
/// </summary>
public sealed partial class ReadmeCommandsTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Command path ("disk create") → the options its README line names.</summary>
    internal static IReadOnlyDictionary<string, SortedSet<string>> ReadmeCommands()
    {
        string readme = File.ReadAllText(Path.Combine(RepoRoot(), "README.md"));
        int heading = readme.IndexOf("\n## Commands", StringComparison.Ordinal);
        Assert.True(heading >= 0, "README has no '## Commands' section");
        int open = readme.IndexOf("```", heading, StringComparison.Ordinal);
        int close = readme.IndexOf("```", open + 3, StringComparison.Ordinal);
        var commands = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (string raw in readme[(open + 3)..close].Split('\n'))
        {
            string line = raw.Split('#')[0].Trim();
            if (!line.StartsWith("prism ", StringComparison.Ordinal))
            {
                continue;
            }

            List<string>? path = null;
            foreach (string segment in line.Split(" | "))
            {
                string[] words = segment.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (words.Length == 0)
                {
                    continue;
                }

                if (words[0] == "prism")
                {
                    path = [.. words.Skip(1).TakeWhile(IsCommandWord)];
                }
                else if (IsCommandWord(words[0]) && path is { Count: > 0 })
                {
                    path = [.. path.Take(path.Count - 1), words[0]];
                }
                else if (path is null)
                {
                    continue;
                }

                string key = string.Join(' ', path);
                if (!commands.TryGetValue(key, out SortedSet<string>? options))
                {
                    commands[key] = options = new SortedSet<string>(StringComparer.Ordinal);
                }

                foreach (Match m in OptionPattern().Matches(segment))
                {
                    options.Add(m.Value);
                }
            }
        }

        return commands;
    }

    private static bool IsCommandWord(string w) => CommandWordPattern().IsMatch(w);

    [GeneratedRegex("^[a-z][a-z0-9-]*$")]
    private static partial Regex CommandWordPattern();

    [GeneratedRegex(@"(?<![\w-])--?[a-z][a-z-]*")]
    private static partial Regex OptionPattern();

    internal static string RepoRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Prism.sln")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException("Prism.sln not found above " + AppContext.BaseDirectory);
    }

    public static TheoryData<string> Commands => [.. ReadmeCommands().Keys.Order(StringComparer.Ordinal)];

    [Fact]
    public void TheReadmeListsTheCommands()
    {
        IReadOnlyDictionary<string, SortedSet<string>> commands = ReadmeCommands();
        Assert.True(commands.Count >= 30, $"only {commands.Count} commands parsed from the README: {string.Join(", ", commands.Keys)}");
        Assert.Contains("disk create", commands.Keys);
        Assert.Contains("--size", commands["disk create"]);
        Assert.Contains("ntfs extents", commands.Keys);
        Assert.Contains("--catalog", commands["scan"]);
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void Help_Exits0_AndNamesEveryDocumentedOption(string command)
    {
        var stdout = new StringWriter();
        int code = Program.Run([.. command.Split(' '), "--help"], stdout, new StringWriter());

        Assert.Equal(0, code);
        string help = stdout.ToString();
        Assert.Contains($"prism {command}", help, StringComparison.Ordinal);
        foreach (string option in ReadmeCommands()[command])
        {
            Assert.True(Regex.IsMatch(help, $@"(^|[\s,]){Regex.Escape(option)}([\s,<]|$)", RegexOptions.Multiline),
                $"'prism {command} --help' does not mention {option}:\n{help}");
        }
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void MinimalInvocation_RunsAsDocumented(string command)
    {
        string cat = _dir.File("catalog.db");
        string F(string name) => _dir.File(name);
        void Prep(params string[] args) => Assert.Equal(0, Run(args).Code);
        File.WriteAllBytes(F("data.bin"), [1, 2, 3, 4]);
        File.WriteAllText(F("sig.ndb"), "Prism.Readme.Never:0:*:00112233445566778899aabbccddeeff\n");
        Directory.CreateDirectory(F("sigdir"));
        File.Copy(F("sig.ndb"), Path.Combine(F("sigdir"), "sig.ndb"));
        Prep("disk", "create", F("base.vhdx"), "--size", "16MiB", "--block-size", "1MiB", "--catalog", cat);
        Prep("disk", "clone", F("base.vhdx"), F("child.vhdx"), "--catalog", cat);
        Prep("disk", "write", F("child.vhdx"), "--offset", "0", "--input", F("data.bin"), "--catalog", cat);
        Prep("disk", "create", F("g.vhdx"), "--size", "16MiB", "--block-size", "1MiB", "--catalog", cat);
        Prep("golden", "add", F("g.vhdx"), "--name", "g", "--catalog", cat);

        (string[] Args, int Exit, string? Out) run = command switch
        {
            "disk create" => (["disk", "create", F("new.vhdx"), "--size", "64GiB", "--catalog", cat], 0, "created"),
            "disk clone" => (["disk", "clone", F("base.vhdx"), F("c2.vhdx"), "--catalog", cat], 0, "differencing child"),
            "disk info" => (["disk", "info", F("child.vhdx")], 0, "Virtual size"),
            "disk check" => (["disk", "check", F("child.vhdx")], 0, "no errors"),
            "disk read" => (["disk", "read", F("child.vhdx"), "--offset", "0", "--length", "512", "--output", F("out.bin")], 0, null),
            "disk write" => (["disk", "write", F("child.vhdx"), "--offset", "0", "--input", F("data.bin"), "--catalog", cat], 0, "wrote 4 bytes"),
            "disk map" => (["disk", "map", F("child.vhdx"), "--json"], 0, "\"layer\""),
            "disk import" => (["disk", "import", F("data.bin"), F("imported.vhdx"), "--catalog", cat], 0, "imported"),
            "disk export" => (["disk", "export", F("child.vhdx"), F("flat.raw"), "--catalog", cat], 0, "exported"),
            "ntfs ls" or "ntfs cat" or "ntfs extents" => ([.. command.Split(' '), F("child.vhdx"), "/"], 1, null), // no NTFS on a blank disk: exit 1
            "diff" => (["diff", F("base.vhdx"), F("child.vhdx"), "--json"], 0, "[]"), // blank disks: no file system, no change
            "fs ls" or "fs cat" or "fs extents" => ([.. command.Split(' '), F("child.vhdx"), "/"], 1, null), // no file system on a blank disk: exit 1
            "golden add" => (["golden", "add", F("base.vhdx"), "--name", "b", "--catalog", cat], 0, "sealed"),
            "golden list" => (["golden", "list", "--catalog", cat], 0, "g"),
            "golden remove" => (["golden", "remove", "g", "--catalog", cat], 0, "removed golden g"),
            "clone new" => (["clone", "new", "g", "c1", "--catalog", cat], 0, "1 clone(s) of g"),
            "clone list" => (["clone", "list", "--json", "--catalog", cat], 0, "[]"),
            "clone reset" or "clone remove" or "clone merge" => ([.. command.Split(' '), "nope", "--catalog", cat], 1, null), // no such clone: exit 1
            "clone promote" => (["clone", "promote", "nope", "--name", "n", "--catalog", cat], 1, null),
            "catalog verify" => (["catalog", "verify", "--catalog", cat], 0, "catalog and files agree"),
            "scan" => (["scan", F("base.vhdx"), F("child.vhdx"), "--signatures", F("sig.ndb"), "--quiet"], 0, "total:"),
            "vm attach" or "vm detach" => ([.. command.Split(' '), @"C:\c.vhdx", "--vm", "web01"], 1, null), // exit 1: no Hyper-V on this host (on a Hyper-V host: no such VM)
            "vm create-disk" => (["vm", "create-disk", @"C:\d.vhdx", "--size", "1GiB"], 1, null), // exit 1: no Hyper-V on this host
            "sigs info" => (["sigs", "info", F("sig.ndb")], 0, "signatures in use: 1"),
            "sigs compile" => (["sigs", "compile", F("sigdir")], 0, null),
            "bench disk" or "bench scan" or "bench ntfs" or "bench ext4" or "bench sigs" or "bench startup" or "bench nbd" => ([.. command.Split(' '), "--help"], 0, "Usage:"), // minutes of work: help only
            "demo" => (["demo", "--help"], 0, "Usage:"),
            "serve" => (["serve", "--help"], 0, "Usage:"), // runs until SIGTERM: Serve/ServeCommandTests runs it as a process
            "completion" => (["completion", "bash"], 0, "complete"),
            _ => throw new Xunit.Sdk.XunitException($"the README lists 'prism {command}': add its minimal invocation here"),
        };

        (int code, string stdout, string stderr) = Run(run.Args);

        Assert.True(code == run.Exit, $"prism {string.Join(' ', run.Args)}: exit {code}, expected {run.Exit}: {stderr}");
        if (run.Out is not null)
        {
            Assert.Contains(run.Out, stdout, StringComparison.Ordinal);
        }

        if (run.Exit != 0)
        {
            Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        }
    }

    [Fact]
    public void DiskCreate_HonoursEveryDocumentedOption()
    {
        string disk = _dir.File("o.vhdx");
        Assert.Equal(0, Run("disk", "create", disk, "--size", "1GiB", "--type", "dynamic", "--block-size", "2MiB", "--logical-sector", "4096",
            "--physical-sector", "4096").Code);

        using VhdxDisk d = VhdxDisk.Open(disk);
        Assert.Equal(1L << 30, d.VirtualSize);
        Assert.Equal(2 << 20, d.BlockSize);
        Assert.Equal(4096, d.LogicalSectorSize);
        Assert.Equal(4096, d.PhysicalSectorSize);
    }

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Program.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
