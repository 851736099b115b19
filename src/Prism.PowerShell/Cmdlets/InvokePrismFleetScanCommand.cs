using System.Collections.Concurrent;
using System.Management.Automation;
using System.Text.Json;
using Prism.Disks.IO;
using Prism.Provisioner.Catalog;
using Prism.Scanner.Fleet;
using Prism.Scanner.Signatures;

namespace Prism.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Scans a parent disk and its clones for ClamAV signatures, reading the parent once and then only what each clone changed.</para>
/// <para type="description">Writes the fleet report (parent and per-clone findings, bytes read and inherited); -Full scans every clone independently.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "PrismFleetScan")]
[OutputType(typeof(FleetReport))]
public sealed class InvokePrismFleetScanCommand : PrismCmdletBase, IDisposable
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private const int ActivityId = 2;

    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _clones = [];

    /// <summary>The parent (golden) disk.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Parent { get; set; } = null!;

    /// <summary>The clones (differencing children of the parent; wildcards allowed).</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Path", "FullName")]
    public string[] Clone { get; set; } = [];

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

    /// <summary>Also write the report as JSON to this file.</summary>
    [Parameter]
    public string? JsonPath { get; set; }

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
        FleetReport report;
        try
        {
            string parent = ResolveExistingPaths(Parent)[0];
            string? storePath = Store is null ? null : ResolveNewPath(Store);
            string? jsonPath = JsonPath is null ? null : ResolveNewPath(JsonPath);

            // Outputs are checked before anything is written: never a golden, a parent, a clone or a sealed VHDX.
            WriteTargetGuard guard = ProtectedDisks.Guard(null, includeClones: true);
            if (jsonPath is not null)
            {
                guard.Check(jsonPath, "-JsonPath report");
            }

            if (storePath is not null)
            {
                foreach (string f in new[] { storePath, storePath + "-wal", storePath + "-shm" })
                {
                    guard.Check(f, "verdict store");
                }
            }

            var engine = new BuiltinEngine(LoadSignatures());
            using VerdictStore? store = storePath is null ? null : OpenStore(storePath);
            report = Scan(parent, engine, store);
            if (jsonPath is not null)
            {
                File.WriteAllText(jsonPath, JsonSerializer.Serialize(report, s_json));
            }

            foreach (string problem in store?.Problems ?? [])
            {
                if (StoreOptional)
                {
                    WriteWarning(problem);
                }
                else
                {
                    WriteError(new ErrorRecord(new IOException(problem), "PrismVerdictStore", ErrorCategory.WriteError, storePath));
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Ctrl+C / Stop(): the scan stopped early; report it as PowerShell expects of a stopped pipeline.
            throw new PipelineStoppedException();
        }
        catch (Exception e) when (IsExpected(e))
        {
            ThrowFatal(e, Parent);
            return;
        }

        foreach (string error in report.Clones.Prepend(report.Parent).SelectMany(d => d.Errors.Select(x => (d.Path, x))).Select(t => $"{t.Path}: {t.x}"))
        {
            WriteWarning(error);
        }

        WriteObject(report);
    }

    /// <summary>The store; with -StoreOptional, null and a warning when it cannot be used. A damaged store moved aside is a warning.</summary>
    private VerdictStore? OpenStore(string path)
    {
        try
        {
            VerdictStore store = VerdictStore.Open(path, new VerdictStoreOptions { Waiting = WriteWarning });
            if (store.CorruptCopyPath is { } aside)
            {
                WriteWarning($"verdict store {store.Path} was damaged: moved aside to {aside}, a new store was made");
            }

            return store;
        }
        catch (VerdictStoreException e) when (StoreOptional)
        {
            WriteWarning($"{e.Message.TrimEnd('.')}; scanning without the store (-StoreOptional)");
            return null;
        }
    }

    /// <inheritdoc />
    protected override void StopProcessing() => _stop.Cancel();

    /// <inheritdoc />
    public void Dispose() => _stop.Dispose();

    /// <summary>
    /// Runs the scan on a worker while this (pipeline) thread turns the scanner's progress into Write-Progress records:
    /// WriteProgress may only be called from the pipeline thread.
    /// </summary>
    private FleetReport Scan(string parent, BuiltinEngine engine, VerdictStore? store)
    {
        using var updates = new BlockingCollection<FleetProgress>();
        var options = new FleetScanOptions
        {
            Full = Full,
            Store = store,
            MaxParallelism = MaxParallelism,
            Progress = new QueueProgress(updates),
        };
        var scanner = new FleetScanner(engine, options);
        Task<FleetReport> scan = Task.Run(() => scanner.ScanAsync(parent, _clones, _stop.Token));
        _ = scan.ContinueWith(_ => updates.CompleteAdding(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        // A new record per update: the host (or Streams.Progress) may keep the ones already written.
        string activity = $"Scanning {Path.GetFileName(parent)} and {_clones.Count} clone(s)";
        foreach (FleetProgress p in updates.GetConsumingEnumerable())
        {
            WriteProgress(new ProgressRecord(ActivityId, activity, $"{p.Done} of {p.Total}: {p.Stage} ({p.BytesRead} bytes read)")
            {
                PercentComplete = p.Total == 0 ? 100 : Math.Clamp(100 * p.Done / p.Total, 0, 100),
            });
        }

        WriteProgress(new ProgressRecord(ActivityId, activity, "done") { RecordType = ProgressRecordType.Completed });
        return scan.GetAwaiter().GetResult();
    }

    private SignatureDatabase LoadSignatures()
    {
        var files = new List<string>();
        foreach (string s in Signatures)
        {
            string full = ResolveNewPath(s);
            if (System.IO.Directory.Exists(full))
            {
                files.AddRange(System.IO.Directory.EnumerateFiles(full).Where(SignatureDatabase.IsDatabaseFile).Order(StringComparer.Ordinal));
            }
            else
            {
                files.AddRange(ResolveExistingPaths(s));
            }
        }

        SignatureDatabase db = SignatureDatabase.Load([.. files]);
        foreach (SignatureIssue issue in db.Issues)
        {
            WriteWarning($"signatures: {issue}");
        }

        return db.SignatureCount == 0 ? throw new InvalidOperationException("no usable signatures were loaded") : db;
    }

    /// <summary>Queues progress for the pipeline thread (reports arrive on scanner threads).</summary>
    private sealed class QueueProgress(BlockingCollection<FleetProgress> queue) : IProgress<FleetProgress>
    {
        public void Report(FleetProgress value)
        {
            try
            {
                queue.TryAdd(value);
            }
            catch (InvalidOperationException)
            {
                // The scan already completed: a straggling report has nobody left to show it to.
            }
        }
    }
}
