using System.Text.Json;
using Prism.Disks.Errors;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;
using Prism.Provisioner.Catalog;
using Prism.Scanner.Clamd;
using Prism.Scanner.Fleet;
using Prism.Scanner.Signatures;

namespace Prism.Cli;

/// <summary>
/// <c>prism scan</c>: fleet scan of a parent and its clones (the parent's content is read once, then only what each
/// clone changed). Exit codes as clamscan: 0 clean, 1 found, 2 error.
/// </summary>
internal static class ScanCommand
{
    public const string Usage = """
        usage: prism scan PARENT CLONE... --signatures FILE... [--engine builtin|clamd] [--clamd SOCKET|HOST:PORT]
                          [--json F] [--store F [--store-optional] [--store-wait S]] [--full] [--parallel N] [--quiet]
               prism scan --dir DIR --signatures FILE... [options as above]
               prism scan --catalog [F] --signatures FILE... [--report-dir D] [--keep N] [options as above]
          --catalog     scan every golden of the catalog with its registered clones (the nightly task)
          --report-dir  write a timestamped JSON report there and keep the newest --keep N (default 14)
          --signatures  ClamAV database files (.cvd/.cld/.hdb/.hsb/.ndb/.fp/.ign2/...) or directories (repeat, or list several after it)
          --full        scan every clone in full, independently (the baseline)
          --store F     SQLite verdict store: reuse the parent's verdicts, skip unchanged clean clones
          --store-optional  a store that cannot be used (not a store, locked, read-only) is a warning, not an error
          --store-wait S    wait at most S seconds (default 30) for another scan's lock on the store
        outputs (--json, --store, --report-dir) are refused when they name a golden, a parent, a clone or a sealed VHDX
        exit: 0 clean, 1 found, 2 error (store, catalog, signatures, a disk that could not be read, a refused output)
        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            stdout.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        try
        {
            return Scan(args, stdout, stderr);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException or ArgumentException
            or NotSupportedException or System.Data.Common.DbException or JsonException)
        {
            // Exit 1 means "found": an error of any kind (store, catalog, signatures, a refused output) is 2.
            stderr.WriteLine($"prism: {e.Message.ReplaceLineEndings(" ")}");
            return 2;
        }
    }

    private static int Scan(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = new CliArgs(ExpandSignatureLists(CatalogWithoutValue(args)),
            new HashSet<string>(StringComparer.Ordinal) { "--full", "--quiet", "--allow-remote-parents", "--store-optional" });
        IReadOnlyList<string> signatureArgs = a.Options("--signatures");
        string engineName = a.Option("--engine") ?? "builtin";
        string? clamd = a.Option("--clamd");
        string? json = a.Option("--json");
        string? storePath = a.Option("--store");
        bool storeOptional = a.Flag("--store-optional");
        int storeWait = a.Int("--store-wait") ?? 30;
        string? dir = a.Option("--dir");
        string? catalogOption = a.Option("--catalog");
        string? reportDir = a.Option("--report-dir");
        int keepReports = a.Int("--keep") ?? 14;
        bool full = a.Flag("--full");
        bool quiet = a.Flag("--quiet");
        bool allowRemote = a.Flag("--allow-remote-parents");
        int parallel = a.Int("--parallel") ?? Environment.ProcessorCount;
        a.RejectUnknown();
        if (engineName is not ("builtin" or "clamd"))
        {
            throw new UsageException($"--engine must be builtin or clamd, not '{engineName}'");
        }

        if (engineName == "builtin" && signatureArgs.Count == 0)
        {
            throw new UsageException("scan needs --signatures FILE... (ClamAV .hdb/.hsb/.ndb/.cvd)");
        }

        if (engineName == "clamd" && clamd is null)
        {
            throw new UsageException("--engine clamd needs --clamd SOCKET|HOST:PORT");
        }

        if (storeOptional && storePath is null)
        {
            throw new UsageException("--store-optional needs --store F");
        }

        // Every file this scan will write is checked before anything is written: no golden, no parent of a clone, no
        // registered clone, no sealed VHDX, by path or by identity (hard and symbolic links).
        WriteTargetGuard guard = ProtectedDisks.Guard(catalogOption is { Length: > 0 } ? catalogOption : null, includeClones: true);
        if (json is not null)
        {
            guard.Check(json, "--json report");
        }

        if (storePath is not null)
        {
            foreach (string f in new[] { storePath, storePath + "-wal", storePath + "-shm" })
            {
                guard.Check(f, "verdict store");
            }
        }

        if (reportDir is not null)
        {
            guard.Check(reportDir, "--report-dir");
        }

        List<(string Parent, List<string> Clones)> groups;
        var unscannable = new List<string>();
        string? catalogPath = null;
        if (catalogOption is not null)
        {
            catalogPath = PrismCatalog.ResolvePath(catalogOption.Length == 0 ? null : catalogOption);
            using var catalog = PrismCatalog.Open(catalogPath);
            var clonesByGolden = catalog.Clones().ToLookup(c => c.Golden);
            groups = catalog.Goldens().Select(g => (g.Path, clonesByGolden[g.Name].Select(c => c.Path).ToList())).ToList();
            if (groups.Count == 0)
            {
                stderr.WriteLine($"prism: the catalog {catalogPath} has no golden images; nothing to scan");
                return 0;
            }
        }
        else if (dir is not null)
        {
            groups = FindChains(dir, allowRemote, stderr, unscannable);
        }
        else
        {
            if (a.Positionals.Count < 1)
            {
                throw new UsageException("scan needs PARENT [CLONE...], --dir DIR or --catalog");
            }

            groups = [(a.Positionals[0], a.Positionals.Skip(1).ToList())];
        }

        IScanEngine engine = CreateEngine(engineName, signatureArgs, clamd, stderr);
        using VerdictStore? store = storePath is null ? null : OpenStore(storePath, storeOptional, TimeSpan.FromSeconds(storeWait), stderr);
        var reports = new List<FleetReport>();
        bool interactive = !quiet && !Console.IsErrorRedirected;
        foreach ((string parent, List<string> clones) in groups)
        {
            var progress = new Progress<FleetProgress>(p =>
            {
                if (interactive)
                {
                    int width = 30;
                    int filled = p.Total == 0 ? width : p.Done * width / p.Total;
                    stderr.Write($"\r[{new string('#', filled)}{new string('.', width - filled)}] {p.Done}/{p.Total} {p.Stage,-30} {CliArgs.FormatSize(p.BytesRead)} read ");
                }
            });
            var scanner = new FleetScanner(engine, new FleetScanOptions
            {
                Full = full,
                Store = store,
                MaxParallelism = Math.Max(1, parallel),
                Progress = progress,
                AllowRemoteParents = allowRemote,
            });
            reports.Add(scanner.ScanAsync(parent, clones).GetAwaiter().GetResult());
            if (interactive)
            {
                stderr.WriteLine();
            }
        }

        foreach (FleetReport r in reports)
        {
            PrintTable(r, stdout);
        }

        foreach (string u in unscannable)
        {
            stdout.WriteLine($"  ERROR {u}");
        }

        if (json is not null)
        {
            WriteJson(json, reports);
        }

        DateTime started = DateTime.UtcNow - TimeSpan.FromSeconds(reports.Sum(r => r.Seconds));
        string? reportPath = null;
        if (reportDir is not null)
        {
            Directory.CreateDirectory(reportDir);
            string stamp = $"prism-scan-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'.'fff'Z'}";
            reportPath = Path.Combine(reportDir, stamp + ".json");
            for (int n = 2; File.Exists(reportPath); n++)
            {
                reportPath = Path.Combine(reportDir, $"{stamp}-{n}.json");
            }

            guard.Check(reportPath, "report");
            WriteJson(reportPath, reports);
            foreach (string old in Directory.EnumerateFiles(reportDir, "prism-scan-*.json").Order(StringComparer.Ordinal).Reverse().Skip(Math.Max(1, keepReports)))
            {
                try
                {
                    guard.Check(old, "old report to delete");
                    File.Delete(old);
                }
                catch (ProtectedPathException e)
                {
                    stderr.WriteLine($"prism: warning: {e.Message}");
                }
            }
        }

        if (catalogPath is not null)
        {
            using var catalog = PrismCatalog.Open(catalogPath);
            catalog.AddScanRun(new ScanRun(started, DateTime.UtcNow, reportPath ?? json,
                reports.Sum(r => r.Clones.Count), reports.Sum(r => r.Parent.Findings.Count + r.Clones.Sum(c => c.Findings.Count))));
        }

        // A store that failed during the run is an error of the run unless the user said it may be missing.
        bool storeFailed = false;
        foreach (string problem in store?.Problems ?? [])
        {
            stderr.WriteLine(storeOptional ? $"prism: warning: {problem}" : $"prism: {problem}");
            storeFailed |= !storeOptional;
        }

        bool errors = storeFailed || unscannable.Count > 0 || reports.Any(r => r.Parent.Errors.Count > 0 || r.Clones.Any(c => c.Errors.Count > 0));
        bool found = reports.Any(r => r.Parent.Findings.Count > 0 || r.Clones.Any(c => c.Findings.Count > 0));
        return errors ? 2 : found ? 1 : 0;
    }

    /// <summary>
    /// The verdict store, or (with --store-optional) null and a warning when it cannot be used. A damaged store moved
    /// aside is reported; a lock wait is reported when it starts.
    /// </summary>
    private static VerdictStore? OpenStore(string path, bool optional, TimeSpan wait, TextWriter stderr)
    {
        try
        {
            VerdictStore store = VerdictStore.Open(path, new VerdictStoreOptions { LockWait = wait, Waiting = m => stderr.WriteLine($"prism: {m}") });
            if (store.CorruptCopyPath is { } aside)
            {
                stderr.WriteLine($"prism: verdict store {store.Path} was damaged: moved aside to {aside}, a new store was made");
            }

            return store;
        }
        catch (VerdictStoreException e) when (optional)
        {
            stderr.WriteLine($"prism: warning: {e.Message.ReplaceLineEndings(" ").TrimEnd('.')}; scanning without the store (--store-optional)");
            return null;
        }
    }

    /// <summary>"--catalog" may come without a value (the default catalog): give it an empty one.</summary>
    private static string[] CatalogWithoutValue(string[] args)
    {
        var list = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            list.Add(args[i]);
            if (args[i] == "--catalog" && (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal)))
            {
                list.Add(string.Empty);
            }
        }

        return [.. list];
    }

    /// <summary>Lets several files follow one --signatures: "--signatures a.hdb b.ndb" → two options.</summary>
    private static IEnumerable<string> ExpandSignatureLists(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            yield return args[i];
            if (args[i] == "--signatures" && i + 1 < args.Length)
            {
                yield return args[++i];
                while (i + 1 < args.Length && !args[i + 1].StartsWith('-')
                    && (SignatureDatabase.IsDatabaseFile(args[i + 1]) || Directory.Exists(args[i + 1])))
                {
                    yield return "--signatures";
                    yield return args[++i];
                }
            }
        }
    }

    private static IScanEngine CreateEngine(string name, IReadOnlyList<string> signatures, string? clamd, TextWriter stderr)
    {
        if (name == "clamd")
        {
            var client = new ClamdClient(ClamdEndpoint.Parse(clamd!));
            string version = client.GetVersionAsync().GetAwaiter().GetResult();
            return new ClamdEngine(client, version);
        }

        var files = new List<string>();
        foreach (string s in signatures)
        {
            if (Directory.Exists(s))
            {
                files.AddRange(Directory.EnumerateFiles(s).Where(SignatureDatabase.IsDatabaseFile).Order(StringComparer.Ordinal));
            }
            else
            {
                files.Add(s);
            }
        }

        SignatureDatabase db = SignatureDatabase.Load([.. files]);
        foreach (SignatureIssue issue in db.Issues)
        {
            stderr.WriteLine($"prism: signatures: {issue}");
        }

        if (db.SignatureCount == 0)
        {
            throw new InvalidOperationException("no usable signatures were loaded");
        }

        return new BuiltinEngine(db);
    }

    /// <summary>Every differencing chain in <paramref name="dir"/>, grouped by the base disk it ends in.</summary>
    private static List<(string Parent, List<string> Clones)> FindChains(string dir, bool allowRemote, TextWriter stderr, List<string> unscannable)
    {
        if (!Directory.Exists(dir))
        {
            throw new DirectoryNotFoundException($"{dir}: no such directory");
        }

        var groups = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var bases = new HashSet<string>(StringComparer.Ordinal);
        foreach (string file in Directory.EnumerateFiles(dir).Where(f => f.EndsWith(".vhdx", StringComparison.OrdinalIgnoreCase)
            || f.EndsWith(".avhdx", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal))
        {
            try
            {
                using VhdxDisk d = VhdxDisk.Open(file, new VhdxOpenOptions { AllowRemoteParents = allowRemote });
                IReadOnlyList<VhdxDisk> chain = d.Chain;
                string root = chain[^1].Path;
                if (chain.Count == 1)
                {
                    bases.Add(root);
                    continue;
                }

                if (!groups.TryGetValue(root, out List<string>? list))
                {
                    groups[root] = list = [];
                }

                list.Add(d.Path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A disk whose chain cannot be opened (e.g. its parent changed after it was created) is not scanned:
                // that is an error of the run, never a silent skip.
                stderr.WriteLine($"prism: skipping {file}: {e.Message.ReplaceLineEndings(" ")}");
                unscannable.Add($"{file}: {e.Message.ReplaceLineEndings(" ")}");
            }
        }

        return groups.Select(kv => (kv.Key, kv.Value)).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
    }

    private static void PrintTable(FleetReport r, TextWriter stdout)
    {
        stdout.WriteLine($"parent {r.Parent.Path}  ({r.Mode} scan, engine {r.Engine}{(r.ParentFromStore ? ", parent verdicts from store" : "")})");
        PrintFindings(r.Parent, stdout);
        stdout.WriteLine($"{"clone",-40} {"findings",8} {"read",12} {"inherited",12} {"seconds",8}");
        foreach (DiskReport c in r.Clones)
        {
            string status = c.Errors.Count > 0 ? " ERROR" : c.Cached ? " (unchanged, skipped)" : "";
            stdout.WriteLine($"{Path.GetFileName(c.Path),-40} {c.Findings.Count,8} {CliArgs.FormatSize(c.BytesRead),12} {CliArgs.FormatSize(c.BytesInherited),12} {c.Seconds,8:0.00}{status}");
            PrintFindings(c, stdout);
        }

        long read = r.Parent.BytesRead + r.Clones.Sum(c => c.BytesRead);
        long inherited = r.Clones.Sum(c => c.BytesInherited);
        stdout.WriteLine($"total: {CliArgs.FormatSize(read)} read, {CliArgs.FormatSize(inherited)} not re-read (inherited from the parent), {r.Seconds:0.00} s");
    }

    private static void PrintFindings(DiskReport d, TextWriter stdout)
    {
        foreach (Finding f in d.Findings)
        {
            stdout.WriteLine($"  FOUND {f.Signature}: {(f.Partition > 0 ? $"[p{f.Partition}] " : "")}{TextEscaping.Escape(f.Path)}{(f.Stream is null ? "" : ":" + TextEscaping.Escape(f.Stream))}");
        }

        foreach (string e in d.Errors)
        {
            stdout.WriteLine($"  ERROR {e}");
        }
    }

    private static void WriteJson(string path, List<FleetReport> reports)
    {
        using FileStream fs = File.Create(path);
        using var w = new Utf8JsonWriter(fs, new JsonWriterOptions { Indented = true });
        if (reports.Count == 1)
        {
            WriteReport(w, reports[0]);
        }
        else
        {
            w.WriteStartObject();
            w.WriteStartArray("groups");
            foreach (FleetReport r in reports)
            {
                WriteReport(w, r);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }
    }

    private static void WriteReport(Utf8JsonWriter w, FleetReport r)
    {
        w.WriteStartObject();
        w.WriteString("mode", r.Mode);
        w.WriteString("engine", r.Engine);
        w.WriteNumber("seconds", r.Seconds);
        w.WritePropertyName("parent");
        WriteDisk(w, r.Parent, r.ParentFromStore);
        w.WriteStartArray("clones");
        foreach (DiskReport c in r.Clones)
        {
            WriteDisk(w, c, c.Cached);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteDisk(Utf8JsonWriter w, DiskReport d, bool cached)
    {
        w.WriteStartObject();
        w.WriteString("path", d.Path);
        w.WriteStartArray("findings");
        foreach (Finding f in d.Findings)
        {
            w.WriteStartObject();
            w.WriteString("path", f.Path);
            if (f.Stream is null)
            {
                w.WriteNull("stream");
            }
            else
            {
                w.WriteString("stream", f.Stream);
            }

            w.WriteString("signature", f.Signature);
            if (f.Offset is long o)
            {
                w.WriteNumber("offset", o);
            }
            else
            {
                w.WriteNull("offset");
            }

            w.WriteNumber("partition", f.Partition);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteNumber("bytesRead", d.BytesRead);
        w.WriteNumber("bytesInherited", d.BytesInherited);
        w.WriteNumber("divergentBytes", d.DivergentBytes);
        w.WriteNumber("streamsScanned", d.StreamsScanned);
        w.WriteNumber("streamsInherited", d.StreamsInherited);
        w.WriteNumber("seconds", d.Seconds);
        w.WriteBoolean("cached", cached);
        w.WriteStartArray("errors");
        foreach (string e in d.Errors)
        {
            w.WriteStringValue(e);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}
