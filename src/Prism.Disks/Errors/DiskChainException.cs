namespace Prism.Disks.Errors;

/// <summary>A differencing chain cannot be resolved: missing or modified parent, cycle, depth, refused path.</summary>
public sealed class DiskChainException : IOException
{
    /// <summary>Creates the exception.</summary>
    public DiskChainException(string childPath, string? parentPath, string message, Exception? inner = null)
        : base(message, inner)
    {
        ChildPath = childPath;
        ParentPath = parentPath;
    }

    /// <summary>The differencing disk whose parent could not be used.</summary>
    public string ChildPath { get; }

    /// <summary>The parent path that was tried, when there was one.</summary>
    public string? ParentPath { get; }
}
