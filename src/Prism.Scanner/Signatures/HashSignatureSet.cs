namespace Prism.Scanner.Signatures;

/// <summary>Whole-file hash algorithms used by hdb (MD5) and hsb (SHA-1, SHA-256) signatures.</summary>
internal enum HashKind
{
    Md5,
    Sha1,
    Sha256,
}

/// <summary>The hash signatures of one algorithm, keyed by (hash, size); size -1 stands for ClamAV's "*".</summary>
internal sealed class HashSignatureSet
{
    private readonly Dictionary<(string Hash, long Size), List<string>> _byKey = [];
    private readonly HashSet<long> _sizes = [];

    public HashSignatureSet(HashKind kind) => Kind = kind;

    public HashKind Kind { get; }

    public int Count { get; private set; }

    /// <summary>True when some signature matches any file size ("*").</summary>
    public bool HasAnySize { get; private set; }

    /// <summary>The largest file size named by a sized signature.</summary>
    public long MaxSize { get; private set; } = -1;

    public IEnumerable<string> CanonicalLines =>
        _byKey.SelectMany(kv => kv.Value.Select(n => $"{Kind}:{kv.Key.Hash}:{(kv.Key.Size < 0 ? "*" : kv.Key.Size)}:{n}"));

    public void Add(string lowerHexHash, long size, string name)
    {
        if (!_byKey.TryGetValue((lowerHexHash, size), out List<string>? names))
        {
            names = [];
            _byKey.Add((lowerHexHash, size), names);
        }

        names.Add(name);
        Count++;
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

    /// <summary>True when a file of <paramref name="length"/> bytes can match some signature, so it must be hashed.</summary>
    public bool Wants(long length) => HasAnySize || _sizes.Contains(length);

    public void CollectMatches(string lowerHexHash, long length, List<Detection> detections)
    {
        if (_byKey.TryGetValue((lowerHexHash, length), out List<string>? sized))
        {
            foreach (string n in sized)
            {
                detections.Add(new Detection(n, null));
            }
        }

        if (HasAnySize && _byKey.TryGetValue((lowerHexHash, -1), out List<string>? any))
        {
            foreach (string n in any)
            {
                detections.Add(new Detection(n, null));
            }
        }
    }
}
