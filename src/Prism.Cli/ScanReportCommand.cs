using System.CommandLine;
using System.Globalization;
using Prism.Disks.Errors;
using Prism.Fleet.Reports;
using Prism.Fleet.Scanning;
using Prism.Fleet.Stores;
using Prism.Provisioner.Catalog;

namespace Prism.Cli;

/// <summary><c>prism scan report --run ID [--json]</c>: the report of a distributed scan run, assembled in the database.</summary>
internal sealed class ScanReportCommand
{
    private readonly Option<string?> _run = CliOptions.Text("--run", "the run's id or name", "ID", required: true);
    private readonly Option<bool> _json = CliOptions.Flag("--json", "the JSON report (the shape of prism scan --json) on stdout");
    private readonly Option<string?> _catalog = CliOptions.Text("--catalog", "the PostgreSQL catalog the hosts scanned (default $PRISM_CATALOG)", "URI");
    private readonly Option<string?> _store = CliOptions.Text("--store", "the PostgreSQL verdict store, when the hosts used one apart from the catalog", "URI");

    public static Command Create() => new ScanReportCommand().Build();

    private Command Build()
    {
        var report = new Command("report", "the fleet report of a distributed scan run (prism scan --catalog postgres://... --host NAME), "
            + "assembled in the database. Exit: 0 clean, 1 found, 2 error or units still pending")
        {
            _run, _json, _catalog, _store,
        };
        report.SetAction(Run);
        return report;
    }

    private int Run(ParseResult p)
    {
        TextWriter stdout = p.InvocationConfiguration.Output;
        TextWriter stderr = p.InvocationConfiguration.Error;
        string location = p.GetValue(_store) ?? PrismCatalog.ResolvePath(p.GetValue(_catalog));
        string run = p.GetValue(_run)!;
        FleetRunReport? report;
        try
        {
            report = FleetRunReport.Load(location, run, CatalogHosts(p.GetValue(_catalog)));
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }

        if (report is null)
        {
            stderr.WriteLine($"prism: no scan run '{run}' in {PostgresConnection.Redact(location)}");
            return 2;
        }

        if (p.GetValue(_json))
        {
            stdout.WriteLine(ReportJson.Serialize(report.Reports));
        }
        else
        {
            foreach (FleetScanReport r in report.Reports)
            {
                ScanCommand.PrintTable(r, stdout);
            }

            PrintRunSummary(report, stdout);
        }

        bool errors = report.Pending > 0 || report.Refusals.Count > 0 || report.Reports.Any(r => r.HasErrors());
        return errors ? 2 : report.Reports.Sum(r => r.FindingCount()) > 0 ? 1 : 0;
    }

    /// <summary>The hosts and storage roots of the PostgreSQL catalog, to name the units that wait for one host; null when there is none to read.</summary>
    private static IReadOnlyList<HostRecord>? CatalogHosts(string? catalog)
    {
        string location = PrismCatalog.ResolvePath(catalog);
        if (!PostgresConnection.IsPostgres(location))
        {
            return null;
        }

        try
        {
            using PrismCatalog c = PrismCatalog.Open(location);
            return c.Hosts();
        }
        catch (IOException)
        {
            return null; // the report is still read from the store; it just cannot say which units wait for one host
        }
    }

    /// <summary>The run's line, its golden bytes, who did what, refusals and redone units.</summary>
    internal static void PrintRunSummary(FleetRunReport report, TextWriter stdout)
    {
        ScanRunInfo run = report.Run;
        string state = run.Finished is { } f ? $"finished {f:yyyy-MM-dd HH:mm:ss}Z" : $"{report.Pending} unit(s) pending";
        stdout.WriteLine($"scan run {run.Id} '{run.Name}': started {run.Started:yyyy-MM-dd HH:mm:ss}Z, {state}; {report.Units.Count} unit(s), engine {run.Engine}");
        foreach (ScanUnitInfo b in report.Units.Where(u => u.Kind == "baseline"))
        {
            string by = b.Done ? $"by {b.DoneBy} from {b.LocalPath}" : "not computed";
            stdout.WriteLine($"  baseline {b.Golden}: {Sizes.Format(b.BytesRead)} read ({b.BytesRead.ToString("N0", CultureInfo.InvariantCulture)} bytes), {by}");
        }

        stdout.WriteLine($"  golden bytes read: {report.GoldenBytesRead.ToString("N0", CultureInfo.InvariantCulture)}");
        foreach (IGrouping<string?, ScanUnitInfo> h in report.Units.Where(u => u.Done).GroupBy(u => u.DoneBy).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            stdout.WriteLine($"  host {h.Key}: {h.Count()} unit(s), {Sizes.Format(h.Sum(u => u.BytesRead))} read");
        }

        int redone = report.Units.Count(u => u.Attempts > 1);
        if (redone > 0)
        {
            stdout.WriteLine($"  {redone} unit(s) claimed again after a lease expired (each done once)");
        }

        foreach (IGrouping<string, WaitingUnit> w in report.Waiting.GroupBy(w => w.Host))
        {
            stdout.WriteLine($"  WAITING for host {w.Key}: {w.Count()} unit(s) only it can reach (its own storage); the run finishes when it runs "
                + $"'prism scan --host {w.Key} --run {run.Name}' again, or after 'prism clone remove --forget' of its clones the next run leaves them out");
            foreach (WaitingUnit u in w)
            {
                stdout.WriteLine($"    {TextEscaping.Escape(u.Unit.Path)}: {(u.Unit.Attempts > 0 ? "its lease expired" : "not claimed")}");
            }
        }

        foreach (ScanRefusal r in report.Refusals)
        {
            stdout.WriteLine($"  REFUSED {TextEscaping.Escape(r.Message)}");
        }
    }
}
