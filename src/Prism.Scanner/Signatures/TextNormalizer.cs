using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Prism.Scanner.Signatures;

/// <summary>
/// ClamAV 1.4's text normalisation (libclamav textnorm, as cli_scanscript drives it), one linear streaming pass:
/// A-Z lower-cased; a run of white space (0x09-0x0D, 0x20) becomes one space; other bytes below 0x20 and every byte
/// from 0x80 are dropped (0x7F is kept); dropped bytes do not end a white-space run. The output goes to a sink in the
/// byte space clamscan matches it in:
/// <list type="bullet">
/// <item>buffered (no target-7 signature with an EOF-n offset): the input is read in 4 KiB pages into a buffer of
/// 128 KiB plus the longest target-7 pattern (maxpatlen); before a page that might not fit, the buffer is scanned and
/// restarted with its last maxpatlen bytes carried over (so they occur twice in the matched byte space, as clamscan's
/// offsets count them twice), and the white-space run state resets;</item>
/// <item>whole (some target-7 signature has an EOF-n offset): the normalised file is written in pieces of
/// 128 KiB + maxpatlen input bytes, the white-space state resetting at each, and scanned as one file.</item>
/// </list>
/// Holds at most one page of input and maxpatlen bytes of output.
/// </summary>
internal sealed class TextNormalizer
{
    /// <summary>ClamAV's SCANBUFF.</summary>
    public const int ScanBufferSize = 128 << 10;

    /// <summary>fmap's page size on Linux (getpagesize()).</summary>
    public const int PageSize = 4096;

    /// <summary>Marks a dropped byte in <see cref="s_map"/>.</summary>
    private const byte Drop = 0;

    /// <summary>Per input byte: its normalised byte, ' ' for white space, <see cref="Drop"/> for a dropped one.</summary>
    private static readonly byte[] s_map = BuildMap();

    /// <summary>Shuffle controls for <see cref="DropAndMap"/>, see <see cref="BuildCompactTable"/>.</summary>
    private static readonly ulong[] s_compact = BuildCompactTable();

    private readonly int _maxPatternLength;
    private readonly bool _whole;
    private readonly int _capacity;
    private readonly byte[] _page = new byte[PageSize];
    private readonly byte[] _mid = new byte[PageSize];
    private readonly byte[] _out = new byte[PageSize];
    private readonly byte[] _tail;
    private readonly ScanSession _sink;
    private int _pageLength;
    private int _tailLength;
    private long _outPos;
    private long _consumed;
    private bool _spaceWritten;

    public TextNormalizer(ScanSession sink, int maxPatternLength, bool whole)
    {
        _sink = sink;
        _maxPatternLength = maxPatternLength;
        _whole = whole;
        _capacity = ScanBufferSize + maxPatternLength;
        _tail = new byte[maxPatternLength];
    }

    /// <summary>Normalises the next input bytes.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        if (_whole)
        {
            while (data.Length > 0)
            {
                // A new piece of the normalised file starts every _capacity input bytes, its white-space state reset.
                int inPiece = (int)(_consumed % _capacity);
                if (inPiece == 0)
                {
                    _spaceWritten = false;
                }

                int n = Math.Min(data.Length, Math.Min(_capacity - inPiece, _out.Length));
                Emit(data[..n]);
                _consumed += n;
                data = data[n..];
            }

            return;
        }

        while (data.Length > 0)
        {
            if (_pageLength == 0 && data.Length >= PageSize)
            {
                // A whole page in place.
                Page(data[..PageSize]);
                data = data[PageSize..];
                continue;
            }

            int n = Math.Min(data.Length, PageSize - _pageLength);
            data[..n].CopyTo(_page.AsSpan(_pageLength));
            _pageLength += n;
            data = data[n..];
            if (_pageLength == PageSize)
            {
                Page(_page);
                _pageLength = 0;
            }
        }
    }

    /// <summary>Normalises the last, partial page.</summary>
    public void Complete()
    {
        if (!_whole && _pageLength > 0)
        {
            Page(_page.AsSpan(0, _pageLength));
            _pageLength = 0;
        }
    }

    private void Page(ReadOnlySpan<byte> page)
    {
        if (_outPos + page.Length > _capacity)
        {
            // clamscan scans its buffer and keeps its last maxpatlen bytes for the next one.
            _sink.Append(_tail.AsSpan(0, _tailLength));
            _outPos = _maxPatternLength;
            _spaceWritten = false;
        }

        Emit(page);
    }

    private void Emit(ReadOnlySpan<byte> input)
    {
        // Two branch-free passes (a byte-by-byte loop with a branch per class mispredicts on binary data): drop the
        // dropped bytes, then collapse each run of spaces to one — dropped bytes do not end a run, so once they are
        // gone a space is written unless the byte before it is a space too.
        int kept = DropAndMap(input, _mid);
        int n = CollapseSpaces(_mid.AsSpan(0, kept), _out, ref _spaceWritten);

        ReadOnlySpan<byte> produced = _out.AsSpan(0, n);
        _outPos += n;
        if (_maxPatternLength > 0 && !_whole)
        {
            RememberTail(produced);
        }

        _sink.Append(produced);
    }

    /// <summary>Writes the mapped bytes of <paramref name="input"/> that are not dropped; returns how many.</summary>
    internal static int DropAndMap(ReadOnlySpan<byte> input, Span<byte> output)
    {
        ref byte src = ref MemoryMarshal.GetReference(input);
        ref byte dst = ref MemoryMarshal.GetReference(output);
        ref byte map = ref MemoryMarshal.GetArrayDataReference(s_map);
        int length = input.Length;
        if (output.Length < length)
        {
            throw new ArgumentException("The output is shorter than the input.", nameof(output));
        }

        int i = 0;
        int n = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            // Text: a block of 16 bytes with nothing to drop is mapped in one go.
            Vector128<byte> tab = Vector128.Create((byte)0x09);
            Vector128<byte> upperA = Vector128.Create((byte)'A');
            for (; i + Vector128<byte>.Count <= length; i += Vector128<byte>.Count)
            {
                Vector128<byte> v = Vector128.LoadUnsafe(ref src, (nuint)i);
                Vector128<byte> white = Vector128.LessThan(v - tab, Vector128.Create((byte)5)) | Vector128.Equals(v, Vector128.Create((byte)' '));
                Vector128<byte> printable = Vector128.LessThan(v - Vector128.Create((byte)0x21), Vector128.Create((byte)(0x80 - 0x21)));
                Vector128<byte> upper = Vector128.LessThan(v - upperA, Vector128.Create((byte)26));
                Vector128<byte> mapped = Vector128.ConditionalSelect(white, Vector128.Create((byte)' '), v + (upper & Vector128.Create((byte)32)));
                Vector128<byte> keep = white | printable;
                if (keep == Vector128<byte>.AllBitsSet)
                {
                    mapped.StoreUnsafe(ref dst, (nuint)n);
                    n += Vector128<byte>.Count;
                }
                else if (Ssse3.IsSupported)
                {
                    // Binary data: the kept bytes of each half moved to its front by a shuffle (from a table of the 256
                    // keep masks of 8 bytes), each half stored whole at the output's end — the next store overwrites
                    // what lies past the kept bytes, and n + 16 <= i + 16 <= the output's length.
                    uint bits = keep.ExtractMostSignificantBits();
                    uint low = bits & 0xFF;
                    uint high = bits >> 8;
                    Vector128<byte> control = Vector128.Create(s_compact[low], s_compact[high] + 0x0808080808080808UL).AsByte();
                    Vector128<byte> packed = Ssse3.Shuffle(mapped, control);
                    Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, n), packed.AsUInt64().GetElement(0));
                    n += BitOperations.PopCount(low);
                    Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, n), packed.AsUInt64().GetElement(1));
                    n += BitOperations.PopCount(high);
                }
                else
                {
                    n = DropAndMapScalar(ref src, i, i + Vector128<byte>.Count, ref dst, n, ref map);
                }
            }
        }

        return DropAndMapScalar(ref src, i, length, ref dst, n, ref map);
    }

    /// <summary>Per keep mask of 8 bytes: the shuffle control moving the kept bytes, in order, to the front.</summary>
    private static ulong[] BuildCompactTable()
    {
        ulong[] table = new ulong[256];
        for (int mask = 0; mask < 256; mask++)
        {
            ulong control = 0;
            int k = 0;
            for (int bit = 0; bit < 8; bit++)
            {
                if ((mask & (1 << bit)) != 0)
                {
                    control |= (ulong)bit << (8 * k++);
                }
            }

            table[mask] = control;
        }

        return table;
    }

    private static int DropAndMapScalar(ref byte src, int from, int to, ref byte dst, int n, ref byte map)
    {
        for (int i = from; i < to; i++)
        {
            byte mapped = Unsafe.Add(ref map, Unsafe.Add(ref src, i));
            Unsafe.Add(ref dst, n) = mapped;

            // 1 unless mapped is Drop (0): mapped < 0x80.
            n += (mapped + 0xFF) >> 8;
        }

        return n;
    }

    /// <summary>
    /// Copies <paramref name="input"/> (no dropped bytes) with each space that follows a space left out;
    /// <paramref name="spaceWritten"/> says whether the byte before the input was a space, and then whether its last was.
    /// </summary>
    internal static int CollapseSpaces(ReadOnlySpan<byte> input, Span<byte> output, ref bool spaceWritten)
    {
        if (input.Length == 0)
        {
            return 0;
        }

        if (output.Length < input.Length)
        {
            throw new ArgumentException("The output is shorter than the input.", nameof(output));
        }

        ref byte src = ref MemoryMarshal.GetReference(input);
        ref byte dst = ref MemoryMarshal.GetReference(output);
        int length = input.Length;
        int n = 0;
        int i = 0;

        // The first byte against the state carried in.
        byte first = src;
        dst = first;
        n += first == (byte)' ' && spaceWritten ? 0 : 1;
        i = 1;
        if (Vector128.IsHardwareAccelerated)
        {
            // A block of 16 bytes without two spaces in a row (byte i - 1 included) is copied as it is.
            Vector128<byte> space = Vector128.Create((byte)' ');
            for (; i + Vector128<byte>.Count <= length; i += Vector128<byte>.Count)
            {
                Vector128<byte> v = Vector128.LoadUnsafe(ref src, (nuint)i);
                Vector128<byte> before = Vector128.LoadUnsafe(ref src, (nuint)(i - 1));
                if ((Vector128.Equals(v, space) & Vector128.Equals(before, space)) != Vector128<byte>.Zero)
                {
                    n = CollapseScalar(ref src, i, i + Vector128<byte>.Count, ref dst, n);
                    continue;
                }

                v.StoreUnsafe(ref dst, (nuint)n);
                n += Vector128<byte>.Count;
            }
        }

        n = CollapseScalar(ref src, i, length, ref dst, n);
        spaceWritten = Unsafe.Add(ref src, length - 1) == (byte)' ';
        return n;
    }

    private static int CollapseScalar(ref byte src, int from, int to, ref byte dst, int n)
    {
        for (int i = from; i < to; i++)
        {
            byte b = Unsafe.Add(ref src, i);
            byte before = Unsafe.Add(ref src, i - 1);
            Unsafe.Add(ref dst, n) = b;
            n += ((b ^ ' ') | (before ^ ' ')) != 0 ? 1 : 0;
        }

        return n;
    }

    private static byte[] BuildMap()
    {
        byte[] map = new byte[256];
        for (int c = 0; c < 256; c++)
        {
            map[c] = c switch
            {
                (>= 0x09 and <= 0x0D) or 0x20 => (byte)' ',
                >= 'A' and <= 'Z' => (byte)(c + 32),
                > 0x20 and < 0x80 => (byte)c,
                _ => Drop,
            };
        }

        return map;
    }

    /// <summary>Keeps the last maxpatlen bytes output.</summary>
    private void RememberTail(ReadOnlySpan<byte> produced)
    {
        if (produced.Length >= _tail.Length)
        {
            produced[^_tail.Length..].CopyTo(_tail);
            _tailLength = _tail.Length;
            return;
        }

        int keep = Math.Min(_tailLength, _tail.Length - produced.Length);
        Buffer.BlockCopy(_tail, _tailLength - keep, _tail, 0, keep);
        produced.CopyTo(_tail.AsSpan(keep));
        _tailLength = keep + produced.Length;
    }
}
