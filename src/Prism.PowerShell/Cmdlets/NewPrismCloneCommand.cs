using System.Management.Automation;
using Prism.Disks.Vhdx;
using Prism.Provisioner.Catalog;

namespace Prism.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Creates differencing clones of a golden image (or of another clone) and registers them.</para>
/// <para type="description">
/// Give the names, or -Count N -Prefix P for P-0001, P-0002, ... continuing after the highest existing one. All
/// clones are created in one catalog transaction; a failure leaves none behind.
/// </para>
/// </summary>
[Cmdlet(VerbsCommon.New, "PrismClone", SupportsShouldProcess = true, DefaultParameterSetName = NamesSet)]
[OutputType(typeof(PrismClone))]
public sealed class NewPrismCloneCommand : PrismCatalogCmdletBase
{
    private const string NamesSet = "Names";
    private const string CountSet = "Count";
    private const int ActivityId = 1;

    /// <summary>The golden image (catalog name or file) or a clone's catalog name.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Golden { get; set; } = null!;

    /// <summary>Names of the new clones.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = NamesSet)]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = null!;

    /// <summary>How many clones to create.</summary>
    [Parameter(Mandatory = true, ParameterSetName = CountSet)]
    [ValidateRange(1, 100_000)]
    public int Count { get; set; }

    /// <summary>Name prefix for -Count.</summary>
    [Parameter(Mandatory = true, ParameterSetName = CountSet)]
    [ValidateNotNullOrEmpty]
    public string Prefix { get; set; } = null!;

    /// <summary>Folder of the new files (default: next to the parent).</summary>
    [Parameter]
    public string? Directory { get; set; }

    /// <summary>Owner recorded with each clone.</summary>
    [Parameter]
    public string? Owner { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string golden = NameOrResolvedPath(Golden);

        try
        {
            if (Owner is not null)
            {
                CatalogNames.ValidateOwner(Owner);
            }

            IReadOnlyList<string> names = ParameterSetName == CountSet ? Manager.NextNames(Prefix, Count) : Name;
            string? directory = Directory is null ? null : ResolveNewPath(Directory);
            string where = directory ?? "the parent's folder";
            var approved = names.Where(n => ShouldProcess($"{n} in {where}", $"Create clone of {Golden}")).ToList();
            if (approved.Count == 0)
            {
                return;
            }

            string activity = $"Creating clones of {Golden}";
            var reporter = new SyncProgress<int>(done => WriteProgress(new ProgressRecord(ActivityId, activity, $"{done} of {approved.Count}: {approved[done - 1]}")
            {
                PercentComplete = (int)(100L * done / approved.Count),
            }));
            IReadOnlyList<CloneRecord> created = Manager.NewClones(golden, approved, directory, Owner, reporter);
            WriteProgress(new ProgressRecord(ActivityId, activity, $"{created.Count} created") { RecordType = ProgressRecordType.Completed });
            long virtualSize;
            using (VhdxDisk first = VhdxDisk.Open(created[0].Path, new VhdxOpenOptions { SkipParent = true }))
            {
                virtualSize = first.VirtualSize;
            }

            foreach (CloneRecord c in created)
            {
                WriteObject(new PrismClone(c, exists: true, allocatedBytes: 0, virtualSize, error: null));
            }
        }
        catch (Exception e) when (IsExpected(e))
        {
            ThrowFatal(e, Golden);
        }
    }
}
