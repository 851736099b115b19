using Prism.Disks.IO;
using Prism.Fleet.Reports;
using Prism.Fleet.Stores;
using Prism.Provisioner.Catalog;
using Prism.Scanner.Clamd;
using Prism.Scanner.Fleet;

namespace Prism.Fleet.Scanning;

/// <summary>
/// The fleet scan as a job: resolve what to scan (explicit parent and clones, a folder's chains, or every golden of the
/// catalog with its clones), check every output against the sealed disks, load the engine, scan each group, write the
/// JSON report and the timestamped report (rotating old ones), and record the run in the catalog. <c>prism scan</c>
/// and <c>Invoke-PrismFleetScan</c> are front ends over this.
/// </summary>
public static class FleetScanJob
{
    /// <summary>Runs <paramref name="request"/>.</summary>
    /// <exception cref="ArgumentException">The request contradicts itself (a usage error).</exception>
    /// <exception cref="ProtectedPathException">An output names a golden, a parent, a clone or a sealed VHDX.</exception>
    /// <exception cref="IOException">A catalog, signature file, store or parent could not be used.</exception>
    public static async Task<FleetScanResult> RunAsync(FleetScanRequest request, IFleetScanObserver observer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(observer);
        request.Validate();

        // Every file this scan will write is checked before anything is written: no golden, no parent of a clone, no
        // registered clone, no sealed VHDX, by path or by identity (hard and symbolic links).
        WriteTargetGuard guard = ProtectedDisks.Guard(request.CatalogPath, includeClones: true);
        if (request.JsonPath is not null)
        {
            guard.Check(request.JsonPath, "--json report");
        }

        if (request.Store is not null && !VerdictStores.IsPostgres(request.Store))
        {
            foreach (string f in new[] { request.Store, request.Store + "-wal", request.Store + "-shm" })
            {
                guard.Check(f, "verdict store");
            }
        }

        if (request.ReportDirectory is not null)
        {
            guard.Check(request.ReportDirectory, "--report-dir");
        }

        if (request.Host is not null)
        {
            string location = PrismCatalog.ResolvePath(request.CatalogPath);
            IScanEngine distributedEngine = await CreateEngineAsync(request, observer, cancellationToken).ConfigureAwait(false);
            return await DistributedScan.RunAsync(request, location, distributedEngine, observer, cancellationToken).ConfigureAwait(false);
        }

        var unscannable = new List<string>();
        IReadOnlyList<ChainDiscovery.Group> groups;
        string? catalogPath = null;
        if (request.Catalog)
        {
            catalogPath = PrismCatalog.ResolvePath(request.CatalogPath);
            using var catalog = PrismCatalog.Open(catalogPath);
            var clonesByGolden = catalog.Clones().ToLookup(c => c.Golden);
            groups = [.. catalog.Goldens().Select(g => new ChainDiscovery.Group(g.Path, [.. clonesByGolden[g.Name].Select(c => c.Path)]))];
            if (groups.Count == 0)
            {
                return new FleetScanResult { Reports = [], NothingToScan = $"the catalog {catalog.Path} has no golden images; nothing to scan" };
            }
        }
        else if (request.Directory is not null)
        {
            groups = ChainDiscovery.Find(request.Directory, request.AllowRemoteParents, unscannable);
            foreach (string u in unscannable)
            {
                observer.Notice($"skipping {u}");
            }
        }
        else
        {
            groups = [new ChainDiscovery.Group(request.Parent!, request.Clones)];
        }

        IScanEngine engine = await CreateEngineAsync(request, observer, cancellationToken).ConfigureAwait(false);
        using IVerdictStore? store = request.Store is null ? null : OpenStore(request, observer);
        DateTime started = DateTime.UtcNow;
        var reports = new List<FleetScanReport>();
        foreach (ChainDiscovery.Group g in groups)
        {
            observer.GroupStarted(g.Parent, g.Clones.Count);
            var scanner = new FleetScanner(engine, new FleetScanOptions
            {
                Full = request.Full,
                Store = store,
                MaxParallelism = request.Parallelism,
                Progress = new ObserverProgress(observer),
                AllowRemoteParents = request.AllowRemoteParents,
            });
            FleetReport r = await scanner.ScanAsync(g.Parent, g.Clones, cancellationToken).ConfigureAwait(false);
            observer.GroupFinished();
            reports.Add(FleetScanReport.From(r, (engine as BuiltinEngine)?.Database));
        }

        if (request.JsonPath is not null)
        {
            ReportJson.Write(request.JsonPath, reports);
        }

        string? reportPath = request.ReportDirectory is null ? null : WriteRotatedReport(request.ReportDirectory, request.Keep, reports, guard, observer);
        if (catalogPath is not null)
        {
            using var catalog = PrismCatalog.Open(catalogPath);
            catalog.AddScanRun(new ScanRun(started, DateTime.UtcNow, reportPath ?? request.JsonPath,
                reports.Sum(r => r.Clones.Count), reports.Sum(r => r.FindingCount())));
        }

        return new FleetScanResult
        {
            Reports = reports,
            Unscannable = unscannable,
            ReportPath = reportPath,
            StoreProblems = [.. store?.Problems ?? []],
            StoreOptional = request.StoreOptional,
        };
    }

    /// <summary>Writes <c>prism-scan-TIME.json</c> into <paramref name="directory"/> and deletes all but the newest
    /// <paramref name="keep"/> such reports (never a protected file).</summary>
    private static string WriteRotatedReport(string directory, int keep, IReadOnlyList<FleetScanReport> reports, WriteTargetGuard guard, IFleetScanObserver observer)
    {
        Directory.CreateDirectory(directory);
        string stamp = $"prism-scan-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'.'fff'Z'}";
        string path = Path.Combine(directory, stamp + ".json");
        for (int n = 2; File.Exists(path); n++)
        {
            path = Path.Combine(directory, $"{stamp}-{n}.json");
        }

        guard.Check(path, "report");
        ReportJson.Write(path, reports);
        foreach (string old in Directory.EnumerateFiles(directory, "prism-scan-*.json").Order(StringComparer.Ordinal).Reverse().Skip(Math.Max(1, keep)))
        {
            try
            {
                guard.Check(old, "old report to delete");
                File.Delete(old);
            }
            catch (ProtectedPathException e)
            {
                observer.Warning(e.Message);
            }
        }

        return path;
    }

    private static async Task<IScanEngine> CreateEngineAsync(FleetScanRequest request, IFleetScanObserver observer, CancellationToken cancellationToken)
    {
        if (request.Engine == "clamd")
        {
            var client = new ClamdClient(ClamdEndpoint.Parse(request.Clamd!));
            string version = await client.GetVersionAsync(cancellationToken).ConfigureAwait(false);
            return new ClamdEngine(client, version);
        }

        return new BuiltinEngine(SignatureSources.Load(request.Signatures, observer.Notice));
    }

    /// <summary>The verdict store, or (optional store) null and a warning when it cannot be used. A damaged store moved
    /// aside is reported; a lock wait is reported when it starts.</summary>
    internal static IVerdictStore? OpenStore(FleetScanRequest request, IFleetScanObserver observer)
    {
        try
        {
            IVerdictStore store = VerdictStores.Open(request.Store!, new VerdictStoreOptions { LockWait = request.StoreWait, Waiting = observer.Notice });
            if (store is VerdictStore { CorruptCopyPath: { } aside })
            {
                observer.Notice($"verdict store {store.Display} was damaged: moved aside to {aside}, a new store was made");
            }

            return store;
        }
        catch (VerdictStoreException e) when (request.StoreOptional)
        {
            observer.Warning($"{e.Message.ReplaceLineEndings(" ").TrimEnd('.')}; scanning without the store ({request.StoreOptionalName})");
            return null;
        }
    }

    private sealed class ObserverProgress(IFleetScanObserver observer) : IProgress<FleetProgress>
    {
        public void Report(FleetProgress value) => observer.Progress(value);
    }
}
