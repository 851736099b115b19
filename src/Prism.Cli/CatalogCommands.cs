using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Prism.Disks.Errors;
using Prism.Provisioner.Catalog;
using Prism.Provisioner.Cloning;

namespace Prism.Cli;

/// <summary><c>prism golden ...</c>, <c>prism clone ...</c>, <c>prism catalog verify</c>: the provisioner's lifecycle commands.</summary>
internal sealed class CatalogCommands
{
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };

    private readonly Option<string?> _catalog = CliOptions.Catalog();
    private readonly Option<bool> _json = CliOptions.JsonFlag();

    /// <summary><c>prism golden</c>, <c>prism clone</c> and <c>prism catalog</c>.</summary>
    public static IReadOnlyList<Command> Create() => new CatalogCommands().Build();

    private Command[] Build()
    {
        var path = CliOptions.Arg("PATH", "the VHDX to register as a golden image");
        var goldenName = CliOptions.Text("--name", "the golden's name (default: the file name without extension)", "NAME");
        var add = new Command("add", "check, record and seal (read-only) a golden image") { path, goldenName, _catalog };
        add.SetAction(p => WithCatalog(p, (m, _, o) => GoldenAdd(p.GetValue(path)!, p.GetValue(goldenName), m, o)));
        var goldenList = new Command("list", "the goldens with their size and number of clones") { _json, _catalog };
        goldenList.SetAction(p => WithCatalog(p, (_, c, o) => GoldenList(p.GetValue(_json), c, o)));
        var name = CliOptions.Arg("NAME", "the golden's name");
        var force = CliOptions.Flag("--force", "remove the record even while clones exist");
        var goldenRemove = new Command("remove", "forget a golden (refused while clones exist unless --force); the file stays") { name, force, _catalog };
        goldenRemove.SetAction(p => WithCatalog(p, (m, _, o) => Simple(p.GetValue(name)!, o, n => m.RemoveGolden(n, p.GetValue(force)), "removed golden")));
        Command golden = CliOptions.Group("golden", "golden images: the sealed parents clones are made from", add, goldenList, goldenRemove);

        var parent = CliOptions.Arg("GOLDEN", "the golden (or clone) to clone");
        var names = new Argument<string[]>("NAME") { Description = "names of the new clones", Arity = ArgumentArity.ZeroOrMore };
        var count = CliOptions.Int("--count", "create N clones named PREFIX-001, PREFIX-002, ...", minimum: 1);
        var prefix = CliOptions.Text("--prefix", "name prefix for --count", "PREFIX");
        var dir = CliOptions.Text("--dir", "folder for the new files (default: beside the golden)", "DIR");
        var owner = CliOptions.Text("--owner", "owner recorded with each clone", "OWNER");
        var quiet = CliOptions.Flag("--quiet", "no progress display");
        var cloneNew = new Command("new", "create clones (differencing children) of a golden, journaled: all or none") { parent, names, count, prefix, dir, owner, quiet, _catalog };
        cloneNew.SetAction(p => WithCatalog(p, (m, _, o) => CloneNew(p.GetValue(parent)!, p.GetValue(names) ?? [], p.GetValue(count), p.GetValue(prefix),
            p.GetValue(dir), p.GetValue(owner), p.GetValue(quiet), m, o, p.InvocationConfiguration.Error)));
        var cloneList = new Command("list", "the clones with each one's divergence") { _json, _catalog };
        cloneList.SetAction(p => WithCatalog(p, (m, _, o) => CloneList(p.GetValue(_json), m, o)));
        var clone = CliOptions.Arg("NAME", "the clone's name");
        var reset = new Command("reset", "discard the clone's changes (same path, same disk id)") { clone, _catalog };
        reset.SetAction(p => WithCatalog(p, (m, _, o) => Simple(p.GetValue(clone)!, o, m.ResetClone, "reset")));
        var forget = CliOptions.Flag("--forget", "drop the record of a clone whose file is missing");
        var remove = new Command("remove", "delete the clone (moved aside until the catalog change commits)") { clone, forget, _catalog };
        remove.SetAction(p => WithCatalog(p, (m, _, o) => Simple(p.GetValue(clone)!, o, n => m.RemoveClone(n, p.GetValue(forget)), p.GetValue(forget) ? "forgot" : "removed")));
        var merge = new Command("merge", "merge the clone into its parent clone (only when it has no other children)") { clone, _catalog };
        merge.SetAction(p => WithCatalog(p, (m, _, o) => Simple(p.GetValue(clone)!, o, n => TerminalProgress.Run(p.InvocationConfiguration.Error, quiet: false, bar =>
        {
            m.MergeClone(n, new SyncProgress<(long Done, long Total)>(r =>
            {
                if (r.Done == 0)
                {
                    bar.Start($"merging {n} into its parent", r.Total);
                }

                bar.Report(r.Done, r.Done);
            }));
            bar.Stop();
            return 0;
        }), "merged into its parent:")));
        var newName = CliOptions.Text("--name", "the new golden's name", "NEW", required: true);
        var promotePath = CliOptions.Text("--path", "the flattened golden's file (default: beside the clone)", "FILE");
        var promote = new Command("promote", "flatten the clone into a new sealed golden") { clone, newName, promotePath, _catalog };
        promote.SetAction(p => WithCatalog(p, (m, c, o) => Promote(p.GetValue(clone)!, p.GetValue(newName)!, p.GetValue(promotePath), m, c, o)));
        Command clones = CliOptions.Group("clone", "clones: writable differencing children of a golden", cloneNew, cloneList, reset, remove, merge, promote);

        var repair = CliOptions.Flag("--repair", "recover interrupted operations, adopt stray children (never deletes the only copy of data)");
        var verify = new Command("verify", "compare the catalog with the files; exit 0 when they agree (or all was repaired), 1 otherwise") { repair, _json, _catalog };
        verify.SetAction(p => WithCatalog(p, (m, _, o) =>
        {
            IReadOnlyList<CatalogProblem> problems = Busy(p, p.GetValue(repair) ? "verifying and repairing the catalog" : "verifying the catalog",
                () => m.Verify(p.GetValue(repair)));
            return Verify(problems, p.GetValue(repair), p.GetValue(_json), o);
        }));
        Command catalog = CliOptions.Group("catalog", "the catalog itself", verify);
        return [golden, clones, catalog];
    }

    private int WithCatalog(ParseResult p, Func<CloneManager, PrismCatalog, TextWriter, int> action)
    {
        using PrismCatalog catalog = PrismCatalog.Open(PrismCatalog.ResolvePath(p.GetValue(_catalog)));
        return action(new CloneManager(catalog), catalog, p.InvocationConfiguration.Output);
    }

    private static int Simple(string name, TextWriter stdout, Action<string> action, string done)
    {
        action(name);
        stdout.WriteLine($"{done} {E(name)}");
        return 0;
    }

    private static int GoldenAdd(string path, string? name, CloneManager m, TextWriter stdout)
    {
        GoldenImage g = m.AddGolden(path, name);
        stdout.WriteLine($"golden {E(g.Name)}: {E(g.Path)}, {Sizes.Format(g.VirtualSize)}, disk id {g.DiskId:D}, sealed");
        return 0;
    }

    private static int GoldenList(bool json, PrismCatalog catalog, TextWriter stdout)
    {
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
            stdout.WriteLine($"{E(g.Name),-24} {Sizes.Format(g.VirtualSize),10} {clones.Count(c => c.Golden == g.Name),6}  {E(g.Path)}");
        }

        return 0;
    }

    private static int CloneNew(string parent, string[] positionalNames, int? count, string? prefix, string? dir, string? owner, bool quiet,
        CloneManager m, TextWriter stdout, TextWriter stderr)
    {
        if (owner is not null)
        {
            CatalogNames.ValidateOwner(owner);
        }

        IReadOnlyList<string> names;
        string? numbered = null;
        if (count is not null)
        {
            if (positionalNames.Length > 0)
            {
                throw new UsageException("give either NAME... or --count N --prefix P, not both");
            }

            names = m.NextNames(prefix ?? throw new UsageException("--count needs --prefix"), count.Value);
            numbered = prefix;
        }
        else
        {
            names = positionalNames;
            if (names.Count == 0)
            {
                throw new UsageException("clone new needs NAME... or --count N --prefix P");
            }
        }

        var sw = Stopwatch.StartNew();
        IReadOnlyList<CloneRecord> created = TerminalProgress.Run(stderr, quiet || names.Count < 2, bar =>
        {
            bar.Start($"creating {names.Count} clones of {parent}", names.Count);
            var report = new SyncProgress<int>(n => bar.Report(n, 0, $"{n}/{names.Count}"));
            IReadOnlyList<CloneRecord> made = numbered is null
                ? m.NewClones(parent, names, dir, owner, report)
                : m.NewNumberedClones(parent, numbered, names.Count, dir, owner, report);
            bar.Stop();
            return made;
        });

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

    private static int CloneList(bool json, CloneManager m, TextWriter stdout)
    {
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
            string holds = s.Error is null ? Sizes.Format(s.AllocatedBytes) : "?";
            stdout.WriteLine($"{E(s.Record.Name),-24} {E(s.Record.Golden),-16} {holds,12} {s.DivergencePercent,8:0.000}%  {E(s.Record.Path)}{(s.Error is null ? "" : "  (" + E(s.Error) + ")")}");
        }

        return 0;
    }

    private static int Promote(string name, string newName, string? path, CloneManager m, PrismCatalog catalog, TextWriter stdout)
    {
        if (path is not null)
        {
            new Prism.Disks.IO.WriteTargetGuard(ProtectedDisks.From(catalog, includeClones: true)).Check(path, "promote target");
        }

        GoldenImage g = m.PromoteClone(name, newName, path);
        stdout.WriteLine($"promoted {E(name)} to golden {E(g.Name)}: {E(g.Path)} (sealed)");
        return 0;
    }

    /// <summary>Runs work that reports no progress of its own under a terminal bar that shows it is alive (elapsed time).</summary>
    private static T Busy<T>(ParseResult p, string title, Func<T> work) => TerminalProgress.Run(p.InvocationConfiguration.Error, quiet: false, bar =>
    {
        bar.Start(title, 1);
        T result = work();
        bar.Stop();
        return result;
    });

    private static void Busy(ParseResult p, string title, Action work) => Busy(p, title, () =>
    {
        work();
        return 0;
    });

    private static int Verify(IReadOnlyList<CatalogProblem> problems, bool repair, bool json, TextWriter stdout)
    {
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
}
