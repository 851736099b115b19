using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;

namespace Prism.Scanner.Signatures;

/// <summary>Whole-file hash algorithms used by hdb/hsb signatures and fp/sfp allow-lists (chosen by hash length).</summary>
internal enum HashKind
{
    Md5,
    Sha1,
    Sha256,
}

/// <summary>
/// The hash signatures and allow-list entries (ClamAV .fp/.sfp) of one algorithm, as compact fixed-size records:
/// the hash as big-endian ulong words, the size as a uint (<see cref="AnySize"/> for ClamAV's "*"; ClamAV rejects
/// sizes of 2^32-1 and more), the index of the name in a <see cref="SignatureNameTable"/> (each distinct name stored
/// once, UTF-8) and the database type. An MD5 record is 25 bytes plus its share of the name table. Filled while
/// loading, then <see cref="Freeze"/> sorts the records for binary search. An allow-listed file is reported clean
/// whatever else matched it.
/// </summary>
internal sealed partial class HashSignatureSet
{
    /// <summary>The stored size of a "*" (any size) record.</summary>
    public const uint AnySize = uint.MaxValue;

    private const int AllowedName = -1;
    private const int RemovedName = -2;
    private const int InitialCapacity = 1024;

    private readonly int _words;
    private List<string> _typeNames = [];
    private ulong[] _hashes = [];
    private uint[] _recordSizes = [];
    private int[] _nameIndices = [];
    private byte[] _types = [];
    private int _records;
    private SignatureNameTable _names = new();
    private uint[] _distinctSizes = [];
    private bool _frozen;

    public HashSignatureSet(HashKind kind)
    {
        Kind = kind;
        HexLength = kind switch { HashKind.Md5 => 32, HashKind.Sha1 => 40, _ => 64 };
        _words = (HexLength + 15) / 16;
    }

    public HashKind Kind { get; }

    /// <summary>Hex digits of this algorithm's hash.</summary>
    public int HexLength { get; }

    /// <summary>Number of detecting signatures (allow-list entries not included).</summary>
    public int Count { get; private set; }

    /// <summary>Number of allow-list entries.</summary>
    public int AllowedCount { get; private set; }

    /// <summary>True when some signature or allow-list entry matches any file size ("*").</summary>
    public bool HasAnySize { get; private set; }

    /// <summary>The largest file size named by a sized signature or allow-list entry.</summary>
    public long MaxSize { get; private set; } = -1;

    /// <summary>True once <see cref="Freeze"/> has sorted the records.</summary>
    public bool IsFrozen => _frozen;

    /// <summary>Bytes held by the records and the name table (for the load report and benchmarks).</summary>
    public long RetainedBytes =>
        ((long)_hashes.Length * 8) + ((long)_recordSizes.Length * 4) + ((long)_nameIndices.Length * 4) + _types.Length
        + _names.RetainedBytes + ((long)_distinctSizes.Length * 4);

    public static HashKind? KindOfLength(int hexLength) => hexLength switch
    {
        32 => HashKind.Md5,
        40 => HashKind.Sha1,
        64 => HashKind.Sha256,
        _ => null,
    };

    /// <summary>Adds a signature read from a database of <paramref name="type"/> (e.g. "hdb"); false when the hash is not hex.</summary>
    public bool TryAdd(ReadOnlySpan<char> hexHash, long size, ReadOnlySpan<char> name, string type)
    {
        Span<byte> bytes = stackalloc byte[32];
        if (!TryDecodeHex(hexHash, bytes))
        {
            return false;
        }

        Append(bytes, size, _names.Add(name), type);
        Count++;
        return true;
    }

    /// <summary>As <see cref="TryAdd(ReadOnlySpan{char}, long, ReadOnlySpan{char}, string)"/> over ASCII hex and a UTF-8 name.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryAdd(ReadOnlySpan<byte> hexHash, long size, ReadOnlySpan<byte> utf8Name, string type)
    {
        Span<byte> bytes = stackalloc byte[32];
        if (!TryDecodeHex(hexHash, bytes))
        {
            return false;
        }

        Append(bytes, size, _names.Add(utf8Name), type);
        Count++;
        return true;
    }

    /// <summary>Adds an allow-list entry: a file with this hash and size is not reported; false when the hash is not hex.</summary>
    public bool TryAddAllowed(ReadOnlySpan<char> hexHash, long size, string type)
    {
        Span<byte> bytes = stackalloc byte[32];
        if (!TryDecodeHex(hexHash, bytes))
        {
            return false;
        }

        Append(bytes, size, AllowedName, type);
        AllowedCount++;
        return true;
    }

    /// <summary>As <see cref="TryAddAllowed(ReadOnlySpan{char}, long, string)"/> over ASCII hex.</summary>
    public bool TryAddAllowed(ReadOnlySpan<byte> hexHash, long size, string type)
    {
        Span<byte> bytes = stackalloc byte[32];
        if (!TryDecodeHex(hexHash, bytes))
        {
            return false;
        }

        Append(bytes, size, AllowedName, type);
        AllowedCount++;
        return true;
    }

    /// <summary>Sorts the records by (hash, size, name) for lookups; call once loading is over.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Freeze()
    {
        if (_frozen)
        {
            return;
        }

        // Sort by the first hash word with the primitive-key sort, then order runs of equal first words fully.
        var first = new ulong[_records];
        var order = new int[_records];
        for (int i = 0; i < _records; i++)
        {
            first[i] = _hashes[i * _words];
            order[i] = i;
        }

        Array.Sort(first, order);
        var comparer = new RecordComparer(this);
        for (int start = 0; start < _records;)
        {
            int end = start + 1;
            while (end < _records && first[end] == first[start])
            {
                end++;
            }

            if (end - start > 1)
            {
                Array.Sort(order, start, end - start, comparer);
            }

            start = end;
        }

        first = null;
        var hashes = new ulong[_records * _words];
        var sizes = new uint[_records];
        var names = new int[_records];
        var types = new byte[_records];
        for (int i = 0; i < _records; i++)
        {
            int from = order[i];
            _hashes.AsSpan(from * _words, _words).CopyTo(hashes.AsSpan(i * _words));
            sizes[i] = _recordSizes[from];
            names[i] = _nameIndices[from];
            types[i] = _types[from];
        }

        (_hashes, _recordSizes, _nameIndices, _types) = (hashes, sizes, names, types);
        _distinctSizes = DistinctSizes(sizes);
        _names.Freeze();
        _frozen = true;
    }

    /// <summary>Drops every signature whose name <paramref name="ignored"/> holds; calls <paramref name="onRemoved"/> with each one's type.</summary>
    public void RemoveNames(IReadOnlySet<string> ignored, Action<string> onRemoved)
    {
        if (ignored.Count == 0 || Count == 0)
        {
            return;
        }

        // Each distinct name is decoded once; records then test a flag.
        var drop = new bool[_names.Count];
        bool any = false;
        for (int n = 0; n < drop.Length; n++)
        {
            drop[n] = ignored.Contains(_names.GetString(n));
            any |= drop[n];
        }

        for (int i = 0; any && i < _records; i++)
        {
            if (_nameIndices[i] >= 0 && drop[_nameIndices[i]])
            {
                onRemoved(_typeNames[_types[i]]);
                _nameIndices[i] = RemovedName;
                Count--;
            }
        }
    }

    /// <summary>True when a file of <paramref name="length"/> bytes can match some entry, so it must be hashed.</summary>
    public bool Wants(long length) =>
        HasAnySize || (length is >= 0 and < AnySize && Array.BinarySearch(_distinctSizes, (uint)length) >= 0);

    /// <summary>Adds the names matching the file to <paramref name="detections"/>; returns true when the file is allow-listed.</summary>
    public bool CollectMatches(ReadOnlySpan<byte> hash, long length, List<Detection> detections)
    {
        bool allowed = length is >= 0 and < AnySize && Collect(hash, (uint)length, detections);
        if (HasAnySize)
        {
            allowed |= Collect(hash, AnySize, detections);
        }

        return allowed;
    }

    /// <summary>Feeds the records, in their sorted order, to a canonical digest of the set (batched: one call per 64 KiB).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AppendCanonical(IncrementalHash digest)
    {
        byte[] batch = new byte[1 << 16];
        int used = 0;
        for (int i = 0; i < _records; i++)
        {
            if (_nameIndices[i] == RemovedName)
            {
                continue;
            }

            ReadOnlySpan<byte> name = NameBytes(i);
            int length = (_words * 8) + 9 + name.Length + 1;
            if (used + length > batch.Length)
            {
                digest.AppendData(batch, 0, used);
                used = 0;
                if (length > batch.Length)
                {
                    batch = new byte[length];
                }
            }

            Span<byte> record = batch.AsSpan(used, length);
            for (int w = 0; w < _words; w++)
            {
                BinaryPrimitives.WriteUInt64BigEndian(record[(w * 8)..], _hashes[(i * _words) + w]);
            }

            BinaryPrimitives.WriteInt64BigEndian(record[(_words * 8)..], _recordSizes[i] == AnySize ? -1 : _recordSizes[i]);
            record[(_words * 8) + 8] = (byte)(_nameIndices[i] == AllowedName ? 'A' : 'S');
            name.CopyTo(record[((_words * 8) + 9)..]);
            record[^1] = (byte)'\n';
            used += length;
        }

        digest.AppendData(batch, 0, used);
    }

    /// <summary>The sorted distinct sizes other than "*".</summary>
    private static uint[] DistinctSizes(uint[] sizes)
    {
        uint[] sorted = (uint[])sizes.Clone();
        Array.Sort(sorted);
        int n = 0;
        foreach (uint s in sorted)
        {
            if (s != AnySize && (n == 0 || sorted[n - 1] != s))
            {
                sorted[n++] = s;
            }
        }

        return sorted[..n];
    }

    private static bool TryDecodeHex(ReadOnlySpan<char> hex, Span<byte> bytes)
    {
        if (hex.Length is not (32 or 40 or 64))
        {
            return false;
        }

        for (int i = 0; i < hex.Length; i += 2)
        {
            int hi = HexValue(hex[i]), lo = HexValue(hex[i + 1]);
            if ((hi | lo) < 0)
            {
                return false;
            }

            bytes[i / 2] = (byte)((hi << 4) | lo);
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool TryDecodeHex(ReadOnlySpan<byte> hex, Span<byte> bytes)
    {
        if (hex.Length is not (32 or 40 or 64))
        {
            return false;
        }

        for (int i = 0; i < hex.Length; i += 2)
        {
            int hi = HexValue((char)hex[i]), lo = HexValue((char)hex[i + 1]);
            if ((hi | lo) < 0)
            {
                return false;
            }

            bytes[i / 2] = (byte)((hi << 4) | lo);
        }

        return true;
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Append(ReadOnlySpan<byte> hash, long size, int nameIndex, string type)
    {
        if (_frozen)
        {
            throw new InvalidOperationException("the hash set is frozen");
        }

        if (hash.Length < HexLength / 2)
        {
            throw new ArgumentException("hash shorter than the set's algorithm", nameof(hash));
        }

        EnsureRecords();
        Span<byte> word = stackalloc byte[8];
        int bytes = HexLength / 2;
        for (int w = 0; w < _words; w++)
        {
            word.Clear();
            hash.Slice(w * 8, Math.Min(8, bytes - (w * 8))).CopyTo(word);
            _hashes[(_records * _words) + w] = BinaryPrimitives.ReadUInt64BigEndian(word);
        }

        int typeIndex = _typeNames.IndexOf(type);
        if (typeIndex < 0)
        {
            _typeNames.Add(type);
            typeIndex = _typeNames.Count - 1;
        }

        _recordSizes[_records] = size < 0 ? AnySize : checked((uint)size);
        _nameIndices[_records] = nameIndex;
        _types[_records] = (byte)typeIndex;
        _records++;
        if (size < 0)
        {
            HasAnySize = true;
        }
        else
        {
            MaxSize = Math.Max(MaxSize, size);
        }
    }

    private bool Collect(ReadOnlySpan<byte> hash, uint size, List<Detection> detections)
    {
        Span<ulong> key = stackalloc ulong[4];
        Span<byte> word = stackalloc byte[8];
        for (int w = 0; w < _words; w++)
        {
            word.Clear();
            hash.Slice(w * 8, Math.Min(8, hash.Length - (w * 8))).CopyTo(word);
            key[w] = BinaryPrimitives.ReadUInt64BigEndian(word);
        }

        // Lower bound of (hash, size) in the sorted records.
        int lo = 0, hi = _records;
        while (lo < hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            if (CompareAt(mid, key, size) < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        bool allowed = false;
        for (int i = lo; i < _records && CompareAt(i, key, size) == 0; i++)
        {
            if (_nameIndices[i] == AllowedName)
            {
                allowed = true;
            }
            else if (_nameIndices[i] >= 0)
            {
                detections.Add(new Detection(_names.GetString(_nameIndices[i]), null));
            }
        }

        return allowed;
    }

    private int CompareAt(int record, ReadOnlySpan<ulong> key, uint size)
    {
        ReadOnlySpan<ulong> h = _hashes.AsSpan(record * _words, _words);
        for (int w = 0; w < _words; w++)
        {
            int c = h[w].CompareTo(key[w]);
            if (c != 0)
            {
                return c;
            }
        }

        return _recordSizes[record].CompareTo(size);
    }

    private ReadOnlySpan<byte> NameBytes(int record) => _nameIndices[record] < 0 ? [] : _names[_nameIndices[record]];

    private void EnsureRecords()
    {
        if (_records < _recordSizes.Length)
        {
            return;
        }

        int capacity = Math.Max(InitialCapacity, _recordSizes.Length * 2);
        Array.Resize(ref _hashes, capacity * _words);
        Array.Resize(ref _recordSizes, capacity);
        Array.Resize(ref _nameIndices, capacity);
        Array.Resize(ref _types, capacity);
    }

    /// <summary>Orders record indices by hash words, size, then name bytes.</summary>
    private sealed class RecordComparer(HashSignatureSet set) : IComparer<int>
    {
        public int Compare(int x, int y)
        {
            int words = set._words;
            for (int w = 0; w < words; w++)
            {
                int c = set._hashes[(x * words) + w].CompareTo(set._hashes[(y * words) + w]);
                if (c != 0)
                {
                    return c;
                }
            }

            int s = set._recordSizes[x].CompareTo(set._recordSizes[y]);
            return s != 0 ? s : set.NameBytes(x).SequenceCompareTo(set.NameBytes(y));
        }
    }
}
