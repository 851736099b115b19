using System.Management.Automation;

namespace Prism.PowerShell.Cmdlets;

/// <summary>Shared plumbing of the Prism cmdlets: the catalog parameter.</summary>
public abstract class PrismCmdletBase : PSCmdlet
{
    /// <summary>Catalog file (default: $env:PRISM_CATALOG, else the per-user catalog).</summary>
    [Parameter]
    public string? Catalog { get; set; }
}
