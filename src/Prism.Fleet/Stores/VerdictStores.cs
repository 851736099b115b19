using Prism.Provisioner.Catalog;
using Prism.Scanner.Fleet;

namespace Prism.Fleet.Stores;

/// <summary>Opens the verdict store a <c>--store</c> value names: a SQLite file path, or a PostgreSQL URI / connection string.</summary>
public static class VerdictStores
{
    /// <summary>True when <paramref name="location"/> names a PostgreSQL database rather than a file.</summary>
    public static bool IsPostgres(string? location) => PostgresConnection.IsPostgres(location);

    /// <summary>What to print for <paramref name="location"/>: a file path as is, a database without its password.</summary>
    public static string Redact(string location) => PostgresConnection.Redact(location);

    /// <summary>Opens (creating or migrating) the store at <paramref name="location"/>.</summary>
    /// <exception cref="VerdictStoreException">The store cannot be used; the message names it, never a password.</exception>
    public static IVerdictStore Open(string location, VerdictStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(location);
        return IsPostgres(location) ? PostgresVerdictStore.Open(location) : VerdictStore.Open(location, options);
    }
}
