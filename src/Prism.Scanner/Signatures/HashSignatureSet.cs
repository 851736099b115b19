namespace Prism.Scanner.Signatures;

/// <summary>Whole-file hash algorithms used by hdb/hsb signatures and fp/sfp allow-lists (chosen by hash length).</summary>
internal enum HashKind
{
    Md5,
    Sha1,
    Sha256,
}

/// <summary>
/// The hash signatures and allow-list entries of one algorithm, keyed by (hash, size); size -1 stands for ClamAV's "*".
/// An allow-listed file (ClamAV .fp/.sfp) is reported clean whatever else matched it.
/// </summary>
internal sealed class HashSignatureSet
{
    private readonly Dictionary<(string Hash, long Size), List<(string Name, string Type)>> _byKey = [];
    private readonly HashSet<(string Hash, long Size)> _allowed = [];
    private readonly HashSet<long> _sizes = [];

    public HashSignatureSet(HashKind kind) => Kind = kind;

    public HashKind Kind { get; }

    /// <summary>Number of detecting signatures (allow-list entries not included).</summary>
    public int Count { get; private set; }

    /// <summary>Number of allow-list entries.</summary>
    public int AllowedCount => _allowed.Count;

    /// <summary>True when some signature or allow-list entry matches any file size ("*").</summary>
    public bool HasAnySize { get; private set; }

    /// <summary>The largest file size named by a sized signature or allow-list entry.</summary>
    public long MaxSize { get; private set; } = -1;

    public IEnumerable<string> CanonicalLines =>
        _byKey.SelectMany(kv => kv.Value.Select(n => $"{Kind}:{kv.Key.Hash}:{SizeText(kv.Key.Size)}:{n.Name}"))
            .Concat(_allowed.Select(k => $"allow:{Kind}:{k.Hash}:{SizeText(k.Size)}"));

    public static HashKind? KindOfLength(int hexLength) => hexLength switch
    {
        32 => HashKind.Md5,
        40 => HashKind.Sha1,
        64 => HashKind.Sha256,
        _ => null,
    };

    /// <summary>Adds a signature read from a database of <paramref name="type"/> (e.g. "hdb").</summary>
    public void Add(string lowerHexHash, long size, string name, string type)
    {
        if (!_byKey.TryGetValue((lowerHexHash, size), out List<(string Name, string Type)>? names))
        {
            names = [];
            _byKey.Add((lowerHexHash, size), names);
        }

        names.Add((name, type));
        Count++;
        NoteSize(size);
    }

    /// <summary>Adds an allow-list entry: a file with this hash and size is not reported.</summary>
    public void AddAllowed(string lowerHexHash, long size)
    {
        _allowed.Add((lowerHexHash, size));
        NoteSize(size);
    }

    /// <summary>Drops every signature whose name <paramref name="ignored"/> holds; calls <paramref name="onRemoved"/> with each one's type.</summary>
    public void RemoveNames(IReadOnlySet<string> ignored, Action<string> onRemoved)
    {
        foreach (List<(string Name, string Type)> names in _byKey.Values)
        {
            for (int i = names.Count - 1; i >= 0; i--)
            {
                if (ignored.Contains(names[i].Name))
                {
                    onRemoved(names[i].Type);
                    names.RemoveAt(i);
                    Count--;
                }
            }
        }
    }

    /// <summary>True when a file of <paramref name="length"/> bytes can match some entry, so it must be hashed.</summary>
    public bool Wants(long length) => HasAnySize || _sizes.Contains(length);

    /// <summary>Adds the names matching the file to <paramref name="detections"/>; returns true when the file is allow-listed.</summary>
    public bool CollectMatches(string lowerHexHash, long length, List<Detection> detections)
    {
        if (_byKey.TryGetValue((lowerHexHash, length), out List<(string Name, string Type)>? sized))
        {
            foreach ((string n, _) in sized)
            {
                detections.Add(new Detection(n, null));
            }
        }

        if (HasAnySize && _byKey.TryGetValue((lowerHexHash, -1), out List<(string Name, string Type)>? any))
        {
            foreach ((string n, _) in any)
            {
                detections.Add(new Detection(n, null));
            }
        }

        return _allowed.Contains((lowerHexHash, length)) || (HasAnySize && _allowed.Contains((lowerHexHash, -1)));
    }

    private static string SizeText(long size) => size < 0 ? "*" : size.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private void NoteSize(long size)
    {
        if (size < 0)
        {
            HasAnySize = true;
        }
        else
        {
            _sizes.Add(size);
            MaxSize = Math.Max(MaxSize, size);
        }
    }
}
