using Prism.Disks.Vhdx;
using Prism.Provisioner.Catalog;

namespace Prism.PowerShell;

/// <summary>A registered golden image as Get-PrismGolden shows it.</summary>
public sealed class PrismGolden
{
    internal PrismGolden(GoldenImage golden, int cloneCount)
    {
        Name = golden.Name;
        Path = golden.Path;
        DiskIdentifier = golden.DiskId;
        DataWriteGuid = golden.DataWriteGuid;
        VirtualSize = golden.VirtualSize;
        SealedAt = golden.SealedAt;
        CloneCount = cloneCount;
        Sealed = File.Exists(golden.Path) && VhdxDisk.IsSealed(golden.Path);
    }

    /// <summary>Catalog name.</summary>
    public string Name { get; }

    /// <summary>The golden VHDX file.</summary>
    public string Path { get; }

    /// <summary>Virtual disk id.</summary>
    public Guid DiskIdentifier { get; }

    /// <summary>DataWriteGuid recorded when it was sealed (its clones link to it).</summary>
    public Guid DataWriteGuid { get; }

    /// <summary>Virtual size in bytes.</summary>
    public long VirtualSize { get; }

    /// <summary>When it was registered and sealed (UTC).</summary>
    public DateTime SealedAt { get; }

    /// <summary>Registered clones of it.</summary>
    public int CloneCount { get; }

    /// <summary>True while the file is read-only.</summary>
    public bool Sealed { get; }

    /// <inheritdoc />
    public override string ToString() => Name;
}
