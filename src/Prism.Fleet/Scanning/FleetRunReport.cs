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

    /// <summary>Units not done yet.</summary>
    public int Pending => Units.Count(u => !u.Done);

    /// <summary>Bytes read from the goldens to compute their baselines in this run (each golden once, whatever the number of hosts).</summary>
    public long GoldenBytesRead => Units.Where(u => u.Kind == "baseline").Sum(u => u.BytesRead);

    /// <summary>Loads the run named or numbered <paramref name="run"/> from the PostgreSQL database at <paramref name="location"/>, or null.</summary>
    /// <exception cref="Scanner.Fleet.VerdictStoreException">The database cannot be used (the message holds no password).</exception>
    /// <exception cref="ArgumentException"><paramref name="location"/> is not a PostgreSQL database.</exception>
    public static FleetRunReport? Load(string location, string run)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(run);
        if (!PostgresConnection.IsPostgres(location))
        {
            throw new ArgumentException("scan runs live in a PostgreSQL database: name it with --catalog postgres://... (or $PRISM_CATALOG) or --store");
        }

        using PostgresVerdictStore store = PostgresVerdictStore.Open(location);
        return Load(new PostgresScanQueue(store), run);
    }

    internal static FleetRunReport? Load(PostgresScanQueue queue, string run)
    {
        if (queue.FindRun(run) is not { } info)
        {
            return null;
        }

        IReadOnlyList<ScanUnitInfo> units = queue.Units(info.Id);
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
                    .Select(u => Decode(u, "not scanned in this run (no host that can reach it finished it)"))],
            });
        }

        return new FleetRunReport { Run = info, Reports = reports, Units = units, Refusals = queue.Refusals(info.Id) };
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
