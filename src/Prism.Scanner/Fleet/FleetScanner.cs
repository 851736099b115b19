using System.Diagnostics;
using Prism.Disks.Errors;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;

namespace Prism.Scanner.Fleet;

/// <summary>
/// Scans a parent and its clones: the parent once, then in each clone only the files whose MFT records or content
/// touch the clone's own divergent ranges (from the BAT and sector bitmaps). Each clone's findings equal what a full,
/// independent scan of that clone reports.
/// </summary>
public sealed class FleetScanner
{
    private readonly IScanEngine _engine;
    private readonly FleetScanOptions _options;

    /// <summary>Creates a scanner over <paramref name="engine"/>.</summary>
    public FleetScanner(IScanEngine engine, FleetScanOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _engine = engine;
        _options = options ?? new FleetScanOptions();
    }

    /// <summary>Scans <paramref name="parentPath"/> and <paramref name="clonePaths"/> (children at any depth below it).</summary>
    /// <exception cref="DiskFormatException">The parent cannot be read (a broken clone is reported in its own entry instead).</exception>
    public async Task<FleetReport> ScanAsync(string parentPath, IReadOnlyList<string> clonePaths, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(parentPath);
        ArgumentNullException.ThrowIfNull(clonePaths);
        var total = Stopwatch.StartNew();
        using var cache = new VhdxParentCache();
        var openOptions = new VhdxOpenOptions { ParentCache = cache, AllowRemoteParents = _options.AllowRemoteParents };
        using VhdxDisk parent = VhdxDisk.Open(parentPath, openOptions);
        string parentKey = $"{parent.DiskId:D}:{parent.DataWriteGuid:D}:{_engine.SignatureSetHash}";

        // The golden's walk does not depend on the signatures: a new signature set rescans it but keeps its walk key.
        string goldenKey = $"{parent.DiskId:D}:{parent.DataWriteGuid:D}";
        DiskReport parentReport;
        Baseline? baseline = null;
        bool fromStore = false;
        int done = 0;
        if (_options.Full)
        {
            parentReport = new DiskReport { Path = parent.Path };
        }
        else
        {
            if (_options.Store?.TryLoadBaseline(parentKey, parent.Path) is { } stored)
            {
                fromStore = true;
                (baseline, parentReport) = stored;
                LoadParentWalk(_options.Store, parentKey, goldenKey, baseline);
            }
            else
            {
                _options.Progress?.Report(new FleetProgress($"parent {Path.GetFileName(parent.Path)}", 0, clonePaths.Count + 1, 0));
                DiskScanner.Result r = await new DiskScanner(_engine)
                    .ScanAsync(parent.Path, parent, parent.GetChainMap(cancellationToken), null, [], cancellationToken,
                        parallelism: Math.Max(1, _options.MaxParallelism), captureWalk: true).ConfigureAwait(false);
                parentReport = r.Report;
                baseline = r.Produced;
                _options.Store?.SaveBaseline(parentKey, baseline, parentReport);
                if (_options.Store is not null && baseline.Volumes.Count > 0)
                {
                    try
                    {
                        _options.Store.SaveParentWalk(goldenKey, ParentWalks.Write(baseline.Volumes));
                    }
                    catch (NotSupportedException)
                    {
                        // A file system state this form cannot keep: the next run walks the golden again.
                    }
                }
            }
        }

        var reports = new DiskReport[clonePaths.Count];
        long bytesSoFar = parentReport.BytesRead;
        await Parallel.ForEachAsync(Enumerable.Range(0, clonePaths.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.MaxParallelism), CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                reports[i] = await ScanCloneAsync(clonePaths[i], parent, baseline, openOptions, ct).ConfigureAwait(false);
                long bytes = Interlocked.Add(ref bytesSoFar, reports[i].BytesRead);
                _options.Progress?.Report(new FleetProgress(Path.GetFileName(clonePaths[i]), Interlocked.Increment(ref done), clonePaths.Count, bytes));
            }).ConfigureAwait(false);

        return new FleetReport
        {
            Parent = parentReport,
            ParentFromStore = fromStore,
            Clones = reports,
            Mode = _options.Full ? "full" : "fleet",
            Engine = _engine.Name,
            Seconds = total.Elapsed.TotalSeconds,
        };
    }

    // A store-loaded baseline gets the golden's walk kept with it, when there is one that reads: the clones' walks are then
    // patched from it instead of each clone being walked whole. One that does not read is dropped (and walked again next time).
    private static void LoadParentWalk(IVerdictStore store, string parentKey, string goldenKey, Baseline baseline)
    {
        if (store.LoadParentWalk(goldenKey) is not byte[] bytes)
        {
            return;
        }

        try
        {
            foreach ((long offset, VolumeBaseline v) in ParentWalks.Read(bytes, $"{store.Display}: parent walk {goldenKey}"))
            {
                baseline.Volumes[offset] = v;
            }
        }
        catch (InvalidDataException)
        {
            // Forget the baseline it came with: the next run scans the golden again and keeps a walk that reads.
            store.DeleteBaseline(parentKey);
        }
    }

    private async Task<DiskReport> ScanCloneAsync(string clonePath, VhdxDisk parent, Baseline? baseline, VhdxOpenOptions openOptions,
        CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        string full = Path.GetFullPath(clonePath);
        try
        {
            using VhdxDisk clone = VhdxDisk.Open(full, openOptions);
            IReadOnlyList<VhdxDisk> chain = clone.Chain;
            int shared = clone.IndexInChain(parent);

            if (shared <= 0)
            {
                throw new DiskChainException(full, parent.Path,
                    $"{full}: is not a clone of {parent.Path} (its chain does not contain DataWriteGuid {parent.DataWriteGuid:B})");
            }

            string cloneKey = $"{clone.DataWriteGuid:D}:{_engine.SignatureSetHash}:{(_options.Full ? "full" : "fleet")}";
            if (_options.Store?.TryLoadClone(full, cloneKey) is { } cached)
            {
                return cached;
            }

            IReadOnlyList<ChainRange> map = clone.GetChainMap(cancellationToken);
            List<ByteRange> divergent = VhdxDisk.RangesAbove(map, shared);

            DiskScanner.Result result = await new DiskScanner(_engine)
                .ScanAsync(full, clone, map, _options.Full ? null : baseline, _options.Full ? [] : divergent, cancellationToken,
                    _options.Full ? null : chain[shared])
                .ConfigureAwait(false);
            DiskReport report = result.Report;
            if (_options.Full)
            {
                report = new DiskReport
                {
                    Path = report.Path,
                    Findings = report.Findings,
                    BytesRead = report.BytesRead,
                    BytesInherited = 0,
                    Seconds = sw.Elapsed.TotalSeconds,
                    Errors = report.Errors,
                    StreamsScanned = report.StreamsScanned,
                    DivergentBytes = divergent.Sum(r => r.Length),
                };
            }

            _options.Store?.SaveClone(full, cloneKey, report);
            return report;
        }
        catch (Exception e) when (e is IOException or DiskChainException or UnauthorizedAccessException or InvalidOperationException)
        {
            return new DiskReport { Path = full, Errors = [e.Message], Seconds = sw.Elapsed.TotalSeconds };
        }
    }
}
