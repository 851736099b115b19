using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Text;

namespace Prism.Scanner.Signatures;

/// <summary>
/// Signature names as UTF-8 in one blob, each distinct name stored once and known by its index: name i is
/// <c>blob[offsets[i]..offsets[i + 1]]</c>. While loading, an open-addressing table of indices finds a name already
/// stored (each slot keeps the upper half of the name's hash, so growing the table never hashes a name again);
/// <see cref="Freeze"/> trims the arrays and drops that table.
/// </summary>
internal sealed class SignatureNameTable
{
    private const int InitialBlob = 4096;
    private const int InitialNames = 256;

    private byte[] _blob;
    private int _blobLength;
    private int[] _offsets;
    private int _count;
    private ulong[]? _slots;

    public SignatureNameTable()
    {
        _blob = new byte[InitialBlob];
        _offsets = new int[InitialNames + 1];
        _slots = new ulong[InitialNames * 2];
    }

    private SignatureNameTable(byte[] blob, int[] offsets)
    {
        _blob = blob;
        _blobLength = blob.Length;
        _offsets = offsets;
        _count = offsets.Length - 1;
    }

    /// <summary>Number of distinct names.</summary>
    public int Count => _count;

    /// <summary>Bytes held by the blob and the offsets (and, before freezing, the lookup table).</summary>
    public long RetainedBytes => _blob.Length + ((long)_offsets.Length * 4) + ((long)(_slots?.Length ?? 0) * 8);

    /// <summary>The UTF-8 bytes of all names, in index order.</summary>
    public ReadOnlySpan<byte> Blob => _blob.AsSpan(0, _blobLength);

    /// <summary>Count + 1 offsets into <see cref="Blob"/>.</summary>
    public ReadOnlySpan<int> Offsets => _offsets.AsSpan(0, _count + 1);

    /// <summary>A frozen table over names read back from a compiled cache; throws <see cref="InvalidDataException"/> when the offsets are not ordered.</summary>
    public static SignatureNameTable FromParts(byte[] blob, int[] offsets)
    {
        if (offsets.Length == 0 || offsets[0] != 0 || offsets[^1] != blob.Length)
        {
            throw new InvalidDataException("name table offsets do not span the name blob");
        }

        for (int i = 1; i < offsets.Length; i++)
        {
            if (offsets[i] < offsets[i - 1])
            {
                throw new InvalidDataException($"name table offset {i} goes backwards");
            }
        }

        return new SignatureNameTable(blob, offsets);
    }

    /// <summary>The index of <paramref name="utf8"/>, adding it when it is new.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Add(ReadOnlySpan<byte> utf8)
    {
        // A slot holds a 32-bit hash of the name (high half) and index + 1 (low half): most probes never touch the
        // blob, and the slot's position comes from that hash alone, so Rehash moves slots without reading names.
        ulong[] slots = _slots ?? throw new InvalidOperationException("the name table is frozen");
        uint mask = (uint)slots.Length - 1;
        uint tag = (uint)(XxHash3.HashToUInt64(utf8) >> 32);
        uint slot = tag & mask;
        while (slots[slot] != 0)
        {
            int candidate = (int)(uint)slots[slot] - 1;
            if ((uint)(slots[slot] >> 32) == tag && this[candidate].SequenceEqual(utf8))
            {
                return candidate;
            }

            slot = (slot + 1) & mask;
        }

        if (_blobLength + utf8.Length > _blob.Length)
        {
            Array.Resize(ref _blob, Math.Max(_blobLength + utf8.Length, _blob.Length * 2));
        }

        if (_count + 2 > _offsets.Length)
        {
            Array.Resize(ref _offsets, _offsets.Length * 2);
        }

        utf8.CopyTo(_blob.AsSpan(_blobLength));
        _blobLength += utf8.Length;
        int index = _count++;
        _offsets[_count] = _blobLength;
        slots[slot] = ((ulong)tag << 32) | (uint)(index + 1);
        if (_count * 2 > slots.Length)
        {
            Rehash(slots.Length * 2);
        }

        return index;
    }

    /// <summary>Makes room for <paramref name="names"/> names of <paramref name="bytes"/> bytes in all, so a large load grows nothing.</summary>
    public void EnsureCapacity(int names, long bytes)
    {
        if (_slots is null)
        {
            throw new InvalidOperationException("the name table is frozen");
        }

        if (bytes > _blob.Length)
        {
            Array.Resize(ref _blob, (int)Math.Min(bytes, Array.MaxLength));
        }

        if (names + 1L > _offsets.Length)
        {
            Array.Resize(ref _offsets, (int)Math.Min(names + 1L, Array.MaxLength));
        }

        long slots = Math.Min(1L << 30, (long)System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)Math.Max(1, names) * 2));
        if (slots > _slots.Length)
        {
            Rehash((int)slots);
        }
    }

    /// <summary>The index of a name given as text.</summary>
    public int Add(ReadOnlySpan<char> name)
    {
        int length = Encoding.UTF8.GetByteCount(name);
        Span<byte> utf8 = length <= 512 ? stackalloc byte[length] : new byte[length];
        Encoding.UTF8.GetBytes(name, utf8);
        return Add(utf8);
    }

    /// <summary>The UTF-8 bytes of name <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> this[int index] => _blob.AsSpan(_offsets[index], _offsets[index + 1] - _offsets[index]);

    /// <summary>Name <paramref name="index"/> as a string.</summary>
    public string GetString(int index) => Encoding.UTF8.GetString(this[index]);

    /// <summary>Trims the arrays and drops the lookup table; no name can be added afterwards.</summary>
    public void Freeze()
    {
        if (_slots is null)
        {
            return;
        }

        Array.Resize(ref _blob, _blobLength);
        Array.Resize(ref _offsets, _count + 1);
        _slots = null;
    }

    private void Rehash(int size)
    {
        var slots = new ulong[size];
        uint mask = (uint)size - 1;
        foreach (ulong entry in _slots!)
        {
            if (entry == 0)
            {
                continue;
            }

            uint slot = (uint)(entry >> 32) & mask;
            while (slots[slot] != 0)
            {
                slot = (slot + 1) & mask;
            }

            slots[slot] = entry;
        }

        _slots = slots;
    }
}
