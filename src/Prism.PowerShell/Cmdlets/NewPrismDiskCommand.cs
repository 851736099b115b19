using System.Management.Automation;
using Prism.Disks.Vhdx;

namespace Prism.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Creates a dynamic, fixed or differencing VHDX file (as New-VHD).</para>
/// </summary>
[Cmdlet(VerbsCommon.New, "PrismDisk", SupportsShouldProcess = true, DefaultParameterSetName = DynamicSet)]
[OutputType(typeof(PrismDiskInfo))]
public sealed class NewPrismDiskCommand : PrismCmdletBase
{
    private const string DynamicSet = "Dynamic";
    private const string FixedSet = "Fixed";
    private const string DifferencingSet = "Differencing";

    /// <summary>Path of the new file.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = null!;

    /// <summary>Virtual size in bytes (a multiple of the logical sector size).</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = DynamicSet)]
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = FixedSet)]
    public ulong SizeBytes { get; set; }

    /// <summary>Create a dynamic disk (the default).</summary>
    [Parameter(ParameterSetName = DynamicSet)]
    public SwitchParameter Dynamic { get; set; }

    /// <summary>Create a fixed disk (every block allocated now).</summary>
    [Parameter(Mandatory = true, ParameterSetName = FixedSet)]
    public SwitchParameter Fixed { get; set; }

    /// <summary>Create a differencing child of <see cref="ParentPath"/>.</summary>
    [Parameter(ParameterSetName = DifferencingSet)]
    public SwitchParameter Differencing { get; set; }

    /// <summary>The parent of the differencing disk; it is opened read-only and never modified.</summary>
    [Parameter(Mandatory = true, ParameterSetName = DifferencingSet)]
    [ValidateNotNullOrEmpty]
    public string ParentPath { get; set; } = null!;

    /// <summary>Payload block size in bytes (default 32 MiB, differencing 2 MiB).</summary>
    [Parameter]
    public uint BlockSizeBytes { get; set; }

    /// <summary>Logical sector size: 512 or 4096.</summary>
    [Parameter(ParameterSetName = DynamicSet)]
    [Parameter(ParameterSetName = FixedSet)]
    [ValidateSet("512", "4096")]
    public uint LogicalSectorSizeBytes { get; set; } = 512;

    /// <summary>Physical sector size: 512 or 4096.</summary>
    [Parameter(ParameterSetName = DynamicSet)]
    [Parameter(ParameterSetName = FixedSet)]
    [ValidateSet("512", "4096")]
    public uint PhysicalSectorSizeBytes { get; set; } = 4096;

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string path = ResolveNewPath(Path);
        try
        {
            if (File.Exists(path))
            {
                WriteError(new ErrorRecord(new IOException($"{path} already exists"), "PrismDiskExists", ErrorCategory.ResourceExists, path));
                return;
            }

            long? blockSize = BlockSizeBytes == 0 ? null : BlockSizeBytes;
            if (ParameterSetName == DifferencingSet)
            {
                string parent = ResolveExistingPaths(ParentPath)[0];
                if (!ShouldProcess(path, $"Create differencing VHDX (parent {parent})"))
                {
                    return;
                }

                VhdxDisk.CreateDifferencing(path, parent, new VhdxDifferencingOptions { BlockSize = blockSize });
            }
            else
            {
                if (SizeBytes > long.MaxValue)
                {
                    throw new ArgumentOutOfRangeException(nameof(SizeBytes), SizeBytes, "the size is too large");
                }

                VhdxDiskType type = Fixed ? VhdxDiskType.Fixed : VhdxDiskType.Dynamic;
                if (!ShouldProcess(path, $"Create {type.ToString().ToLowerInvariant()} VHDX of {SizeBytes} bytes"))
                {
                    return;
                }

                VhdxDisk.Create(path, new VhdxCreateOptions
                {
                    VirtualSize = (long)SizeBytes,
                    Type = type,
                    BlockSize = blockSize,
                    LogicalSectorSize = (int)LogicalSectorSizeBytes,
                    PhysicalSectorSize = (int)PhysicalSectorSizeBytes,
                });
            }

            WriteObject(PrismDiskInfo.Read(path));
        }
        catch (Exception e) when (IsExpected(e))
        {
            WriteItemError(e, path);
        }
    }
}
