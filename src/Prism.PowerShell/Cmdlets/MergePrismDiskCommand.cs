using System.Management.Automation;
using Prism.Disks.IO;
using Prism.Provisioner.Catalog;

namespace Prism.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Merges a registered clone into its parent (as Merge-VHD) and removes the clone.</para>
/// <para type="description">Refused when the parent is a sealed golden image or has other children.</para>
/// </summary>
[Cmdlet(VerbsData.Merge, "PrismDisk", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(PrismDiskInfo))]
public sealed class MergePrismDiskCommand : PrismCatalogCmdletBase
{
    /// <summary>The clone's file (or catalog name).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = null!;

    /// <summary>Write the merged parent's disk object.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    private const int ActivityId = 3;

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string target = NameOrResolvedPath(Path);
        try
        {
            RefuseGolden(target, "merging into");
            CloneRecord? clone = FindClone(target);

            // A disk that is the parent of a clone is never merged away (its children read it), whatever its permission bits.
            new WriteTargetGuard(ProtectedDisks.From(OpenCatalog(), includeClones: false)).Check(clone?.Path ?? target, "disk to merge");
            string what = clone is null ? target : $"{clone.Path} into its parent {clone.ParentPath}";
            if (!ShouldProcess(what, "Merge VHDX into its parent"))
            {
                return;
            }

            string activity = $"Merging {target} into its parent";
            Manager.MergeClone(target, new SyncProgress<(long Done, long Total)>(p => WriteProgress(
                new ProgressRecord(ActivityId, activity, $"{p.Done >> 20} of {p.Total >> 20} MiB copied")
                {
                    PercentComplete = p.Total == 0 ? 100 : (int)(100 * p.Done / p.Total),
                })));
            WriteProgress(new ProgressRecord(ActivityId, activity, "merged") { RecordType = ProgressRecordType.Completed });
            if (PassThru && clone is not null)
            {
                WriteObject(PrismDiskInfo.Read(clone.ParentPath));
            }
        }
        catch (Exception e) when (IsExpected(e))
        {
            WriteItemError(e, target);
        }
    }
}
