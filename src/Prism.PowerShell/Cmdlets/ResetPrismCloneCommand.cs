using System.Management.Automation;

namespace Prism.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Discards a clone's changes: a fresh child of the same parent replaces it (same path).</para>
/// </summary>
[Cmdlet(VerbsCommon.Reset, "PrismClone", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(PrismClone))]
public sealed class ResetPrismCloneCommand : PrismCatalogCmdletBase
{
    /// <summary>Clone names (or files).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = null!;

    /// <summary>Write the reset clone.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (string name in Name)
        {
            string n = name;
            try
            {
                n = NameOrResolvedPath(name);
                RefuseGolden(n, "resetting");
                if (!ShouldProcess(FindClone(n)?.Path ?? n, "Reset clone (discard all its changes)"))
                {
                    continue;
                }

                Manager.ResetClone(n);
                if (PassThru)
                {
                    WriteObject(Manager.ListClones().Where(c => c.Record.Name == n || c.Record.Path == System.IO.Path.GetFullPath(n))
                        .Select(c => new PrismClone(c)), enumerateCollection: true);
                }
            }
            catch (Exception e) when (IsExpected(e))
            {
                WriteItemError(e, n);
            }
        }
    }
}
