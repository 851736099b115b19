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
/// sizes of 2^32-1 and more), the index of the name in a <see cref="SignatureNameTable"/> (UTF-8; a name repeated on
/// nearby lines stored once) and the database type. An MD5 record is 25 bytes plus its share of the name table. Filled while
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
    private byte? _lastType;

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

    /// <summary>Makes room for <paramref name="records"/> more records with <paramref name="nameBytes"/> bytes of new names (a large file's estimate).</summary>
    public void EnsureCapacity(int records, long nameBytes)
    {
        if (_frozen)
        {
            throw new InvalidOperationException("the hash set is frozen");
        }

        long capacity = Math.Min((long)_records + records, Array.MaxLength / _words);
        if (capacity > _recordSizes.Length)
        {
            Array.Resize(ref _hashes, (int)capacity * _words);
            Array.Resize(ref _recordSizes, (int)capacity);
            Array.Resize(ref _nameIndices, (int)capacity);
            Array.Resize(ref _types, (int)capacity);
        }

        _names.EnsureCapacity((int)Math.Min(int.MaxValue - 1L, (long)_names.Count + records), _names.Blob.Length + nameBytes);
    }

    /// <summary>Sorts the records by (hash, size, name) for lookups; call once loading is over.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Freeze()
    {
        if (_frozen)
        {
            return;
        }

        // Sort by the first hash word (bucketed by its top 16 bits, then the primitive-key sort per bucket), then
        // order runs of equal first words fully; equal records keep their load order, so the result depends only on it.
        (ulong[] first, int[] order) = SortByFirstWord(_hashes, _words, _records);
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

        var hashes = new ulong[_records * _words];
        var sizes = new uint[_records];
        var names = new int[_records];
        var types = new byte[_records];
        bool oneType = _typeNames.Count <= 1;
        for (int i = 0; i < _records; i++)
        {
            int from = order[i];
            _hashes.AsSpan(from * _words, _words).CopyTo(hashes.AsSpan(i * _words));
            sizes[i] = _recordSizes[from];
            names[i] = _nameIndices[from];
            if (!oneType)
            {
                // (With one database type every record's is 0.)
                types[i] = _types[from];
            }
        }

        (_hashes, _recordSizes, _nameIndices, _types) = (hashes, sizes, names, types);
        _distinctSizes = DistinctSizes(sizes);
        _names.Freeze();
        _frozen = true;
    }

    /// <summary>
    /// <paramref name="first"/> followed by <paramref name="parts"/> (unfrozen sets of the same kind), records in that
    /// order, as if every record had been added to one set: names and database types are numbered by first
    /// appearance. A lone non-empty set is returned as it is; the others are appended to the first non-empty one.
    /// </summary>
    public static HashSignatureSet Concatenate(HashSignatureSet first, IReadOnlyList<HashSignatureSet> parts)
    {
        HashSignatureSet? target = first._records > 0 ? first : null;
        foreach (HashSignatureSet part in parts)
        {
            if (part.Kind != first.Kind || part._frozen || first._frozen)
            {
                throw new InvalidOperationException("only unfrozen sets of one kind are concatenated");
            }

            if (part._records == 0)
            {
                continue;
            }

            if (target is null)
            {
                target = part;
            }
            else
            {
                target.AppendRecords(part);
            }
        }

        return target ?? first;
    }

    /// <summary>
    /// Appends <paramref name="other"/>'s records in their order, adding their names as they were added there (one
    /// <see cref="SignatureNameTable.Add(ReadOnlySpan{byte})"/> per named record, so the numbering is the one adding
    /// the lines here would give) and its types where they are new.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AppendRecords(HashSignatureSet other)
    {
        byte[] typeMap = [.. other._typeNames.Select(TypeIndex)];
        for (int r = 0; r < other._records; r++)
        {
            EnsureRecords();
            other._hashes.AsSpan(r * _words, _words).CopyTo(_hashes.AsSpan(_records * _words));
            _recordSizes[_records] = other._recordSizes[r];
            int name = other._nameIndices[r];
            _nameIndices[_records] = name >= 0 ? _names.Add(other._names[name]) : name;
            _types[_records] = typeMap[other._types[r]];
            _records++;
        }

        Count += other.Count;
        AllowedCount += other.AllowedCount;
        HasAnySize |= other.HasAnySize;
        MaxSize = Math.Max(MaxSize, other.MaxSize);
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

    /// <summary>SHA-256 of the records in their sorted order (see <see cref="AppendCanonical"/>).</summary>
    public byte[] CanonicalDigest()
    {
        using var digest = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        AppendCanonical(digest);
        return digest.GetHashAndReset();
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
        uint[] sorted = RadixSort(sizes);
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

    /// <summary>A sorted copy of <paramref name="values"/>: two stable passes over 16-bit digits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static uint[] RadixSort(uint[] values)
    {
        var a = (uint[])values.Clone();
        if (a.Length < 4096)
        {
            Array.Sort(a);
            return a;
        }

        var b = new uint[a.Length];
        var counts = new int[1 << 16];
        for (int shift = 0; shift < 32; shift += 16)
        {
            Array.Clear(counts);
            foreach (uint v in a)
            {
                counts[(int)((v >> shift) & 0xFFFF)]++;
            }

            for (int i = 0, sum = 0; i < counts.Length; i++)
            {
                (counts[i], sum) = (sum, sum + counts[i]);
            }

            foreach (uint v in a)
            {
                b[counts[(int)((v >> shift) & 0xFFFF)]++] = v;
            }

            (a, b) = (b, a);
        }

        return a;
    }

    /// <summary>
    /// The first hash word of every record and the record indices, sorted by that word: records are distributed into
    /// 65,536 buckets by the word's top 16 bits (in load order), then each bucket is sorted.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (ulong[] First, int[] Order) SortByFirstWord(ulong[] hashes, int words, int records)
    {
        var first = new ulong[records];
        var order = new int[records];
        if (records < 1 << 16)
        {
            for (int i = 0; i < records; i++)
            {
                first[i] = hashes[i * words];
                order[i] = i;
            }

            Array.Sort(first, order);
            return (first, order);
        }

        var starts = new int[(1 << 16) + 1];
        for (int i = 0; i < records; i++)
        {
            starts[(int)(hashes[i * words] >> 48) + 1]++;
        }

        for (int b = 0; b < 1 << 16; b++)
        {
            starts[b + 1] += starts[b];
        }

        int[] next = starts[..^1];
        for (int i = 0; i < records; i++)
        {
            ulong key = hashes[i * words];
            int at = next[(int)(key >> 48)]++;
            first[at] = key;
            order[at] = i;
        }

        for (int b = 0; b < 1 << 16; b++)
        {
            int length = starts[b + 1] - starts[b];
            if (length > 1)
            {
                Array.Sort(first, order, starts[b], length);
            }
        }

        return (first, order);
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

    /// <summary>ASCII hex to bytes with the runtime's vectorised decoder; false for another length or a non-hex digit.</summary>
    private static bool TryDecodeHex(ReadOnlySpan<byte> hex, Span<byte> bytes) =>
        hex.Length is 32 or 40 or 64
        && Convert.FromHexString(hex, bytes, out _, out int written) == System.Buffers.OperationStatus.Done
        && written == hex.Length / 2;

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

        int bytes = HexLength / 2;
        if (hash.Length < bytes)
        {
            throw new ArgumentException("hash shorter than the set's algorithm", nameof(hash));
        }

        EnsureRecords();
        Span<ulong> words = _hashes.AsSpan(_records * _words, _words);
        for (int w = 0; w < _words; w++)
        {
            // Big-endian words; SHA-1's last word holds 4 bytes, zero-padded.
            words[w] = bytes - (w * 8) >= 8
                ? BinaryPrimitives.ReadUInt64BigEndian(hash[(w * 8)..])
                : (ulong)BinaryPrimitives.ReadUInt32BigEndian(hash[(w * 8)..]) << 32;
        }

        _recordSizes[_records] = size < 0 ? AnySize : checked((uint)size);
        _nameIndices[_records] = nameIndex;
        _types[_records] = TypeIndex(type);
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

    /// <summary>The index of a database type name in <see cref="_typeNames"/>, adding it when new (the last one is remembered).</summary>
    private byte TypeIndex(string type)
    {
        if (_lastType is { } last && ReferenceEquals(_typeNames[last], type))
        {
            return last;
        }

        int typeIndex = _typeNames.IndexOf(type);
        if (typeIndex < 0)
        {
            _typeNames.Add(type);
            typeIndex = _typeNames.Count - 1;
        }

        _lastType = (byte)typeIndex;
        return (byte)typeIndex;
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

    /// <summary>Orders record indices by hash words, size, name bytes, then load order.</summary>
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
            if (s != 0)
            {
                return s;
            }

            int n = set.NameBytes(x).SequenceCompareTo(set.NameBytes(y));
            return n != 0 ? n : x.CompareTo(y);
        }
    }
}
