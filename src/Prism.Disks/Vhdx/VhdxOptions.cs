namespace Prism.Disks.Vhdx;

/// <summary>The kind of a VHDX file, as Get-VHD reports it.</summary>
public enum VhdxDiskType
{
    /// <summary>Blocks allocated on first write.</summary>
    Dynamic,

    /// <summary>All blocks allocated at creation (LeaveBlockAllocated).</summary>
    Fixed,

    /// <summary>A child of another VHDX; unwritten sectors read from the parent.</summary>
    Differencing,
}

/// <summary>How to open a VHDX file.</summary>
public sealed record VhdxOpenOptions
{
    /// <summary>Open for writing. Parents are always opened read-only.</summary>
    public bool Writable { get; init; }

    /// <summary>Follow UNC / remote parent locator paths (off by default: a hostile locator must not make Prism reach out).</summary>
    public bool AllowRemoteParents { get; init; }

    /// <summary>Longest accepted chain, the disk itself included.</summary>
    public int MaxChainDepth { get; init; } = 64;

    /// <summary>Shares parents between many opened children; the cache owns what it opens.</summary>
    public VhdxParentCache? ParentCache { get; init; }

    /// <summary>Use this file as the immediate parent instead of the locator paths (its linkage is still checked).</summary>
    public string? ParentPath { get; init; }

    /// <summary>Do not resolve the parent at all (inspect a lone child: reads of parent sectors then fail).</summary>
    public bool SkipParent { get; init; }
}

/// <summary>Parameters of a new dynamic or fixed disk; defaults are Hyper-V's.</summary>
public sealed record VhdxCreateOptions
{
    /// <summary>Virtual size in bytes (a multiple of the logical sector size, at most 64 TiB).</summary>
    public required long VirtualSize { get; init; }

    /// <summary>Dynamic or fixed.</summary>
    public VhdxDiskType Type { get; init; } = VhdxDiskType.Dynamic;

    /// <summary>Block size; default 32 MiB (Hyper-V's default for dynamic and fixed disks).</summary>
    public long? BlockSize { get; init; }

    /// <summary>512 or 4096.</summary>
    public int LogicalSectorSize { get; init; } = 512;

    /// <summary>512 or 4096; Hyper-V's default is 4096.</summary>
    public int PhysicalSectorSize { get; init; } = 4096;

    /// <summary>Log size in bytes, a multiple of 1 MiB.</summary>
    public long LogSize { get; init; } = 1024 * 1024;

    /// <summary>Virtual Disk ID (page 83 data); random when null.</summary>
    public Guid? DiskId { get; init; }

    /// <summary>Creator string stored in the file identifier (diagnostic only).</summary>
    public string Creator { get; init; } = "Prism";
}

/// <summary>Parameters of a new differencing child.</summary>
public sealed record VhdxDifferencingOptions
{
    /// <summary>Block size; default 2 MiB (Hyper-V's default for differencing disks).</summary>
    public long? BlockSize { get; init; }

    /// <summary>Log size in bytes, a multiple of 1 MiB.</summary>
    public long LogSize { get; init; } = 1024 * 1024;

    /// <summary>
    /// The parent's path as Windows will see it, stored as absolute_win32_path (e.g. <c>D:\VMs\golden.vhdx</c>).
    /// Default: the parent's full path on Windows; none elsewhere (a Linux path is not a Win32 path).
    /// </summary>
    public string? WindowsParentPath { get; init; }

    /// <summary>Flush the new file to stable storage before it appears under its name (default true).</summary>
    public bool Durable { get; init; } = true;

    /// <summary>Follow UNC / remote paths when the parent itself is a differencing disk.</summary>
    public bool AllowRemoteParents { get; init; }

    /// <summary>Creator string stored in the file identifier.</summary>
    public string Creator { get; init; } = "Prism";
}
