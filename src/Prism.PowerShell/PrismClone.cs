using Prism.Provisioner.Catalog;
using Prism.Provisioner.Cloning;

namespace Prism.PowerShell;

/// <summary>A clone as Get-PrismClone shows it: its catalog record and how far it has diverged from its parent.</summary>
public sealed class PrismClone
{
    internal PrismClone(CloneRecord record, bool exists, long allocatedBytes, long virtualSize, string? error)
    {
        Name = record.Name;
        Path = record.Path;
        Golden = record.Golden;
        ParentPath = record.ParentPath;
        Owner = record.Owner;
        Created = record.Created;
        Exists = exists;
        AllocatedBytes = allocatedBytes;
        VirtualSize = virtualSize;
        Error = error;
    }

    internal PrismClone(CloneStatus status)
        : this(status.Record, status.Exists, status.AllocatedBytes, status.VirtualSize, status.Error)
    {
    }

    /// <summary>Catalog name.</summary>
    public string Name { get; }

    /// <summary>The clone's VHDX file.</summary>
    public string Path { get; }

    /// <summary>The golden image at the root of its chain.</summary>
    public string Golden { get; }

    /// <summary>The file it is a differencing child of.</summary>
    public string ParentPath { get; }

    /// <summary>Owner recorded at creation, if any.</summary>
    public string? Owner { get; }

    /// <summary>Creation time (UTC).</summary>
    public DateTime Created { get; }

    /// <summary>False when the file is gone.</summary>
    public bool Exists { get; }

    /// <summary>Bytes the clone holds itself.</summary>
    public long AllocatedBytes { get; }

    /// <summary>Virtual size in bytes.</summary>
    public long VirtualSize { get; }

    /// <summary>Divergence as a percentage of the virtual size.</summary>
    public double DivergencePercent => VirtualSize == 0 ? 0 : 100.0 * AllocatedBytes / VirtualSize;

    /// <summary>Why the file could not be read, when it could not.</summary>
    public string? Error { get; }

    /// <inheritdoc />
    public override string ToString() => Name;
}
