using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Prism.Disks.Ntfs;

/// <summary>
/// A map by record number laid over an immutable one: what is set or removed here hides the base's entry, the rest
/// reads through. A clone's walk starts from its parent's records and directories this way instead of copying them,
/// and its snapshot keeps it as its own.
/// </summary>
internal sealed class OverlayMap<TValue> : IReadOnlyDictionary<long, TValue>
    where TValue : class
{
    private readonly IReadOnlyDictionary<long, TValue> _base;

    // Set here (a value) or removed here (null).
    private readonly Dictionary<long, TValue?> _changes = [];
    private int _count;

    public OverlayMap(IReadOnlyDictionary<long, TValue> @base)
    {
        _base = @base;
        _count = @base.Count;
    }

    /// <summary>The keys set or removed here (a removed one with a null value).</summary>
    public IReadOnlyDictionary<long, TValue?> Changes => _changes;

    public int Count => _count;

    public IEnumerable<long> Keys => this.Select(kv => kv.Key);

    public IEnumerable<TValue> Values => this.Select(kv => kv.Value);

    public TValue this[long key] => TryGetValue(key, out TValue? value) ? value : throw new KeyNotFoundException($"record {key} is not in the map");

    public bool ContainsKey(long key) => TryGetValue(key, out _);

    public bool TryGetValue(long key, [MaybeNullWhen(false)] out TValue value)
    {
        if (_changes.TryGetValue(key, out TValue? changed))
        {
            value = changed;
            return changed is not null;
        }

        return _base.TryGetValue(key, out value);
    }

    public void Set(long key, TValue value)
    {
        if (!ContainsKey(key))
        {
            _count++;
        }

        _changes[key] = value;
    }

    public bool Remove(long key)
    {
        if (!ContainsKey(key))
        {
            return false;
        }

        _changes[key] = null;
        _count--;
        return true;
    }

    public IEnumerator<KeyValuePair<long, TValue>> GetEnumerator()
    {
        foreach (KeyValuePair<long, TValue> kv in _base)
        {
            if (!_changes.ContainsKey(kv.Key))
            {
                yield return kv;
            }
        }

        foreach (KeyValuePair<long, TValue?> kv in _changes)
        {
            if (kv.Value is not null)
            {
                yield return new KeyValuePair<long, TValue>(kv.Key, kv.Value);
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
