using Prism.Provisioner;
using Prism.Provisioner.Catalog;
using Prism.Provisioner.Cloning;

namespace Prism.PowerShell.Cmdlets;

/// <summary>Cmdlets that work on the catalog of golden images and clones: the -Catalog parameter and a lazily opened manager.</summary>
public abstract class PrismCatalogCmdletBase : PrismCmdletBase
{
    private PrismCatalog? _catalog;
    private CloneManager? _manager;

    /// <summary>Catalog file (default: $env:PRISM_CATALOG, else the per-user catalog).</summary>
    [System.Management.Automation.Parameter]
    public string? Catalog { get; set; }

    /// <summary>The open catalog; a catalog that cannot be opened ends the command (terminating error).</summary>
    private protected PrismCatalog OpenCatalog()
    {
        if (_catalog is null)
        {
            string? explicitPath = string.IsNullOrEmpty(Catalog) ? null
                : PostgresConnection.IsPostgres(Catalog) ? Catalog : ResolveNewPath(Catalog);
            string path = PrismCatalog.ResolvePath(explicitPath);
            try
            {
                _catalog = PrismCatalog.Open(path);
            }
            catch (Exception e) when (IsExpected(e))
            {
                ThrowFatal(e, PostgresConnection.Redact(path));
            }
        }

        return _catalog!;
    }

    /// <summary>
    /// Throws PrismGoldenSealed when <paramref name="nameOrPath"/> names a registered golden image: golden images are
    /// sealed and never modified, so reset, remove and merge refuse them with the reason instead of "clone not found".
    /// </summary>
    private protected void RefuseGolden(string nameOrPath, string action)
    {
        string full = System.IO.Path.GetFullPath(nameOrPath);
        GoldenImage? golden = OpenCatalog().Goldens().FirstOrDefault(g => g.Name == nameOrPath || g.Path == full);
        if (golden is not null)
        {
            throw new ProvisionerException("PrismGoldenSealed",
                $"{golden.Name} is the sealed golden image {golden.Path}; {action} it would modify it and break its clones (golden images are never modified)");
        }
    }

    /// <summary>
    /// A catalog name stays as it is; a file that exists relative to the current PowerShell location becomes its full
    /// path (the manager would otherwise resolve it against the process directory).
    /// </summary>
    private protected string NameOrResolvedPath(string nameOrPath)
    {
        string resolved = ResolveNewPath(nameOrPath);
        return File.Exists(resolved) ? resolved : nameOrPath;
    }

    /// <summary>The catalog record of the clone called (or at) <paramref name="nameOrPath"/>, or null.</summary>
    private protected CloneRecord? FindClone(string nameOrPath)
    {
        string full = System.IO.Path.GetFullPath(nameOrPath);
        return OpenCatalog().Clones().FirstOrDefault(c => c.Name == nameOrPath || c.Path == full);
    }

    /// <summary>The clone manager over <see cref="OpenCatalog"/>.</summary>
    private protected CloneManager Manager => _manager ??= new CloneManager(OpenCatalog());
}
