using System.Globalization;
using System.Text.Json;
using Prism.Fleet.Reports;
using Prism.Fleet.Stores;
using Prism.Provisioner.Catalog;

namespace Prism.Fleet.Scanning;

/// <summary>
/// The report of one distributed scan run, assembled in the database from its units (<c>prism scan report --run ID</c>):
/// one <see cref="FleetScanReport"/> per golden (its baseline as the parent, its clones' results), which host did what,
/// the hosts refused for a golden, and what is still pending.
/// </summary>
public sealed class FleetRunReport
{
    /// <summary>The run.</summary>
    public required ScanRunInfo Run { get; init; }

    /// <summary>One report per golden, in catalog order, as a single-host scan reports it.</summary>
    public required IReadOnlyList<FleetScanReport> Reports { get; init; }

    /// <summary>Every unit of the run.</summary>
    public required IReadOnlyList<ScanUnitInfo> Units { get; init; }

    /// <summary>Hosts refused for a golden (their copy differs).</summary>
    public required IReadOnlyList<ScanRefusal> Refusals { get; init; }

    /// <summary>
    /// What <paramref name="host"/> did in the run: per golden it worked on, the golden's baseline (whoever computed it)
    /// and the clones this host scanned (what its exit code answers for).
    /// </summary>
    public IReadOnlyList<FleetScanReport> ReportsOf(string host)
    {
        var list = new List<FleetScanReport>();
        var baselines = Units.Where(u => u.Kind == "baseline").ToList();
        for (int i = 0; i < baselines.Count && i < Reports.Count; i++)
        {
            var mine = Units.Where(u => u.Kind == "clone" && u.Golden == baselines[i].Golden).Select(u => u.DoneBy == host).ToList();
            if (baselines[i].DoneBy != host && !mine.Contains(true))
            {
                continue;
            }

            FleetScanReport r = Reports[i];
            list.Add(new FleetScanReport
            {
                Mode = r.Mode,
                Engine = r.Engine,
                Seconds = r.Seconds,
                Parent = r.Parent,
                Clones = [.. r.Clones.Where((_, j) => mine[j])],
            });
        }

        return list;
    }

    /// <summary>
    /// Units not done that only one host can do, while that host is not doing them: clones on its own storage (no other
    /// host has a storage root above them) whose host has not claimed them, or whose lease expired (the host died or was
    /// cut off). The run cannot finish them until that host scans again (<c>prism scan --host X --run NAME</c>) or an
    /// operator drops the clones (<c>prism clone remove --forget</c>: the next run leaves them out); the report names them
    /// with why. Empty when the hosts' storage roots were not known to the report.
    /// </summary>
    public IReadOnlyList<WaitingUnit> Waiting { get; init; } = [];

    /// <summary>Units not done yet.</summary>
    public int Pending => Units.Count(u => !u.Done);

    /// <summary>Bytes read from the goldens to compute their baselines in this run (each golden once, whatever the number of hosts).</summary>
    public long GoldenBytesRead => Units.Where(u => u.Kind == "baseline").Sum(u => u.BytesRead);

    /// <summary>Loads the run named or numbered <paramref name="run"/> from the PostgreSQL database at <paramref name="location"/>, or null.</summary>
    /// <exception cref="Scanner.Fleet.VerdictStoreException">The database cannot be used (the message holds no password).</exception>
    /// <exception cref="ArgumentException"><paramref name="location"/> is not a PostgreSQL database.</exception>
    /// <param name="location">The database.</param>
    /// <param name="run">The run's id or name.</param>
    /// <param name="hosts">The catalog's hosts with their storage roots, to tell which pending units wait for one host (<see cref="Waiting"/>).</param>
    public static FleetRunReport? Load(string location, string run, IReadOnlyList<HostRecord>? hosts = null)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(run);
        if (!PostgresConnection.IsPostgres(location))
        {
            throw new ArgumentException("scan runs live in a PostgreSQL database: name it with --catalog postgres://... (or $PRISM_CATALOG) or --store");
        }

        using PostgresVerdictStore store = PostgresVerdictStore.Open(location);
        return Load(new PostgresScanQueue(store), run, hosts);
    }

    /// <summary>
    /// The pending clone units only their own host can reach (no other host has a storage root above the file), and that
    /// host holds no live lease on.
    /// </summary>
    internal static List<WaitingUnit> WaitingFor(ScanRunInfo run, IReadOnlyList<ScanUnitInfo> units, IReadOnlyList<HostRecord> hosts)
    {
        var waiting = new List<WaitingUnit>();
        foreach (ScanUnitInfo u in units.Where(u => !u.Done && !u.Leased && u.Kind == "clone" && u.Host is not null))
        {
            bool reachable = hosts.Any(h => h.Name != u.Host && h.Roots.Any(r => IsUnder(u.Path, r)));
            if (reachable)
            {
                continue;
            }

            string state = u.Attempts > 0 && u.LeaseHost is { } last
                ? $"host {last} claimed it and its lease expired (the host died or lost the database)"
                : $"host {u.Host} has not claimed it in this run";
            waiting.Add(new WaitingUnit(u, u.Host!,
                $"waiting for host {u.Host}: only it can reach {u.Path} (its own storage; no other host has a storage root above it); {state}. "
                + $"The run finishes when {u.Host} runs 'prism scan --host {u.Host} --run {run.Name}' again; if it is gone for good, "
                + "'prism clone remove --forget' drops its clones from the catalog and the next run leaves them out"));
        }

        return waiting;
    }

    private static bool IsUnder(string path, string root)
    {
        string r = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        return path.StartsWith(r, StringComparison.Ordinal);
    }

    internal static FleetRunReport? Load(PostgresScanQueue queue, string run, IReadOnlyList<HostRecord>? hosts)
    {
        if (queue.FindRun(run) is not { } info)
        {
            return null;
        }

        IReadOnlyList<ScanUnitInfo> units = queue.Units(info.Id);
        List<WaitingUnit> waiting = hosts is null ? [] : WaitingFor(info, units, hosts);
        var why = waiting.ToDictionary(w => w.Unit.Seq, w => w.Reason);
        var reports = new List<FleetScanReport>();
        double seconds = ((info.Finished ?? DateTime.UtcNow) - info.Started).TotalSeconds;
        foreach (ScanUnitInfo baseline in units.Where(u => u.Kind == "baseline"))
        {
            reports.Add(new FleetScanReport
            {
                Mode = "fleet",
                Engine = info.Engine,
                Seconds = seconds,
                Parent = Decode(baseline, $"the baseline of golden '{baseline.Golden}' was not computed in this run (no host with a good copy of it finished it)"),
                Clones = [.. units.Where(u => u.Kind == "clone" && u.Golden == baseline.Golden)
                    .Select(u => Decode(u, why.GetValueOrDefault(u.Seq) ?? "not scanned in this run (no host that can reach it finished it)"))],
            });
        }

        return new FleetRunReport { Run = info, Reports = reports, Units = units, Refusals = queue.Refusals(info.Id), Waiting = waiting };
    }

    private static DiskScanReport Decode(ScanUnitInfo unit, string pending)
    {
        if (unit.Done && unit.Report is { } json)
        {
            try
            {
                return JsonSerializer.Deserialize(json, FleetJsonContext.Default.DiskScanReport) ?? throw new JsonException("null report");
            }
            catch (JsonException e)
            {
                return new DiskScanReport { Path = unit.Path, Findings = [], Errors = [$"the stored result of unit {unit.Seq.ToString(CultureInfo.InvariantCulture)} cannot be read: {e.Message}"] };
            }
        }

        return new DiskScanReport { Path = unit.Path, Findings = [], Errors = [pending] };
    }
}

/// <summary>A unit of a run that waits for one host (<see cref="FleetRunReport.Waiting"/>).</summary>
/// <param name="Unit">The unit.</param>
/// <param name="Host">The only host that can do it.</param>
/// <param name="Reason">Why, and what finishes it.</param>
public sealed record WaitingUnit(ScanUnitInfo Unit, string Host, string Reason);
