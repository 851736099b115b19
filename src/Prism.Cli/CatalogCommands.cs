using System.Diagnostics;
using System.Text.Json;
using Prism.Disks.Errors;
using Prism.Provisioner.Catalog;
using Prism.Provisioner.Cloning;

namespace Prism.Cli;

/// <summary><c>prism golden ...</c>, <c>prism clone ...</c>, <c>prism catalog verify</c>: the provisioner's lifecycle commands.</summary>
internal static class CatalogCommands
{
    public const string Usage = """
        usage:
          prism golden add PATH [--name N]            check, record and seal (read-only) a golden image
          prism golden list [--json]
          prism golden remove NAME [--force]          refused while clones exist unless --force
          prism clone new GOLDEN NAME... [--dir D] [--owner O]
          prism clone new GOLDEN --count N --prefix P [--dir D] [--owner O]
          prism clone list [--json]                   with each clone's divergence
          prism clone reset NAME                      discard the clone's changes (same path, same disk id)
          prism clone remove NAME [--forget]          --forget: drop the record of a clone whose file is missing
          prism clone merge NAME                      into its parent clone, only when it has no other children
          prism clone promote NAME --name NEW [--path P]   flatten into a new sealed golden
          prism catalog verify [--repair] [--json]
        every command takes --catalog F (default: $PRISM_CATALOG, else a per-user file)
        """;

    private static readonly HashSet<string> s_flags = new(StringComparer.Ordinal) { "--json", "--force", "--repair", "--quiet", "--forget" };
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };

    public static int Run(string group, string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            stdout.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        var a = new CliArgs(args.Skip(1), s_flags);
        using PrismCatalog catalog = PrismCatalog.Open(PrismCatalog.ResolvePath(a.Option("--catalog")));
        var manager = new CloneManager(catalog);
        return (group, args[0]) switch
        {
            ("golden", "add") => GoldenAdd(a, manager, stdout),
            ("golden", "list") => GoldenList(a, catalog, stdout),
            ("golden", "remove") => GoldenRemove(a, manager, stdout),
            ("clone", "new") => CloneNew(a, manager, stdout, stderr),
            ("clone", "list") => CloneList(a, manager, stdout),
            ("clone", "reset") => Simple(a, stdout, manager.ResetClone, "reset"),
            ("clone", "remove") => CloneRemove(a, manager, stdout),
            ("clone", "merge") => Simple(a, stdout, n => manager.MergeClone(n), "merged into its parent:"),
            ("clone", "promote") => Promote(a, manager, catalog, stdout),
            ("catalog", "verify") => Verify(a, manager, stdout),
            _ => throw new UsageException($"unknown command '{group} {args[0]}'"),
        };
    }

    private static int Simple(CliArgs a, TextWriter stdout, Action<string> action, string done)
    {
        string name = a.Positional(0, "NAME");
        a.RejectUnknown();
        action(name);
        stdout.WriteLine($"{done} {E(name)}");
        return 0;
    }

    private static int CloneRemove(CliArgs a, CloneManager m, TextWriter stdout)
    {
        bool forget = a.Flag("--forget");
        return Simple(a, stdout, n => m.RemoveClone(n, forget), forget ? "forgot" : "removed");
    }

    private static int GoldenRemove(CliArgs a, CloneManager m, TextWriter stdout)
    {
        // Read the flag before Simple's RejectUnknown, which otherwise rejects --force as an unknown option.
        bool force = a.Flag("--force");
        return Simple(a, stdout, n => m.RemoveGolden(n, force), "removed golden");
    }

    private static int GoldenAdd(CliArgs a, CloneManager m, TextWriter stdout)
    {
        string path = a.Positional(0, "PATH");
        string? name = a.Option("--name");
        a.RejectUnknown();
        GoldenImage g = m.AddGolden(path, name);
        stdout.WriteLine($"golden {E(g.Name)}: {E(g.Path)}, {CliArgs.FormatSize(g.VirtualSize)}, disk id {g.DiskId:D}, sealed");
        return 0;
    }

    private static int GoldenList(CliArgs a, PrismCatalog catalog, TextWriter stdout)
    {
        bool json = a.Flag("--json");
        a.RejectUnknown();
        IReadOnlyList<GoldenImage> goldens = catalog.Goldens();
        IReadOnlyList<CloneRecord> clones = catalog.Clones();
        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(goldens.Select(g => new
            {
                name = g.Name,
                path = g.Path,
                diskId = g.DiskId,
                dataWriteGuid = g.DataWriteGuid,
                virtualSize = g.VirtualSize,
                sealedAt = g.SealedAt,
                clones = clones.Count(c => c.Golden == g.Name),
            }), s_indented));
            return 0;
        }

        stdout.WriteLine($"{"name",-24} {"size",10} {"clones",6}  path");
        foreach (GoldenImage g in goldens)
        {
            stdout.WriteLine($"{E(g.Name),-24} {CliArgs.FormatSize(g.VirtualSize),10} {clones.Count(c => c.Golden == g.Name),6}  {E(g.Path)}");
        }

        return 0;
    }

    private static int CloneNew(CliArgs a, CloneManager m, TextWriter stdout, TextWriter stderr)
    {
        string parent = a.Positional(0, "GOLDEN");
        int? count = a.Int("--count");
        string? prefix = a.Option("--prefix");
        string? dir = a.Option("--dir");
        string? owner = a.Option("--owner");
        bool quiet = a.Flag("--quiet");
        a.RejectUnknown();
        if (owner is not null)
        {
            CatalogNames.ValidateOwner(owner);
        }

        IReadOnlyList<string> names;
        if (count is not null)
        {
            if (a.Positionals.Count > 1)
            {
                throw new UsageException("give either NAME... or --count N --prefix P, not both");
            }

            names = m.NextNames(prefix ?? throw new UsageException("--count needs --prefix"), count.Value);
        }
        else
        {
            names = a.Positionals.Skip(1).ToList();
            if (names.Count == 0)
            {
                throw new UsageException("clone new needs NAME... or --count N --prefix P");
            }
        }

        bool interactive = !quiet && !Console.IsErrorRedirected && names.Count > 1;
        var sw = Stopwatch.StartNew();
        var progress = new SyncProgress(n =>
        {
            if (interactive && (n % 10 == 0 || n == names.Count))
            {
                stderr.Write($"\rcreating clones: {n}/{names.Count}");
            }
        });
        IReadOnlyList<CloneRecord> created = m.NewClones(parent, names, dir, owner, progress);
        if (interactive)
        {
            stderr.WriteLine();
        }

        foreach (CloneRecord c in created.Take(20))
        {
            stdout.WriteLine($"created {E(c.Name)}: {E(c.Path)}");
        }

        if (created.Count > 20)
        {
            stdout.WriteLine($"... and {created.Count - 20} more");
        }

        stdout.WriteLine($"{created.Count} clone(s) of {E(parent)} in {sw.Elapsed.TotalSeconds:0.000} s");
        return 0;
    }

    private static int CloneList(CliArgs a, CloneManager m, TextWriter stdout)
    {
        bool json = a.Flag("--json");
        a.RejectUnknown();
        IReadOnlyList<CloneStatus> list = m.ListClones();
        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(list.Select(s => new
            {
                name = s.Record.Name,
                path = s.Record.Path,
                golden = s.Record.Golden,
                parentPath = s.Record.ParentPath,
                owner = s.Record.Owner,
                created = s.Record.Created,
                exists = s.Exists,
                allocatedBytes = s.AllocatedBytes,
                virtualSize = s.VirtualSize,
                divergencePercent = Math.Round(s.DivergencePercent, 4),
                error = s.Error,
            }), s_indented));
            return 0;
        }

        stdout.WriteLine($"{"name",-24} {"golden",-16} {"holds",12} {"diverged",9}  path");
        foreach (CloneStatus s in list)
        {
            string holds = s.Error is null ? CliArgs.FormatSize(s.AllocatedBytes) : "?";
            stdout.WriteLine($"{E(s.Record.Name),-24} {E(s.Record.Golden),-16} {holds,12} {s.DivergencePercent,8:0.000}%  {E(s.Record.Path)}{(s.Error is null ? "" : "  (" + E(s.Error) + ")")}");
        }

        return 0;
    }

    private static int Promote(CliArgs a, CloneManager m, PrismCatalog catalog, TextWriter stdout)
    {
        string name = a.Positional(0, "NAME");
        string newName = a.Option("--name") ?? throw new UsageException("promote needs --name NEW");
        string? path = a.Option("--path");
        a.RejectUnknown();
        if (path is not null)
        {
            new Prism.Disks.IO.WriteTargetGuard(ProtectedDisks.From(catalog, includeClones: true)).Check(path, "promote target");
        }

        GoldenImage g = m.PromoteClone(name, newName, path);
        stdout.WriteLine($"promoted {E(name)} to golden {E(g.Name)}: {E(g.Path)} (sealed)");
        return 0;
    }

    private static int Verify(CliArgs a, CloneManager m, TextWriter stdout)
    {
        bool repair = a.Flag("--repair");
        bool json = a.Flag("--json");
        a.RejectUnknown();
        IReadOnlyList<CatalogProblem> problems = m.Verify(repair);
        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(problems.Select(p => new { kind = p.Kind, path = p.Path, message = p.Message, repaired = p.Repaired }),
                s_indented));
        }
        else
        {
            foreach (CatalogProblem p in problems)
            {
                stdout.WriteLine($"{p.Kind}: {E(p.Path)}: {E(p.Message)}{(p.Repaired ? " [repaired]" : "")}");
            }

            stdout.WriteLine(problems.Count == 0 ? "catalog and files agree" : $"{problems.Count} problem(s){(repair ? ", repairs applied where safe" : "")}");
        }

        return problems.All(p => p.Repaired) ? 0 : 1;
    }

    /// <summary>Catalog text (names, paths, messages) for a text listing: an older catalog may hold control characters.</summary>
    private static string E(string? text) => TextEscaping.Escape(text);

    /// <summary>IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SyncProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
