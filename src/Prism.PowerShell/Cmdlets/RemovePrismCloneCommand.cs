using System.Management.Automation;

namespace Prism.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Deletes clones: their files and catalog records (refused while a clone has children).</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "PrismClone", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
public sealed class RemovePrismCloneCommand : PrismCatalogCmdletBase
{
    /// <summary>Clone names (or files).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = null!;

    /// <summary>Drop the catalog record only (a clone whose file is missing); the file, wherever it is, is left alone.</summary>
    [Parameter]
    public SwitchParameter Forget { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (string name in Name)
        {
            string n = name;
            try
            {
                n = NameOrResolvedPath(name);
                RefuseGolden(n, "removing");
                if (!ShouldProcess(FindClone(n)?.Path ?? n, Forget ? "Forget clone (drop its catalog record, leave any file)" : "Remove clone (delete its file and catalog record)"))
                {
                    continue;
                }

                Manager.RemoveClone(n, Forget);
            }
            catch (Exception e) when (IsExpected(e))
            {
                WriteItemError(e, n);
            }
        }
    }
}
