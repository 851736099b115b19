using System.Text.Json;
using Prism.Disks.Vhdx;
using Prism.Fleet.Reports;
using Prism.Fleet.Stores;
using Prism.Provisioner.Catalog;
using Prism.Scanner.Fleet;

namespace Prism.Fleet.Scanning;

/// <summary>
/// The nightly scan of a fleet spread over many hosts (<c>prism scan --catalog postgres://... --host NAME</c> on every
/// host): the first host to start the run creates its work units from the catalog (one baseline per golden, one scan per
/// clone) in the PostgreSQL database; every host then claims units with leases (<see cref="PostgresScanQueue"/>) until
/// nothing it can reach is left. A golden is the same golden on every host when its disk id and DataWriteGuid match the
/// catalog's, so its baseline is computed once (by whichever host claims it) and read from the shared verdict store by
/// every other; a host whose copy differs is refused for that golden. A host that dies loses its leases, and its units
/// are redone by a host that can reach the files once the leases expire. The run's report is assembled in the database
/// (<see cref="FleetRunReport"/>).
/// </summary>
internal static class DistributedScan
{
    public static async Task<FleetScanResult> RunAsync(FleetScanRequest request, string catalogLocation, IScanEngine engine,
        IFleetScanObserver observer, CancellationToken cancellationToken)
    {
        string host = request.Host!;
        string storeLocation = request.Store ?? catalogLocation;
        if (!PostgresConnection.IsPostgres(catalogLocation) || !PostgresConnection.IsPostgres(storeLocation))
        {
            throw new ArgumentException("--host (the distributed scan) needs a PostgreSQL catalog (--catalog postgres://... or $PRISM_CATALOG) "
                + "and, when --store is given, a PostgreSQL verdict store");
        }

        IReadOnlyList<GoldenImage> goldens;
        IReadOnlyList<CloneRecord> clones;
        string[] roots;
        IReadOnlyList<HostRecord> hosts;
        using (PrismCatalog catalog = PrismCatalog.Open(catalogLocation))
        {
            goldens = [.. catalog.Goldens().OrderBy(g => g.Name, StringComparer.Ordinal)];
            clones = [.. catalog.Clones().OrderBy(c => c.Name, StringComparer.Ordinal)];
            hosts = catalog.Hosts();
            roots = [.. (hosts.FirstOrDefault(h => h.Name == host)?.Roots ?? [])
                .Select(r => Path.EndsInDirectorySeparator(r) ? r : r + Path.DirectorySeparatorChar)];
        }

        if (goldens.Count == 0)
        {
            return new FleetScanResult { Reports = [], NothingToScan = "the catalog has no golden images; nothing to scan" };
        }

        using PostgresVerdictStore store = PostgresVerdictStore.Open(storeLocation);
        var queue = new PostgresScanQueue(store);
        string runName = request.RunName ?? DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        ScanRunInfo run = queue.OpenRun(runName, engine.SignatureSetHash, engine.Name,
            [.. goldens.Select(g => new ScanUnitSpec("baseline", g.Name, g.Path, null)),
             .. clones.Select(c => new ScanUnitSpec("clone", c.Golden, c.Path, c.Host))]);
        observer.Notice($"scan run {run.Id} '{run.Name}' on {store.Display} as host {host}");

        // This host's copy of each golden: the root of its own clones' chains, else the catalog's path; it must be the
        // fleet's golden (disk id and DataWriteGuid), or the host is refused for that golden.
        var copies = new Dictionary<string, string>(StringComparer.Ordinal);
        var refused = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (GoldenImage g in goldens)
        {
            string? copy = LocalCopy(g, clones.Where(c => c.Golden == g.Name && c.Host == host), request.AllowRemoteParents);
            if (copy is null)
            {
                continue;
            }

            if (Identity(copy) is { } id && (id.DiskId != g.DiskId || id.DataWriteGuid != g.DataWriteGuid))
            {
                string message = $"host {host}: its copy of golden '{g.Name}' ({copy}) has disk id {id.DiskId:B} and DataWriteGuid {id.DataWriteGuid:B}, "
                    + $"the fleet's golden has {g.DiskId:B} and {g.DataWriteGuid:B}: this host is refused for '{g.Name}' (its copy differs; "
                    + "its clones of it are not scanned, the golden's baseline is not taken from it)";
                refused[g.Name] = message;
                queue.Refuse(run.Id, host, g.Name, message);
                observer.Warning(message);
            }
            else if (Identity(copy) is not null)
            {
                copies[g.Name] = copy;
            }
        }

        string[] usable = [.. copies.Keys];
        string[] refusedNames = [.. refused.Keys];
        var byGolden = goldens.ToDictionary(g => g.Name, StringComparer.Ordinal);
        TimeSpan lease = request.Lease;
        int done = 0;

        async Task Worker()
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                ClaimedUnit? unit = queue.Claim(run.Id, host, usable, refusedNames, roots, lease);
                if (unit is null)
                {
                    if (!queue.MayGetWork(run.Id, host, usable, refusedNames, roots))
                    {
                        return;
                    }

                    await Task.Delay(request.PollInterval, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                using var lost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                using var renewal = new CancellationTokenSource();
                Task renew = RenewAsync(queue, run.Id, unit, lease, lost, renewal.Token);
                (DiskScanReport report, string? local) result;
                try
                {
                    result = refused.TryGetValue(unit.Golden, out string? why)
                        ? (new DiskScanReport { Path = unit.Path, Findings = [], Errors = [why] }, null)
                        : await DoAsync(unit, byGolden[unit.Golden], copies, engine, store, request, lost.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (lost.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    observer.Notice($"unit {unit.Seq} ({unit.Kind} {unit.Path}): the lease was lost; another host redoes it");
                    continue;
                }
                finally
                {
                    await renewal.CancelAsync().ConfigureAwait(false);
                    await renew.ConfigureAwait(false);
                }

                string json = JsonSerializer.Serialize(result.report, FleetJsonContext.Default.DiskScanReport);
                if (!queue.Complete(run.Id, unit.Seq, unit.Token, host, json, result.report.BytesRead, result.local))
                {
                    observer.Notice($"unit {unit.Seq} ({unit.Kind} {unit.Path}): the lease expired before it was done; another host's result stands");
                    continue;
                }

                int n = Interlocked.Increment(ref done);
                observer.Progress(new FleetProgress(Path.GetFileName(unit.Path), n, goldens.Count + clones.Count, 0));
            }
        }

        observer.GroupStarted($"scan run {run.Id}", goldens.Count + clones.Count);
        await Task.WhenAll(Enumerable.Range(0, Math.Max(1, request.Parallelism)).Select(_ => Task.Run(Worker, cancellationToken))).ConfigureAwait(false);
        observer.GroupFinished();

        FleetRunReport fleet = FleetRunReport.Load(queue, run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), hosts)!;
        foreach (IGrouping<string, WaitingUnit> w in fleet.Waiting.GroupBy(w => w.Host))
        {
            observer.Warning($"scan run {run.Id}: {w.Count()} unit(s) waiting for host {w.Key} (only it can reach them: its own storage): "
                + $"the run finishes when {w.Key} runs 'prism scan --host {w.Key} --run {run.Name}' again");
        }

        if (fleet.Pending > fleet.Waiting.Count)
        {
            observer.Notice($"scan run {run.Id}: {fleet.Pending - fleet.Waiting.Count} unit(s) left that host {host} cannot reach; the hosts that can will finish them");
        }

        if (request.JsonPath is not null)
        {
            ReportJson.Write(request.JsonPath, fleet.ReportsOf(host));
        }

        return new FleetScanResult
        {
            Reports = fleet.ReportsOf(host),
            StoreProblems = [.. store.Problems],
            StoreOptional = request.StoreOptional,
            Run = fleet,
        };
    }

    /// <summary>Renews the unit's lease every third of its length until stopped; cancels <paramref name="lost"/> when the lease is gone.</summary>
    private static async Task RenewAsync(PostgresScanQueue queue, long run, ClaimedUnit unit, TimeSpan lease, CancellationTokenSource lost, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await Task.Delay(lease / 3, stop).ConfigureAwait(false);
                bool held;
                try
                {
                    held = queue.Renew(run, unit.Seq, unit.Token, lease);
                }
                catch (VerdictStoreException)
                {
                    held = false;
                }

                if (!held)
                {
                    await lost.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Computes a golden's baseline (from this host's copy) or scans a clone against it.</summary>
    private static async Task<(DiskScanReport Report, string? Local)> DoAsync(ClaimedUnit unit, GoldenImage golden, Dictionary<string, string> copies,
        IScanEngine engine, IVerdictStore store, FleetScanRequest request, CancellationToken cancellationToken)
    {
        var scanner = new FleetScanner(engine, new FleetScanOptions { Store = store, MaxParallelism = 1, AllowRemoteParents = request.AllowRemoteParents });
        if (unit.Kind == "baseline")
        {
            string copy = copies[unit.Golden];
            FleetReport r = await scanner.ScanAsync(copy, [], cancellationToken).ConfigureAwait(false);
            DiskScanReport parent = DiskScanReport.From(r.Parent, r.ParentFromStore);
            return (new DiskScanReport
            {
                Path = unit.Path,
                Findings = parent.Findings,
                BytesRead = parent.BytesRead,
                Seconds = parent.Seconds,
                Cached = parent.Cached,
                Errors = parent.Errors,
                Volumes = parent.Volumes,
            }, copy);
        }

        // The clone's own chain names the golden copy it was made from (on shared storage, the shared copy).
        string? root;
        try
        {
            root = ChainRoot(unit.Path, request.AllowRemoteParents);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (new DiskScanReport { Path = unit.Path, Findings = [], Errors = [e.Message.ReplaceLineEndings(" ")] }, null);
        }

        (Guid DiskId, Guid DataWriteGuid)? id = Identity(root);
        if (id is null || id.Value.DiskId != golden.DiskId || id.Value.DataWriteGuid != golden.DataWriteGuid)
        {
            string message = $"{unit.Path}: its chain ends in {root}, which is not the fleet's golden '{golden.Name}' "
                + $"(disk id {id?.DiskId:B}, DataWriteGuid {id?.DataWriteGuid:B}; the golden has {golden.DiskId:B} and {golden.DataWriteGuid:B}); not scanned";
            return (new DiskScanReport { Path = unit.Path, Findings = [], Errors = [message] }, root);
        }

        FleetReport report = await scanner.ScanAsync(root, [unit.Path], cancellationToken).ConfigureAwait(false);
        return (DiskScanReport.From(report.Clones[0], report.Clones[0].Cached), root);
    }

    private static string? LocalCopy(GoldenImage golden, IEnumerable<CloneRecord> own, bool allowRemoteParents)
    {
        foreach (CloneRecord c in own)
        {
            try
            {
                return ChainRoot(c.Path, allowRemoteParents);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // This clone's chain is broken: its own unit reports it; another may still name the copy.
            }
        }

        return File.Exists(golden.Path) ? golden.Path : null;
    }

    private static string ChainRoot(string path, bool allowRemoteParents)
    {
        using VhdxDisk d = VhdxDisk.Open(path, new VhdxOpenOptions { AllowRemoteParents = allowRemoteParents });
        return d.Chain[^1].Path;
    }

    private static (Guid DiskId, Guid DataWriteGuid)? Identity(string path)
    {
        try
        {
            using VhdxDisk d = VhdxDisk.Open(path);
            return (d.DiskId, d.DataWriteGuid);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
