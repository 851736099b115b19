using System.CommandLine;
using System.CommandLine.Parsing;
using Prism.Disks.Errors;

namespace Prism.Cli;

/// <summary>
/// <c>prism</c>: every command, option and argument is declared once (System.CommandLine), which gives generated help,
/// typo suggestions, <c>--version</c>, response files (<c>@FILE</c>) and shell completion (<c>prism completion</c>).
/// Exit codes: 0 ok, 1 failure, 2 usage (one line on stderr) or a refused write target; <c>prism scan</c> 0 clean,
/// 1 found, 2 error.
/// </summary>
internal static class Program
{
    private static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Parses and runs <paramref name="args"/> with the given writers (tests pass string writers).</summary>
    internal static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(CreateRoot(args), args, stdout, stderr);

    /// <summary>Parses and runs <paramref name="args"/> against <paramref name="root"/>.</summary>
    internal static int Run(RootCommand root, string[] args, TextWriter stdout, TextWriter stderr)
    {
        ParseResult parse = root.Parse(args);
        string commandPath = CommandPath(parse.CommandResult);
        if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
        {
            stderr.WriteLine($"prism: {CliErrors.OneLine(parse)}");
            stderr.WriteLine($"run '{commandPath} --help' for usage");
            return 2;
        }

        // No termination handler: commands that must finish cleanly on SIGTERM register their own, and setting one up costs start-up time.
        var invocation = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        try
        {
            return parse.Invoke(invocation);
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"prism: {TextEscaping.Escape(e.Message)}");
            stderr.WriteLine($"run '{commandPath} --help' for usage");
            return 2;
        }
        catch (Prism.Disks.IO.ProtectedPathException e)
        {
            // A refused write target (a golden, a parent, a sealed VHDX) is a wrong command line: nothing was written.
            stderr.WriteLine($"prism: {CliErrors.OneLine(e.Message)}");
            return 2;
        }
        catch (Exception e) when (CliErrors.IsExpected(e))
        {
            stderr.WriteLine($"prism: {TextEscaping.Escape(CliErrors.OneLine(e.Message))}");
            return commandPath.StartsWith("prism scan", StringComparison.Ordinal) ? 2 : 1; // scan: 1 means "found", so an error is 2
        }
    }

    /// <summary>The top-level commands: name, one-line summary (the root's help), and how to build the full command.</summary>
    private static readonly (string Name, string Summary, Func<Command> Create)[] s_commands =
    [
        ("disk", "create, clone, inspect, check, read, write, map, import and export VHDX files", DiskCommand.Create),
        ("ntfs", "files inside a guest disk's NTFS volume (VHDX chain or raw image): ls, cat, extents", () => Ntfs.NtfsCommand.Create()),
        ("fs", "files inside a guest disk's NTFS or ext2/3/4 volume: ls, cat, extents", () => Fs.FsCommand.Create()),
        ("diff", "files a clone added, deleted, modified, renamed or changed in metadata, relative to its golden", Fs.DiffCommand.Create),
        ("scan", "fleet malware scan: the parent once, then only what each clone changed", ScanCommand.Create),
        ("sigs", "what the built-in engine loads from ClamAV databases", SigsCommand.Create),
        ("serve", "serve clones over NBD to QEMU, qemu-img, nbdcopy or the kernel", ServeCommand.Create),
        ("golden", "golden images: add (seal), list, remove", () => CatalogCommands.Create()[0]),
        ("clone", "clones of a golden: new, list, reset, remove, merge, promote", () => CatalogCommands.Create()[1]),
        ("catalog", "the catalog: verify (and repair after a crash)", () => CatalogCommands.Create()[2]),
        ("vm", "Hyper-V: attach, detach, create-disk (Windows hosts with Hyper-V only)", () => Vm.VmCommand.Create()),
        ("demo", "Prism's main job on the golden disk shipped in the CLI", DemoCommand.Create),
        ("bench", "the performance figures, against the peer tools in the same run", BenchCommand.Create),
        ("completion", "a shell completion script: bash, zsh or pwsh", CompletionCommand.Create),
    ];

    /// <summary>
    /// The command tree. Only the command <paramref name="args"/> names is built in full (start-up time: building every
    /// command's options costs more than parsing); the others are their name and summary, which is all the root's help,
    /// typo suggestions and a mistyped command need. Directives (<c>[suggest]</c>) and response files get the whole tree.
    /// </summary>
    internal static RootCommand CreateRoot(string[]? args = null)
    {
        RootCommand root = NewRoot("prism: VHDX differencing-disk provisioning and fleet scanning. Golden images become writable "
            + "clones in milliseconds; the fleet scan reads the shared parent once, then only what each clone changed.");
        string? first = args is { Length: > 0 } ? args[0] : null;
        bool all = args is null || first is not null && (first.StartsWith('[') || first.StartsWith('@'));
        foreach ((string name, string summary, Func<Command> create) in s_commands)
        {
            root.Subcommands.Add(all || name == first ? create() : new Command(name, summary));
        }

        root.SetAction(p =>
        {
            CliOptions.PrintHelp(p, p.InvocationConfiguration.Error);
            return 2;
        });
        return root;
    }

    /// <summary>A root command whose help says "prism" whatever the host process is called (tests run in testhost).</summary>
    internal static RootCommand NewRoot(string description = "prism")
    {
        var root = new RootCommand(description) { HelpName = "prism" };
        // A plain loop, not LINQ: System.Linq is one more assembly to load before --version can answer.
        foreach (Option o in root.Options)
        {
            if (o is VersionOption v)
            {
                v.Action = new VersionAction();
            }
        }

        return root;
    }

    /// <summary>--version: prism's own version (not the host process's, which differs under a test host).</summary>
    private sealed class VersionAction : System.CommandLine.Invocation.SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            System.Reflection.Assembly a = typeof(Program).Assembly;
            string version = System.Reflection.CustomAttributeExtensions.GetCustomAttribute<System.Reflection.AssemblyInformationalVersionAttribute>(a)?.InformationalVersion
                ?? a.GetName().Version?.ToString() ?? "unknown";
            parseResult.InvocationConfiguration.Output.WriteLine(version);
            return 0;
        }
    }

    /// <summary>Opens a disk for reading: a VHDX (with its chain) or, failing the signature, a raw image.</summary>
    internal static Prism.Disks.IO.IDiskSource OpenDisk(string path) => Prism.Fleet.Files.GuestFileListing.OpenDisk(path);

    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is not null; r = r.Parent)
        {
            if (r is CommandResult c)
            {
                names.Add(c.Command is RootCommand ? "prism" : c.Command.Name);
            }
        }

        names.Reverse();
        return string.Join(' ', names);
    }
}
