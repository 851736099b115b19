using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Text;

namespace Prism.Scanner.Signatures;

/// <summary>
/// Signature names as UTF-8 in one blob, each known by its index: name i is <c>blob[offsets[i]..offsets[i + 1]]</c>.
/// While loading, a name seen among the last <see cref="RecentNames"/> distinct ones (a direct-mapped table of their
/// hashes) gets that name's index instead of a new copy: the sections of one sample, on consecutive lines, share one
/// name. A name repeated further apart is stored again (ClamAV's names end in a unique id, so this is rare), which
/// keeps every lookup in a table that fits the processor's cache instead of a random access into one sized for
/// millions of names. The numbering depends only on the sequence of names added. <see cref="Freeze"/> trims the
/// arrays and drops that table.
/// </summary>
internal sealed class SignatureNameTable
{
    /// <summary>Slots of the table of recent names (512 KiB).</summary>
    public const int RecentNames = 1 << 16;

    private const int InitialBlob = 4096;
    private const int InitialNames = 256;

    private byte[] _blob;
    private int _blobLength;
    private int[] _offsets;
    private int _count;
    private ulong[]? _recent;

    public SignatureNameTable()
    {
        _blob = new byte[InitialBlob];
        _offsets = new int[InitialNames + 1];
        _recent = new ulong[RecentNames];
    }

    private SignatureNameTable(byte[] blob, int[] offsets)
    {
        _blob = blob;
        _blobLength = blob.Length;
        _offsets = offsets;
        _count = offsets.Length - 1;
    }

    /// <summary>Number of names stored.</summary>
    public int Count => _count;

    /// <summary>Bytes held by the blob and the offsets (and, before freezing, the lookup table).</summary>
    public long RetainedBytes => _blob.Length + ((long)_offsets.Length * 4) + ((long)(_recent?.Length ?? 0) * 8);

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

    /// <summary>The index of <paramref name="utf8"/>: a recent name's, or a new one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Add(ReadOnlySpan<byte> utf8)
    {
        // A slot holds a 32-bit hash of the name (high half) and index + 1 (low half): a probe touches the blob only
        // when the hashes agree.
        ulong[] recent = _recent ?? throw new InvalidOperationException("the name table is frozen");
        uint tag = (uint)(XxHash3.HashToUInt64(utf8) >> 32);
        uint slot = tag & (RecentNames - 1);
        ulong entry = recent[slot];
        if (entry != 0 && (uint)(entry >> 32) == tag && this[(int)(uint)entry - 1].SequenceEqual(utf8))
        {
            return (int)(uint)entry - 1;
        }

        if (_blobLength + utf8.Length > _blob.Length)
        {
            Array.Resize(ref _blob, (int)Math.Min(Array.MaxLength, Math.Max((long)_blobLength + utf8.Length, _blob.Length * 2L)));
        }

        if (_count + 2 > _offsets.Length)
        {
            Array.Resize(ref _offsets, _offsets.Length * 2);
        }

        utf8.CopyTo(_blob.AsSpan(_blobLength));
        _blobLength += utf8.Length;
        int index = _count++;
        _offsets[_count] = _blobLength;
        recent[slot] = ((ulong)tag << 32) | (uint)(index + 1);
        return index;
    }

    /// <summary>Makes room for <paramref name="names"/> names of <paramref name="bytes"/> bytes in all, so a large load grows nothing.</summary>
    public void EnsureCapacity(int names, long bytes)
    {
        if (_recent is null)
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

    /// <summary>Trims the arrays and drops the table of recent names; no name can be added afterwards.</summary>
    public void Freeze()
    {
        if (_recent is null)
        {
            return;
        }

        Array.Resize(ref _blob, _blobLength);
        Array.Resize(ref _offsets, _count + 1);
        _recent = null;
    }
}
