using System.Management.Automation;
using Prism.Provisioner.Catalog;

namespace Prism.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Registers a VHDX file as a golden image: checks it, records its identity and seals it read-only.</para>
/// </summary>
[Cmdlet(VerbsCommon.Add, "PrismGolden", SupportsShouldProcess = true)]
[OutputType(typeof(PrismGolden))]
public sealed class AddPrismGoldenCommand : PrismCatalogCmdletBase
{
    /// <summary>The base (non-differencing) VHDX file.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = null!;

    /// <summary>Catalog name (default: the file name without extension).</summary>
    [Parameter(Position = 1)]
    public string? Name { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string path = Path;
        try
        {
            path = ResolveExistingPaths(Path)[0];
            if (!ShouldProcess(path, "Register and seal golden image"))
            {
                return;
            }

            GoldenImage golden = Manager.AddGolden(path, Name);
            WriteObject(new PrismGolden(golden, cloneCount: 0));
        }
        catch (Exception e) when (IsExpected(e))
        {
            WriteItemError(e, path);
        }
    }
}
