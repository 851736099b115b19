using Prism.Disks.IO;

namespace Prism.Provisioner.Catalog;

/// <summary>
/// The disks a catalog says must never be written: every golden image and every disk that is the parent of a registered
/// clone (a golden, or a clone with clones). For output targets (files Prism creates or replaces) the registered clones
/// themselves are protected too, since replacing one would lose its guest's data.
/// </summary>
public static class ProtectedDisks
{
    /// <summary>The disks of <paramref name="catalog"/> that must not be written (<paramref name="includeClones"/>: every clone too).</summary>
    public static IReadOnlyList<ProtectedDisk> From(PrismCatalog catalog, bool includeClones)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        IReadOnlyList<CloneRecord> clones = catalog.Clones();
        var list = catalog.Goldens().Select(g => new ProtectedDisk(g.Path, $"the golden image {g.Name}")).ToList();
        foreach (IGrouping<string, CloneRecord> children in clones.GroupBy(c => c.ParentPath, StringComparer.Ordinal))
        {
            if (!list.Any(d => d.Path == children.Key))
            {
                list.Add(new ProtectedDisk(children.Key, $"the parent of clone {children.First().Name}"));
            }
        }

        if (includeClones)
        {
            list.AddRange(clones.Where(c => !list.Any(d => d.Path == c.Path)).Select(c => new ProtectedDisk(c.Path, $"the clone {c.Name}")));
        }

        return list;
    }

    /// <summary>
    /// A write guard over the catalog the front ends would use (<paramref name="explicitPath"/>, else $PRISM_CATALOG, else the
    /// per-user default). A catalog file that does not exist protects nothing and is not created.
    /// </summary>
    /// <exception cref="IOException">The catalog exists but cannot be read: nothing is written unchecked.</exception>
    public static WriteTargetGuard Guard(string? explicitPath, bool includeClones)
    {
        string path = CatalogPath(explicitPath);
        bool shared = PostgresConnection.IsPostgres(path);
        if (!shared && !File.Exists(path))
        {
            return WriteTargetGuard.SealedOnly;
        }

        try
        {
            using PrismCatalog catalog = PrismCatalog.Open(path);
            return new WriteTargetGuard(From(catalog, includeClones));
        }
        catch (System.Data.Common.DbException e)
        {
            throw new IOException($"{PostgresConnection.Redact(path)}: cannot read the catalog to check which disks are protected: {e.Message}", e);
        }
        catch (ProvisionerException e)
        {
            throw new IOException($"cannot read the catalog to check which disks are protected: {e.Message}", e);
        }
    }

    /// <summary>As <see cref="PrismCatalog.ResolvePath"/>, without creating the per-user folder.</summary>
    private static string CatalogPath(string? explicitPath)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return PostgresConnection.IsPostgres(explicitPath) ? explicitPath : Path.GetFullPath(explicitPath);
        }

        string? env = Environment.GetEnvironmentVariable("PRISM_CATALOG");
        if (!string.IsNullOrEmpty(env))
        {
            return PostgresConnection.IsPostgres(env) ? env : Path.GetFullPath(env);
        }

        string baseDir = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        return Path.Combine(baseDir, OperatingSystem.IsWindows() ? "Prism" : "prism", "catalog.db");
    }
}
