using Prism.Testing;

namespace Prism.Provisioner.Tests.Catalog;

/// <summary>The xunit collection whose classes share one PostgreSQL cluster (started once, stopped at the end).</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresCluster>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "PostgreSQL cluster";
}

/// <summary>Where a test's catalog lives: a fresh SQLite file, or a fresh database of the shared PostgreSQL cluster.</summary>
public interface ICatalogBackend
{
    /// <summary>A new, empty catalog location (file path or connection string) for a test whose files live in <paramref name="dir"/>.</summary>
    string NewCatalog(string dir);
}

/// <summary>A SQLite file in the test's directory.</summary>
public sealed class SqliteBackend : ICatalogBackend
{
    /// <inheritdoc />
    public string NewCatalog(string dir) => Path.Combine(dir, "db", "catalog.db");
}

/// <summary>A fresh database in the shared cluster, as a key/value connection string with a password.</summary>
public sealed class PostgresBackend(PostgresCluster cluster) : ICatalogBackend
{
    /// <summary>The cluster.</summary>
    public PostgresCluster Cluster => cluster;

    /// <inheritdoc />
    public string NewCatalog(string dir) => cluster.ConnectionString(cluster.NewDatabase());
}
