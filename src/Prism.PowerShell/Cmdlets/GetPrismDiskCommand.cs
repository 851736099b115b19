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
    protected override void ProcessRecord()
    {
        foreach (string p in Path)
        {
            IReadOnlyList<string> files;
            try
            {
                files = ResolveExistingPaths(p);
            }
            catch (Exception e) when (IsExpected(e))
            {
                WriteItemError(e, p);
                continue;
            }

            foreach (string file in files)
            {
                try
                {
                    WriteObject(PrismDiskInfo.Read(file));
                }
                catch (Exception e) when (IsExpected(e))
                {
                    WriteItemError(e, file);
                }
            }
        }
    }
}
