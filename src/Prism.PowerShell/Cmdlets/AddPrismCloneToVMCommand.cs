using System.Management.Automation;
using Prism.Provisioner;
using Prism.Provisioner.Catalog;

namespace Prism.PowerShell.Cmdlets;

/// <summary>The disk controller a clone is attached to.</summary>
public enum PrismControllerType
{
    /// <summary>SCSI controller (generation 2 VMs).</summary>
    Scsi,

    /// <summary>IDE controller (generation 1 VMs).</summary>
    Ide,
}

/// <summary>
/// <para type="synopsis">Attaches a clone's disk to a Hyper-V virtual machine (Windows with Hyper-V only).</para>
/// <para type="description">
/// This build has no Hyper-V host integration: on every host the clone is validated, then the command ends with a
/// terminating error (PrismHyperVUnavailable) that says so.
/// </para>
/// </summary>
[Cmdlet(VerbsCommon.Add, "PrismCloneToVM", SupportsShouldProcess = true)]
public sealed class AddPrismCloneToVMCommand : PrismCatalogCmdletBase
{
    /// <summary>The clone's catalog name.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = null!;

    /// <summary>The virtual machine.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string VMName { get; set; } = null!;

    /// <summary>SCSI (default) or IDE.</summary>
    [Parameter]
    public PrismControllerType ControllerType { get; set; } = PrismControllerType.Scsi;

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        CloneRecord? clone = null;
        try
        {
            clone = FindClone(NameOrResolvedPath(Name))
                ?? throw new ProvisionerException("PrismCloneNotFound", $"no clone named or at '{Name}' in the catalog {OpenCatalog().Path}");
            string reason = OperatingSystem.IsWindows()
                ? "Hyper-V is not available on this host: this build of Prism has no Hyper-V integration"
                : "Hyper-V is not available on this host (Hyper-V runs only on Windows)";
            throw new ProvisionerException("PrismHyperVUnavailable",
                $"{reason}; cannot attach {clone.Path} to VM '{VMName}' on its {ControllerType} controller");
        }
        catch (Exception e) when (IsExpected(e))
        {
            ThrowFatal(e, (object?)clone?.Path ?? Name);
        }
    }
}
