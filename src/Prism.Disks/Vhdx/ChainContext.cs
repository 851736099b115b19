using Prism.Disks.Errors;

namespace Prism.Disks.Vhdx;

/// <summary>Tracks the files entered while resolving one chain: depth limit and cycle detection.</summary>
internal sealed class ChainContext
{
    private readonly HashSet<string> _paths = new(StringComparer.Ordinal);
    private readonly HashSet<Guid> _dataWriteGuids = [];
    private readonly int _maxDepth;

    public ChainContext(int maxDepth) => _maxDepth = Math.Max(1, maxDepth);

    public int Depth { get; private set; }

    public void Enter(string path, Guid dataWriteGuid)
    {
        if (!_paths.Add(path) || !_dataWriteGuids.Add(dataWriteGuid))
        {
            throw new DiskChainException(path, path, $"{TextEscaping.Escape(path)}: differencing chain has a cycle (file or DataWriteGuid {dataWriteGuid:B} seen twice)");
        }

        Depth++;
        if (Depth > _maxDepth)
        {
            throw new DiskChainException(path, null, $"{TextEscaping.Escape(path)}: differencing chain is deeper than {_maxDepth} disks");
        }
    }

    /// <summary>A copy for resolving a parent through a shared cache (the cached parent's own chain starts fresh).</summary>
    public ChainContext Fork()
    {
        var c = new ChainContext(_maxDepth) { Depth = Depth };
        c._paths.UnionWith(_paths);
        c._dataWriteGuids.UnionWith(_dataWriteGuids);
        return c;
    }
}
