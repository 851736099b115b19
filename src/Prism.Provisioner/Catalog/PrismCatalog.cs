namespace Prism.Provisioner.Catalog;

/// <summary>
/// The provisioner's catalog: golden images, clones, hosts, scan runs and the journal of operations in progress
/// (<see cref="OperationJournal"/>), in a SQLite file (one machine, the default) or a PostgreSQL database (a fleet of hosts),
/// behind one store interface. Writers serialize on the catalog, so two processes creating clones at once never interleave.
/// </summary>
public sealed class PrismCatalog : IDisposable
{
    private PrismCatalog(ICatalogStore store, string location)
    {
        Store = store;
        Location = location;
    }

    /// <summary>
    /// The catalog as it may be printed: its file, or <c>postgresql://user@host:port/database</c> (never a password).
    /// </summary>
    public string Path => Store.Display;

    /// <summary>True when the catalog is a PostgreSQL database.</summary>
    public bool IsShared => Store is PostgresCatalogStore;

    /// <summary>What the catalog was opened from (may hold a password: not for printing).</summary>
    internal string Location { get; }

    internal ICatalogStore Store { get; }

    /// <summary>The schema version this program writes (the same for both stores).</summary>
    public static int SchemaVersion => SqliteCatalogStore.CurrentVersion;

    /// <summary>
    /// The catalog to use: <paramref name="explicitPath"/>, else $PRISM_CATALOG, else a per-user default
    /// (~/.local/share/prism/catalog.db, %LOCALAPPDATA%\Prism\catalog.db). A file path comes back full; a PostgreSQL URI or
    /// connection string comes back as given.
    /// </summary>
    public static string ResolvePath(string? explicitPath)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return PostgresConnection.IsPostgres(explicitPath) ? explicitPath : System.IO.Path.GetFullPath(explicitPath);
        }

        string? env = Environment.GetEnvironmentVariable("PRISM_CATALOG");
        if (!string.IsNullOrEmpty(env))
        {
            return PostgresConnection.IsPostgres(env) ? env : System.IO.Path.GetFullPath(env);
        }

        string baseDir = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create);
        return System.IO.Path.Combine(baseDir, OperatingSystem.IsWindows() ? "Prism" : "prism", "catalog.db");
    }

    /// <summary>
    /// Opens or creates the catalog at <paramref name="path"/> (a file, or a PostgreSQL URI / connection string) and
    /// brings its schema up to date.
    /// </summary>
    /// <exception cref="ProvisionerException">PrismCatalogTooNew (a newer Prism wrote it), PrismCatalogUnavailable (the server cannot be used).</exception>
    /// <exception cref="ArgumentException">A malformed connection string (the message never holds its password).</exception>
    public static PrismCatalog Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        ICatalogStore store = PostgresConnection.IsPostgres(path) ? PostgresCatalogStore.Open(path) : SqliteCatalogStore.Open(path);
        return new PrismCatalog(store, path);
    }

    /// <summary>All golden images, by name.</summary>
    public IReadOnlyList<GoldenImage> Goldens() => Store.Goldens();

    /// <summary>All clones, by name.</summary>
    public IReadOnlyList<CloneRecord> Clones() => Store.Clones();

    /// <summary>Every host that has worked on the catalog, with its storage roots.</summary>
    public IReadOnlyList<HostRecord> Hosts() => Store.Hosts();

    /// <summary>Recorded scan runs, newest first.</summary>
    public IReadOnlyList<ScanRun> ScanRuns() => Store.ScanRuns();

    /// <summary>Records a fleet-scan run.</summary>
    public void AddScanRun(ScanRun run) => Store.AddScanRun(run);

    /// <summary>Registers this host (<see cref="CatalogHost.Current"/>) with <paramref name="roots"/> among its storage roots.</summary>
    public void RegisterHost(IReadOnlyCollection<string> roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        Store.WriteIdempotent(w =>
        {
            w.RegisterHost(CatalogHost.Current, roots);
            return 0;
        });
    }

    /// <inheritdoc />
    public void Dispose() => Store.Dispose();
}
