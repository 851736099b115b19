using System.Collections.Concurrent;
using System.Management.Automation;
using Prism.Fleet.Reports;
using Prism.Fleet.Scanning;
using Prism.Scanner.Fleet;

namespace Prism.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Scans a parent disk and its clones for ClamAV signatures, reading the parent once and then only what each clone changed.</para>
/// <para type="description">Writes one fleet report per parent (parent and per-clone findings, bytes read and inherited), the same
/// model and JSON as prism scan. -Catalog scans every golden of the catalog with its clones (the nightly job: -ReportDirectory,
/// -Keep, the run recorded in the catalog); -Directory scans the chains found in a folder; -Full scans every clone independently.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "PrismFleetScan", DefaultParameterSetName = FleetSet)]
[OutputType(typeof(FleetScanReport))]
public sealed class InvokePrismFleetScanCommand : PrismCmdletBase, IDisposable
{
    private const string FleetSet = "Fleet";
    private const string CatalogSet = "Catalog";
    private const string DirectorySet = "Directory";
    private const int ActivityId = 2;

    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _clones = [];

    /// <summary>The parent (golden) disk.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = FleetSet)]
    [ValidateNotNullOrEmpty]
    public string Parent { get; set; } = null!;

    /// <summary>The clones (differencing children of the parent; wildcards allowed).</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true, ParameterSetName = FleetSet)]
    [Alias("Path", "FullName")]
    public string[] Clone { get; set; } = [];

    /// <summary>Scan every golden of this catalog with its registered clones (an empty string: $env:PRISM_CATALOG, else the per-user catalog).</summary>
    [Parameter(Mandatory = true, ParameterSetName = CatalogSet)]
    [AllowEmptyString]
    public string Catalog { get; set; } = null!;

    /// <summary>Scan every differencing chain found in this folder, grouped by base disk.</summary>
    [Parameter(Mandatory = true, ParameterSetName = DirectorySet)]
    [ValidateNotNullOrEmpty]
    public string Directory { get; set; } = null!;

    /// <summary>ClamAV .hdb/.hsb/.ndb/.cvd/.cld files, or folders of them.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string[] Signatures { get; set; } = null!;

    /// <summary>Scan every clone in full, independently (the baseline).</summary>
    [Parameter]
    public SwitchParameter Full { get; set; }

    /// <summary>SQLite verdict store: reuse the parent's verdicts and skip unchanged clean clones across runs.</summary>
    [Parameter]
    public string? Store { get; set; }

    /// <summary>A store that cannot be used (not a Prism store, locked, read-only, unreadable) is a warning and the scan runs without it.</summary>
    [Parameter]
    public SwitchParameter StoreOptional { get; set; }

    /// <summary>Seconds to wait for another scan's lock on the store (default 30).</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int StoreWait { get; set; } = 30;

    /// <summary>Also write the report as JSON to this file (the same JSON as prism scan --json).</summary>
    [Parameter]
    public string? JsonPath { get; set; }

    /// <summary>Write a timestamped JSON report into this folder and keep the newest -Keep.</summary>
    [Parameter]
    public string? ReportDirectory { get; set; }

    /// <summary>Reports kept in -ReportDirectory (default 14).</summary>
    [Parameter]
    [ValidateRange(1, 100000)]
    public int Keep { get; set; } = 14;

    /// <summary>Clones scanned at once (default: processor count).</summary>
    [Parameter]
    [ValidateRange(1, 256)]
    public int MaxParallelism { get; set; } = Environment.ProcessorCount;

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (string c in Clone)
        {
            try
            {
                _clones.AddRange(ResolveExistingPaths(c));
            }
            catch (Exception e) when (IsExpected(e))
            {
                WriteItemError(e, c);
            }
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        FleetScanResult result;
        try
        {
            var request = new FleetScanRequest
            {
                Parent = ParameterSetName == FleetSet ? ResolveExistingPaths(Parent)[0] : null,
                Clones = _clones,
                Catalog = ParameterSetName == CatalogSet,
                CatalogPath = ParameterSetName == CatalogSet && !string.IsNullOrEmpty(Catalog) ? ResolveNewPath(Catalog) : null,
                Directory = ParameterSetName == DirectorySet ? ResolveNewPath(Directory) : null,
                Signatures = ResolveSignatures(),
                Full = Full,
                Store = Store is null ? null : Prism.Fleet.Stores.VerdictStores.IsPostgres(Store) ? Store : ResolveNewPath(Store),
                StoreOptional = StoreOptional,
                StoreOptionalName = "-StoreOptional",
                StoreWait = TimeSpan.FromSeconds(StoreWait),
                JsonPath = JsonPath is null ? null : ResolveNewPath(JsonPath),
                ReportDirectory = ReportDirectory is null ? null : ResolveNewPath(ReportDirectory),
                Keep = Keep,
                Parallelism = MaxParallelism,
            };
            result = Scan(request);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Ctrl+C / Stop(): the scan stopped early; report it as PowerShell expects of a stopped pipeline.
            throw new PipelineStoppedException();
        }
        catch (Exception e) when (IsExpected(e))
        {
            ThrowFatal(e, Parent ?? Catalog ?? Directory);
            return;
        }

        if (result.NothingToScan is { } nothing)
        {
            WriteWarning(nothing);
        }

        foreach (string problem in result.StoreProblems)
        {
            if (StoreOptional)
            {
                WriteWarning(problem);
            }
            else
            {
                WriteError(new ErrorRecord(new IOException(problem), "PrismVerdictStore", ErrorCategory.WriteError, Store is null ? null : Prism.Fleet.Stores.VerdictStores.Redact(Store)));
            }
        }

        foreach (string u in result.Unscannable)
        {
            WriteError(new ErrorRecord(new IOException(u), "PrismDiskChainBroken", ErrorCategory.InvalidData, u));
        }

        foreach (FleetScanReport report in result.Reports)
        {
            foreach (string error in report.Clones.Prepend(report.Parent).SelectMany(d => d.Errors.Select(x => $"{d.Path}: {x}")))
            {
                WriteWarning(error);
            }

            WriteObject(report);
        }
    }

    /// <inheritdoc />
    protected override void StopProcessing() => _stop.Cancel();

    /// <inheritdoc />
    public void Dispose() => _stop.Dispose();

    private List<string> ResolveSignatures()
    {
        var sources = new List<string>();
        foreach (string s in Signatures)
        {
            string full = ResolveNewPath(s);
            if (System.IO.Directory.Exists(full))
            {
                sources.Add(full);
            }
            else
            {
                sources.AddRange(ResolveExistingPaths(s));
            }
        }

        return sources;
    }

    /// <summary>
    /// Runs the job on a worker while this (pipeline) thread turns its progress and notices into Write-Progress and
    /// Write-Warning records: both may only be called from the pipeline thread.
    /// </summary>
    private FleetScanResult Scan(FleetScanRequest request)
    {
        using var updates = new BlockingCollection<Action>();
        var observer = new QueueObserver(updates, this);
        Task<FleetScanResult> scan = Task.Run(() => FleetScanJob.RunAsync(request, observer, _stop.Token));
        _ = scan.ContinueWith(_ => updates.CompleteAdding(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        foreach (Action update in updates.GetConsumingEnumerable())
        {
            update();
        }

        return scan.GetAwaiter().GetResult();
    }

    /// <summary>Queues the job's progress and notices for the pipeline thread (they arrive on scanner threads).</summary>
    private sealed class QueueObserver(BlockingCollection<Action> queue, InvokePrismFleetScanCommand cmdlet) : IFleetScanObserver
    {
        private string _activity = "Scanning";

        public void Notice(string message) => Post(() => cmdlet.WriteWarning(message));

        public void Warning(string message) => Post(() => cmdlet.WriteWarning(message));

        public void GroupStarted(string parent, int clones)
        {
            string activity = $"Scanning {System.IO.Path.GetFileName(parent)} and {clones} clone(s)";
            Post(() => _activity = activity);
        }

        public void Progress(FleetProgress p) =>
            // A new record per update: the host (or Streams.Progress) may keep the ones already written.
            Post(() => cmdlet.WriteProgress(new ProgressRecord(ActivityId, _activity, $"{p.Done} of {p.Total}: {p.Stage} ({p.BytesRead} bytes read)")
            {
                PercentComplete = p.Total == 0 ? 100 : Math.Clamp(100 * p.Done / p.Total, 0, 100),
            }));

        public void GroupFinished() => Post(() => cmdlet.WriteProgress(new ProgressRecord(ActivityId, _activity, "done") { RecordType = ProgressRecordType.Completed }));

        private void Post(Action action)
        {
            try
            {
                queue.TryAdd(action);
            }
            catch (InvalidOperationException)
            {
                // The scan already completed: a straggling report has nobody left to show it to.
            }
        }
    }
}
