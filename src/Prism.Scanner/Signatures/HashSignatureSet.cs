using System.Buffers.Binary;
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
/// the hash as big-endian ulong words, the size (-1 for ClamAV's "*"), a name offset into one pooled UTF-8 blob and
/// the database type. Filled while loading, then <see cref="Freeze"/> sorts the records for binary search.
/// An allow-listed file is reported clean whatever else matched it.
/// </summary>
internal sealed class HashSignatureSet
{
    private const int AllowedName = -1;
    private const int RemovedName = -2;
    private const int InitialCapacity = 1024;

    private readonly int _words;
    private readonly List<string> _typeNames = [];
    private ulong[] _hashes = [];
    private long[] _recordSizes = [];
    private int[] _nameOffsets = [];
    private byte[] _types = [];
    private int _records;
    private byte[] _namePool = new byte[InitialCapacity];
    private int _namePoolLength;
    private long[] _distinctSizes = [];
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

    /// <summary>Bytes held by the records and the name pool (for the load report and benchmarks).</summary>
    public long RetainedBytes =>
        ((long)_hashes.Length * 8) + ((long)_recordSizes.Length * 8) + ((long)_nameOffsets.Length * 4) + _types.Length
        + _namePool.Length + ((long)_distinctSizes.Length * 8);

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
        int offset = _namePoolLength;
        int length = Encoding.UTF8.GetByteCount(name);
        EnsurePool(length);
        if (!TryAppend(hexHash, size, offset, type))
        {
            return false;
        }

        _namePoolLength += Encoding.UTF8.GetBytes(name, _namePool.AsSpan(_namePoolLength));
        Count++;
        return true;
    }

    /// <summary>Adds an allow-list entry: a file with this hash and size is not reported; false when the hash is not hex.</summary>
    public bool TryAddAllowed(ReadOnlySpan<char> hexHash, long size, string type)
    {
        if (!TryAppend(hexHash, size, AllowedName, type))
        {
            return false;
        }

        AllowedCount++;
        return true;
    }

    /// <summary>Sorts the records by (hash, size, name) for lookups; call once loading is over.</summary>
    public void Freeze()
    {
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
        var sizes = new long[_records];
        var names = new int[_records];
        var types = new byte[_records];
        for (int i = 0; i < _records; i++)
        {
            int from = order[i];
            _hashes.AsSpan(from * _words, _words).CopyTo(hashes.AsSpan(i * _words));
            sizes[i] = _recordSizes[from];
            names[i] = _nameOffsets[from];
            types[i] = _types[from];
        }

        (_hashes, _recordSizes, _nameOffsets, _types) = (hashes, sizes, names, types);
        _distinctSizes = [.. sizes.Where(s => s >= 0).Distinct().Order()];
        Array.Resize(ref _namePool, _namePoolLength);
        _frozen = true;
    }

    /// <summary>Drops every signature whose name <paramref name="ignored"/> holds; calls <paramref name="onRemoved"/> with each one's type.</summary>
    public void RemoveNames(IReadOnlySet<string> ignored, Action<string> onRemoved)
    {
        for (int i = 0; i < _records; i++)
        {
            if (_nameOffsets[i] >= 0 && ignored.Contains(NameAt(i)))
            {
                onRemoved(_typeNames[_types[i]]);
                _nameOffsets[i] = RemovedName;
                Count--;
            }
        }
    }

    /// <summary>True when a file of <paramref name="length"/> bytes can match some entry, so it must be hashed.</summary>
    public bool Wants(long length) => HasAnySize || Array.BinarySearch(_distinctSizes, length) >= 0;

    /// <summary>Adds the names matching the file to <paramref name="detections"/>; returns true when the file is allow-listed.</summary>
    public bool CollectMatches(ReadOnlySpan<byte> hash, long length, List<Detection> detections)
    {
        bool allowed = Collect(hash, length, detections);
        if (HasAnySize)
        {
            allowed |= Collect(hash, -1, detections);
        }

        return allowed;
    }

    /// <summary>Feeds the records, in their sorted order, to a canonical digest of the set.</summary>
    public void AppendCanonical(IncrementalHash digest)
    {
        Span<byte> record = stackalloc byte[(4 * 8) + 8 + 1];
        for (int i = 0; i < _records; i++)
        {
            if (_nameOffsets[i] == RemovedName)
            {
                continue;
            }

            for (int w = 0; w < _words; w++)
            {
                BinaryPrimitives.WriteUInt64BigEndian(record[(w * 8)..], _hashes[(i * _words) + w]);
            }

            BinaryPrimitives.WriteInt64BigEndian(record[(_words * 8)..], _recordSizes[i]);
            record[(_words * 8) + 8] = (byte)(_nameOffsets[i] == AllowedName ? 'A' : 'S');
            digest.AppendData(record[..((_words * 8) + 9)]);
            digest.AppendData(NameBytes(i));
            digest.AppendData("\n"u8);
        }
    }

    private bool TryAppend(ReadOnlySpan<char> hexHash, long size, int nameOffset, string type)
    {
        if (_frozen)
        {
            throw new InvalidOperationException("the hash set is frozen");
        }

        Span<byte> bytes = stackalloc byte[32];
        if (hexHash.Length != HexLength || Convert.FromHexString(hexHash, bytes, out _, out int written) != System.Buffers.OperationStatus.Done)
        {
            return false;
        }

        EnsureRecords();
        Span<byte> word = stackalloc byte[8];
        for (int w = 0; w < _words; w++)
        {
            word.Clear();
            int take = Math.Min(8, written - (w * 8));
            bytes.Slice(w * 8, take).CopyTo(word);
            _hashes[(_records * _words) + w] = BinaryPrimitives.ReadUInt64BigEndian(word);
        }

        int typeIndex = _typeNames.IndexOf(type);
        if (typeIndex < 0)
        {
            _typeNames.Add(type);
            typeIndex = _typeNames.Count - 1;
        }

        _recordSizes[_records] = size;
        _nameOffsets[_records] = nameOffset;
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

        return true;
    }

    private bool Collect(ReadOnlySpan<byte> hash, long size, List<Detection> detections)
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
            if (_nameOffsets[i] == AllowedName)
            {
                allowed = true;
            }
            else if (_nameOffsets[i] >= 0)
            {
                detections.Add(new Detection(NameAt(i), null));
            }
        }

        return allowed;
    }

    private int CompareAt(int record, ReadOnlySpan<ulong> key, long size)
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

    private ReadOnlySpan<byte> NameBytes(int record)
    {
        int offset = _nameOffsets[record];
        if (offset < 0)
        {
            return [];
        }

        // Each pooled name is stored as a 4-byte little-endian length, then its UTF-8 bytes.
        int length = BinaryPrimitives.ReadInt32LittleEndian(_namePool.AsSpan(offset));
        return _namePool.AsSpan(offset + 4, length);
    }

    private string NameAt(int record) => Encoding.UTF8.GetString(NameBytes(record));

    private void EnsurePool(int nameLength)
    {
        int needed = _namePoolLength + 4 + nameLength;
        if (needed > _namePool.Length)
        {
            Array.Resize(ref _namePool, Math.Max(needed, _namePool.Length * 2));
        }

        BinaryPrimitives.WriteInt32LittleEndian(_namePool.AsSpan(_namePoolLength), nameLength);
        _namePoolLength += 4;
    }

    private void EnsureRecords()
    {
        if (_records < _recordSizes.Length)
        {
            return;
        }

        int capacity = Math.Max(InitialCapacity, _recordSizes.Length * 2);
        Array.Resize(ref _hashes, capacity * _words);
        Array.Resize(ref _recordSizes, capacity);
        Array.Resize(ref _nameOffsets, capacity);
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
