using System.Collections.Concurrent;

namespace Prism.Disks.Vhdx;

/// <summary>
/// Opens each parent file once, read-only, and shares it between every child opened with this cache
/// (a golden image serving hundreds of clones). Disposing the cache closes the parents.
/// </summary>
public sealed class VhdxParentCache : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<VhdxDisk>> _open = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <summary>Number of distinct parent files currently open.</summary>
    public int Count => _open.Count;

    internal VhdxDisk GetOrOpen(string fullPath, Func<VhdxDisk> open)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Lazy<VhdxDisk> lazy = _open.GetOrAdd(fullPath, _ => new Lazy<VhdxDisk>(open, LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return lazy.Value;
        }
        catch
        {
            _open.TryRemove(new KeyValuePair<string, Lazy<VhdxDisk>>(fullPath, lazy));
            throw;
        }
    }

    /// <summary>Closes every parent opened through the cache.</summary>
    public void Dispose()
    {
        _disposed = true;
        foreach (Lazy<VhdxDisk> lazy in _open.Values)
        {
            if (lazy.IsValueCreated)
            {
                lazy.Value.Dispose();
            }
        }

        _open.Clear();
    }
}
