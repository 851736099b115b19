namespace Prism.Fleet.Scanning;

/// <summary>What to scan and how: one of <see cref="Parent"/> (with <see cref="Clones"/>), <see cref="Directory"/> or
/// <see cref="Catalog"/>. The same request from <c>prism scan</c> and <c>Invoke-PrismFleetScan</c> runs the same job.</summary>
public sealed record FleetScanRequest
{
    /// <summary>The parent of an explicit fleet.</summary>
    public string? Parent { get; init; }

    /// <summary>The clones of <see cref="Parent"/>.</summary>
    public IReadOnlyList<string> Clones { get; init; } = [];

    /// <summary>Scan every differencing chain found in this folder, grouped by the base disk it ends in.</summary>
    public string? Directory { get; init; }

    /// <summary>Scan every golden of the catalog with its registered clones (the nightly task); see <see cref="CatalogPath"/>.</summary>
    public bool Catalog { get; init; }

    /// <summary>The catalog (null: <c>$PRISM_CATALOG</c>, else the per-user catalog). Also the catalog whose disks
    /// every output is checked against.</summary>
    public string? CatalogPath { get; init; }

    /// <summary>ClamAV database files or folders of them (the built-in engine).</summary>
    public IReadOnlyList<string> Signatures { get; init; } = [];

    /// <summary>"builtin" or "clamd".</summary>
    public string Engine { get; init; } = "builtin";

    /// <summary>clamd socket path or HOST:PORT (with <see cref="Engine"/> "clamd").</summary>
    public string? Clamd { get; init; }

    /// <summary>Scan every clone in full, independently (the baseline).</summary>
    public bool Full { get; init; }

    /// <summary>Verdict store: a SQLite file path, or a PostgreSQL URI / connection string (may hold a password: never printed).</summary>
    public string? Store { get; init; }

    /// <summary>A store that cannot be used is a warning, not an error.</summary>
    public bool StoreOptional { get; init; }

    /// <summary>How the front end spells the store-optional switch, for messages (<c>--store-optional</c>, <c>-StoreOptional</c>).</summary>
    public string StoreOptionalName { get; init; } = "--store-optional";

    /// <summary>How long to wait for another scan's lock on the store.</summary>
    public TimeSpan StoreWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Also write the JSON report to this file.</summary>
    public string? JsonPath { get; init; }

    /// <summary>Write a timestamped JSON report into this folder and keep the newest <see cref="Keep"/>.</summary>
    public string? ReportDirectory { get; init; }

    /// <summary>Reports kept in <see cref="ReportDirectory"/> (at least 1).</summary>
    public int Keep { get; init; } = 14;

    /// <summary>Clones scanned at once.</summary>
    public int Parallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Follow parent locators to UNC paths.</summary>
    public bool AllowRemoteParents { get; init; }

    /// <summary>
    /// This host's name in a distributed scan (<c>--host</c>): with a PostgreSQL catalog, the hosts share the run's work
    /// units through the database (<see cref="DistributedScan"/>).
    /// </summary>
    public string? Host { get; init; }

    /// <summary>The distributed run to join or start (null: the UTC date, one run per night).</summary>
    public string? RunName { get; init; }

    /// <summary>How long a claimed unit stays leased without renewal (a dead host's units are redone after it).</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How often a host with nothing to claim looks again while others work.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first contradiction (a usage error).</summary>
    public void Validate()
    {
        if (Engine is not ("builtin" or "clamd"))
        {
            throw new ArgumentException($"--engine must be builtin or clamd, not '{Engine}'");
        }

        if (Engine == "builtin" && Signatures.Count == 0)
        {
            throw new ArgumentException("scan needs --signatures FILE... (ClamAV .hdb/.hsb/.ndb/.cvd)");
        }

        if (Engine == "clamd" && Clamd is null)
        {
            throw new ArgumentException("--engine clamd needs --clamd SOCKET|HOST:PORT");
        }

        if (StoreOptional && Store is null)
        {
            throw new ArgumentException("--store-optional needs --store F");
        }

        int sources = (Catalog ? 1 : 0) + (Directory is null ? 0 : 1) + (Parent is null ? 0 : 1);
        if (sources == 0)
        {
            throw new ArgumentException("scan needs PARENT [CLONE...], --dir DIR or --catalog");
        }

        if (sources > 1)
        {
            throw new ArgumentException("scan takes one of PARENT [CLONE...], --dir DIR or --catalog");
        }

        if (Host is not null && !Catalog)
        {
            throw new ArgumentException("--host (the distributed scan) needs --catalog");
        }

        if (Host is { Length: 0 })
        {
            throw new ArgumentException("--host needs a host name");
        }

        if (Lease < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException("--lease must be at least 1 second");
        }

        if (Keep < 1)
        {
            throw new ArgumentException($"--keep must be at least 1, not {Keep}");
        }

        if (Parallelism < 1)
        {
            throw new ArgumentException($"--parallel must be at least 1, not {Parallelism}");
        }
    }
}
