using Prism.Disks.Vhdx;

namespace Prism.PowerShell;

/// <summary>A VHDX file as Get-PrismDisk shows it (the properties of Hyper-V's Get-VHD, plus the chain and allocation).</summary>
public sealed class PrismDiskInfo
{
    private PrismDiskInfo(VhdxDisk disk)
    {
        Path = disk.Path;
        VhdType = disk.Type;
        FileSize = disk.FileSize;
        Size = disk.VirtualSize;
        LogicalSectorSize = disk.LogicalSectorSize;
        PhysicalSectorSize = disk.PhysicalSectorSize;
        BlockSize = disk.BlockSize;
        ParentPath = disk.Parent?.Path;
        DiskIdentifier = disk.DiskId;
        DataWriteGuid = disk.DataWriteGuid;
        Chain = disk.Chain.Select(d => d.Path).ToArray();
        AllocatedBytes = disk.GetAllocatedBytes();
        Sealed = VhdxDisk.IsSealed(disk.Path);
    }

    /// <summary>Full path of the file.</summary>
    public string Path { get; }

    /// <summary>Always "VHDX".</summary>
    public string VhdFormat { get; } = "VHDX";

    /// <summary>Dynamic, Fixed or Differencing.</summary>
    public VhdxDiskType VhdType { get; }

    /// <summary>Size of the container file in bytes.</summary>
    public long FileSize { get; }

    /// <summary>Virtual disk size in bytes.</summary>
    public long Size { get; }

    /// <summary>Logical sector size in bytes.</summary>
    public int LogicalSectorSize { get; }

    /// <summary>Physical sector size in bytes.</summary>
    public int PhysicalSectorSize { get; }

    /// <summary>Payload block size in bytes.</summary>
    public long BlockSize { get; }

    /// <summary>The parent file of a differencing disk, else null.</summary>
    public string? ParentPath { get; }

    /// <summary>The virtual disk id (shared by a parent and its children).</summary>
    public Guid DiskIdentifier { get; }

    /// <summary>The DataWriteGuid children link to.</summary>
    public Guid DataWriteGuid { get; }

    /// <summary>Always false: Prism does not attach disks to the host.</summary>
    public bool Attached { get; }

    /// <summary>This file first, then its parent, grandparent, ...</summary>
    public IReadOnlyList<string> Chain { get; }

    /// <summary>Bytes of virtual disk this file holds itself (not inherited from its parents).</summary>
    public long AllocatedBytes { get; }

    /// <summary>True when the file is read-only (a sealed golden image).</summary>
    public bool Sealed { get; }

    /// <summary>Opens <paramref name="path"/> with its chain and captures its properties.</summary>
    internal static PrismDiskInfo Read(string path)
    {
        using VhdxDisk disk = VhdxDisk.Open(path);
        return new PrismDiskInfo(disk);
    }

    /// <inheritdoc />
    public override string ToString() => Path;
}
