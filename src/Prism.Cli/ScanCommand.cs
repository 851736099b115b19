using System.CommandLine;
using Prism.Disks.Errors;
using Prism.Fleet.Reports;
using Prism.Fleet.Scanning;
using Prism.Scanner.Fleet;
using Prism.Scanner.Signatures;
using Spectre.Console;

namespace Prism.Cli;

/// <summary>
/// <c>prism scan</c>: a front end over <see cref="FleetScanJob"/> (the parent's content is read once, then only what
/// each clone changed). Exit codes as clamscan: 0 clean, 1 found, 2 error.
/// </summary>
internal sealed class ScanCommand
{
    private readonly Argument<string[]> _disks = new("DISK")
    {
        Description = "PARENT, then its CLONEs (differencing children at any depth below it)",
        Arity = ArgumentArity.ZeroOrMore,
    };

    private readonly Option<string[]> _signatures = new("--signatures")
    {
        Description = "ClamAV database files (.cvd/.cld/.hdb/.hsb/.ndb/.fp/.ign2/...) or folders of them; repeat it, or list "
            + "several after it (a value that is neither a database file nor a folder ends the list and starts the disks)",
        HelpName = "FILE",
        AllowMultipleArgumentsPerToken = true,
        Arity = ArgumentArity.OneOrMore,
    };

    private readonly Option<string> _engine = CliOptions.OneOf("--engine", "the built-in engine or a clamd daemon", "builtin", "builtin", "clamd");
    private readonly Option<string?> _clamd = CliOptions.Text("--clamd", "clamd's socket path or HOST:PORT (with --engine clamd)", "SOCKET|HOST:PORT");

    private readonly Option<string?> _json = new("--json")
    {
        Description = "the JSON report: to FILE, or to stdout when no FILE follows",
        HelpName = "FILE",
        Arity = ArgumentArity.ZeroOrOne,
    };

    private readonly Option<string?> _jsonFile = CliOptions.Text("--json-file", "write the JSON report to FILE (same as --json FILE)", "FILE");
    private readonly Option<bool> _full = CliOptions.Flag("--full", "scan every clone in full, independently (the baseline)");
    private readonly Option<string?> _store = CliOptions.Text("--store", "verdict store (a SQLite file, or a postgres:// URI or connection string): reuse the parent's verdicts, skip unchanged clean clones", "FILE|URI");
    private readonly Option<bool> _storeOptional = CliOptions.Flag("--store-optional", "a store that cannot be used (not a store, locked, read-only) is a warning, not an error");
    private readonly Option<int?> _storeWait = CliOptions.Int("--store-wait", "wait at most this many seconds for another scan's lock on the store", 30, helpName: "S");
    private readonly Option<string?> _dir = CliOptions.Text("--dir", "scan every differencing chain in this folder, grouped by base disk", "DIR");

    private readonly Option<string?> _catalog = new("--catalog")
    {
        Description = "scan every golden of the catalog with its registered clones (the nightly task); FILE defaults to "
            + "$PRISM_CATALOG, else the per-user catalog. With PARENT or --dir it only names the catalog whose disks outputs may not overwrite",
        HelpName = "FILE",
        Arity = ArgumentArity.ZeroOrOne,
    };

    private readonly Option<string?> _reportDir = CliOptions.Text("--report-dir", "write a timestamped JSON report into this folder and keep the newest --keep", "DIR");
    private readonly Option<int?> _keep = CliOptions.Int("--keep", "reports kept in --report-dir", 14, minimum: 1);
    private readonly Option<int?> _parallel = CliOptions.Int("--parallel", "clones scanned at once (default: processor count)", minimum: 1);
    private readonly Option<bool> _quiet = CliOptions.Flag("--quiet", "no progress display");
    private readonly Option<bool> _allowRemote = CliOptions.AllowRemoteParents();
    private readonly Option<string?> _host = CliOptions.Text("--host", "with a PostgreSQL --catalog: scan as host NAME of a distributed run, sharing the work units with every other host", "NAME");
    private readonly Option<string?> _run = CliOptions.Text("--run", "the distributed run to start or join (default: the UTC date, one run per night)", "NAME");
    private readonly Option<int?> _lease = CliOptions.Int("--lease", "seconds a claimed unit stays leased without renewal; a dead host's units are redone after it", 120, minimum: 1, helpName: "S");

    /// <summary><c>prism scan</c>.</summary>
    public static Command Create() => new ScanCommand().Build();

    private Command Build()
    {
        var scan = new Command("scan", "fleet malware scan: the parent is read once, then only what each clone changed. Outputs "
            + "(--json, --store, --report-dir) are refused when they name a golden, a parent, a clone or a sealed VHDX. "
            + "Exit: 0 clean, 1 found, 2 error (store, catalog, signatures, a disk that could not be read, a refused output)")
        {
            _disks, _signatures, _engine, _clamd, _json, _jsonFile, _full, _store, _storeOptional, _storeWait, _dir, _catalog,
            _reportDir, _keep, _parallel, _quiet, _allowRemote, _host, _run, _lease,
        };
        scan.SetAction(Run);
        scan.Subcommands.Add(ScanReportCommand.Create());
        return scan;
    }

    private int Run(ParseResult p)
    {
        TextWriter stdout = p.InvocationConfiguration.Output;
        TextWriter stderr = p.InvocationConfiguration.Error;
        var disks = new List<string>(p.GetValue(_disks) ?? []);
        var signatures = new List<string>();
        bool listEnded = false;
        foreach (string s in p.GetValue(_signatures) ?? [])
        {
            // "--signatures a.hdb b.ndb parent.vhdx clone.vhdx": the first value that is not a database ends the list.
            listEnded |= signatures.Count > 0 && !SignatureDatabase.IsDatabaseFile(s) && !Directory.Exists(s);
            (listEnded ? disks : signatures).Add(s);
        }

        // With PARENT or --dir, --catalog F only names the catalog whose disks no output may overwrite (as for the disk
        // commands); alone, it scans the catalog.
        string? dir = p.GetValue(_dir);
        bool catalog = p.GetResult(_catalog) is not null && disks.Count == 0 && dir is null;
        if (disks.Count == 0 && dir is null && !catalog)
        {
            // Nothing to scan: the usage, as clamscan-style tools do, with exit 2.
            CliOptions.PrintHelp(p, stderr);
            return 2;
        }

        bool jsonToStdout = p.GetResult(_json) is not null && p.GetValue(_json) is null or "-";
        string? jsonFile = p.GetValue(_jsonFile) ?? (jsonToStdout ? null : p.GetValue(_json));
        var request = new FleetScanRequest
        {
            Parent = disks.Count > 0 ? disks[0] : null,
            Clones = [.. disks.Skip(1)],
            Directory = dir,
            Catalog = catalog,
            CatalogPath = p.GetValue(_catalog) is { Length: > 0 } c ? c : null,
            Signatures = signatures,
            Engine = p.GetValue(_engine)!,
            Clamd = p.GetValue(_clamd),
            Full = p.GetValue(_full),
            Store = p.GetValue(_store),
            StoreOptional = p.GetValue(_storeOptional),
            StoreWait = TimeSpan.FromSeconds(p.GetValue(_storeWait) ?? 30),
            JsonPath = jsonFile,
            ReportDirectory = p.GetValue(_reportDir),
            Keep = p.GetValue(_keep) ?? 14,
            Parallelism = p.GetValue(_parallel) ?? Environment.ProcessorCount,
            AllowRemoteParents = p.GetValue(_allowRemote),
            Host = p.GetValue(_host),
            RunName = p.GetValue(_run),
            Lease = TimeSpan.FromSeconds(p.GetValue(_lease) ?? 120),
        };
        try
        {
            request.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }

        FleetScanResult result = TerminalProgress.RunAsync(stderr, p.GetValue(_quiet),
            progress => FleetScanJob.RunAsync(request, new Observer(stderr, progress))).GetAwaiter().GetResult();
        if (result.NothingToScan is { } nothing)
        {
            stderr.WriteLine($"prism: {nothing}");
            return 0;
        }

        // With the JSON on stdout, stdout carries only the JSON; the table would make it unparseable.
        TextWriter table = jsonToStdout ? TextWriter.Null : stdout;
        foreach (FleetScanReport r in result.Reports)
        {
            PrintTable(r, table);
        }

        foreach (string u in result.Unscannable)
        {
            table.WriteLine($"  ERROR {u}");
        }

        if (jsonToStdout)
        {
            stdout.WriteLine(ReportJson.Serialize(result.Reports));
        }

        if (result.Run is { } run)
        {
            ScanReportCommand.PrintRunSummary(run, table);
        }

        foreach (string problem in result.StoreProblems)
        {
            stderr.WriteLine(result.StoreOptional ? $"prism: warning: {problem}" : $"prism: {problem}");
        }

        return result.ExitCode;
    }

    /// <summary>Scan notices go to stderr, progress to the terminal display (when there is one).</summary>
    private sealed class Observer(TextWriter stderr, TerminalProgress progress) : IFleetScanObserver
    {
        public void Notice(string message) => stderr.WriteLine($"prism: {message}");

        public void Warning(string message) => stderr.WriteLine($"prism: warning: {message}");

        public void GroupStarted(string parent, int clones) => progress.Start($"{Path.GetFileName(parent)} + {clones} clone(s)", clones + 1);

        public void Progress(FleetProgress p) => progress.Report(p.Done + (p.Stage.StartsWith("parent ", StringComparison.Ordinal) ? 0 : 1), p.BytesRead, p.Stage);

        public void GroupFinished() => progress.Stop();
    }

    internal static void PrintTable(FleetScanReport r, TextWriter stdout)
    {
        stdout.WriteLine($"parent {r.Parent.Path}  ({r.Mode} scan, engine {r.Engine}{(r.Parent.Cached ? ", parent verdicts from store" : "")})");
        PrintFindings(r.Parent, stdout);
        var table = new Table().Border(TableBorder.None).HideHeaders();
        table.AddColumn(new TableColumn("clone").PadLeft(0));
        foreach (string right in new[] { "findings", "read", "inherited", "seconds" })
        {
            table.AddColumn(new TableColumn(right).RightAligned());
        }

        table.AddColumn(new TableColumn("status"));
        table.AddRow("clone", "findings", "read", "inherited", "seconds", "");
        var findings = new List<(int Row, DiskScanReport Disk)>();
        foreach (DiskScanReport c in r.Clones)
        {
            string status = c.Errors.Count > 0 ? "ERROR" : c.Cached ? "(unchanged, skipped)" : "";
            table.AddRow(Markup.Escape(TextEscaping.Escape(Path.GetFileName(c.Path))), c.Findings.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Sizes.Format(c.BytesRead), Sizes.Format(c.BytesInherited), c.Seconds.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture), status);
        }

        TableText.Write(table, stdout);
        foreach (DiskScanReport c in r.Clones)
        {
            // In a fleet scan a clone walked whole says why (its walk could not be patched or reused from the parent's).
            List<string> walked = r.Mode == "fleet" ? [.. c.Volumes.Where(v => v.Contains(", full walk", StringComparison.Ordinal))] : [];
            if (c.Findings.Count > 0 || c.Errors.Count > 0 || walked.Count > 0)
            {
                stdout.WriteLine($"{Path.GetFileName(c.Path)}:");
                foreach (string v in walked)
                {
                    stdout.WriteLine($"  WALK {TextEscaping.Escape(v)}");
                }

                PrintFindings(c, stdout);
            }
        }

        long read = r.Parent.BytesRead + r.Clones.Sum(c => c.BytesRead);
        long inherited = r.Clones.Sum(c => c.BytesInherited);
        stdout.WriteLine($"total: {Sizes.Format(read)} read, {Sizes.Format(inherited)} not re-read (inherited from the parent), {r.Seconds:0.00} s");
    }

    private static void PrintFindings(DiskScanReport d, TextWriter stdout)
    {
        foreach (FindingReport f in d.Findings)
        {
            stdout.WriteLine($"  FOUND {TextEscaping.Escape(f.Signature)}: {(f.Partition > 0 ? $"[p{f.Partition}] " : "")}{TextEscaping.Escape(f.Path)}{(f.Stream is null ? "" : ":" + TextEscaping.Escape(f.Stream))}{(f.DiskOffset is long at ? $" (match at disk offset 0x{at:X})" : "")}");
        }

        foreach (string e in d.Errors)
        {
            stdout.WriteLine($"  ERROR {TextEscaping.Escape(e)}");
        }
    }
}
