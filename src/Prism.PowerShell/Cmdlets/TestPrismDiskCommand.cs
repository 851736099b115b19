using System.Management.Automation;
using Prism.Disks.Errors;
using Prism.Disks.Vhdx;

namespace Prism.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Checks a VHDX file and its parent chain: $true when consistent (as Test-VHD).</para>
/// <para type="description">With -Detailed, writes every finding (warnings too) instead of a Boolean.</para>
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "PrismDisk")]
[OutputType(typeof(bool), typeof(PrismDiskIssue))]
public sealed class TestPrismDiskCommand : PrismCmdletBase
{
    /// <summary>Files to check (wildcards allowed).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = null!;

    /// <summary>List the findings instead of returning $true/$false.</summary>
    [Parameter]
    public SwitchParameter Detailed { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord() => ForEachExistingFile(Path, file =>
    {
        List<PrismDiskIssue> issues = Check(file);
        if (Detailed)
        {
            WriteObject(issues, enumerateCollection: true);
        }
        else
        {
            WriteObject(issues.TrueForAll(i => i.Severity != VhdxCheckSeverity.Error));
        }
    });

    /// <summary>Every finding of the file and its chain; a file that cannot be opened as VHDX (or whose chain is broken) is one error finding.</summary>
    private static List<PrismDiskIssue> Check(string file)
    {
        try
        {
            using VhdxDisk disk = VhdxDisk.Open(file);
            return disk.CheckChain().Select(i => new PrismDiskIssue(i.Path, i.Issue.Severity, i.Issue.Message)).ToList();
        }
        catch (DiskFormatException e)
        {
            return [new PrismDiskIssue(file, VhdxCheckSeverity.Error, e.Message)];
        }
        catch (DiskChainException e)
        {
            return [new PrismDiskIssue(file, VhdxCheckSeverity.Error, e.Message)];
        }
    }
}
