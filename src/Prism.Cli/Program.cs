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
    internal static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(CreateRoot(), args, stdout, stderr);

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

        var invocation = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
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

    /// <summary>The whole command tree.</summary>
    internal static RootCommand CreateRoot()
    {
        RootCommand root = NewRoot("prism: VHDX differencing-disk provisioning and fleet scanning. Golden images become writable "
            + "clones in milliseconds; the fleet scan reads the shared parent once, then only what each clone changed.");
        root.Subcommands.Add(DiskCommand.Create());
        root.Subcommands.Add(Ntfs.NtfsCommand.Create());
        root.Subcommands.Add(ScanCommand.Create());
        root.Subcommands.Add(SigsCommand.Create());
        foreach (Command c in CatalogCommands.Create())
        {
            root.Subcommands.Add(c);
        }

        root.Subcommands.Add(Vm.VmCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(CompletionCommand.Create());
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
        foreach (VersionOption v in root.Options.OfType<VersionOption>())
        {
            v.Action = new VersionAction();
        }

        return root;
    }

    /// <summary>--version: prism's own version (not the host process's, which differs under a test host).</summary>
    private sealed class VersionAction : System.CommandLine.Invocation.SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            System.Reflection.Assembly a = typeof(Program).Assembly;
            string version = a.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion
                ?? a.GetName().Version?.ToString() ?? "unknown";
            parseResult.InvocationConfiguration.Output.WriteLine(version);
            return 0;
        }
    }

    /// <summary>Opens a disk for reading: a VHDX (with its chain) or, failing the signature, a raw image.</summary>
    internal static Prism.Disks.IO.IDiskSource OpenDisk(string path)
    {
        // FileDiskSource opens without blocking and only regular files, so a FIFO named here cannot hang the command.
        var raw = new Prism.Disks.IO.FileDiskSource(path);
        Span<byte> sig = stackalloc byte[8];
        if (raw.Read(sig, 0) < 8 || !sig.SequenceEqual("vhdxfile"u8))
        {
            return raw;
        }

        raw.Dispose();
        return Prism.Disks.Vhdx.VhdxDisk.Open(path);
    }

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
