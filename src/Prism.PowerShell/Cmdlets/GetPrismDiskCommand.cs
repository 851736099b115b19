using System.Management.Automation;

namespace Prism.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Shows VHDX files (as Get-VHD): type, sizes, sectors, parent, chain and allocation.</para>
/// <para type="description">Accepts paths from the pipeline, so Get-ChildItem *.vhdx | Get-PrismDisk works.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "PrismDisk")]
[OutputType(typeof(PrismDiskInfo))]
public sealed class GetPrismDiskCommand : PrismCmdletBase
{
    /// <summary>Files to show (wildcards allowed).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = null!;

    /// <inheritdoc />
    protected override void ProcessRecord() => ForEachExistingFile(Path, file => WriteObject(PrismDiskInfo.Read(file)));
}
