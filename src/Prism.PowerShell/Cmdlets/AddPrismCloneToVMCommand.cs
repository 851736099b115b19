using System.Management.Automation;
using Prism.Provisioner;
using Prism.Provisioner.Catalog;
using Prism.Provisioner.HyperV;

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
/// Goes through Hyper-V's WMI v2 provider (Msvm_VirtualSystemManagementService.AddResourceSettings: a synthetic disk
/// drive, then the virtual hard disk). On a host without Hyper-V it ends with a terminating error
/// (PrismHyperVUnavailable). Not yet run against a real Hyper-V host (see README).
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
            if (!ShouldProcess(clone.Path, $"attach to VM '{VMName}' on its {ControllerType} controller"))
            {
                return;
            }

            HyperVAttachment attached;
            try
            {
                using HyperVDiskService service = HyperVDiskService.Connect();
                attached = service.AttachAsync(new HyperVAttachRequest
                {
                    VmName = VMName,
                    DiskPath = clone.Path,
                    Controller = ControllerType == PrismControllerType.Ide ? HyperVControllerType.Ide : HyperVControllerType.Scsi,
                }).GetAwaiter().GetResult();
            }
            catch (HyperVUnavailableException e)
            {
                throw new ProvisionerException("PrismHyperVUnavailable", $"{e.Message}; cannot attach {clone.Path} to VM '{VMName}'", e);
            }

            WriteObject(attached);
        }
        catch (Exception e) when (IsExpected(e))
        {
            ThrowFatal(e, (object?)clone?.Path ?? Name);
        }
    }
}
