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

    private readonly int _maxPatternLength;
    private readonly bool _whole;
    private readonly int _capacity;
    private readonly byte[] _page = new byte[PageSize];
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
            int n = Math.Min(data.Length, PageSize - _pageLength);
            data[..n].CopyTo(_page.AsSpan(_pageLength));
            _pageLength += n;
            data = data[n..];
            if (_pageLength == PageSize)
            {
                Page(PageSize);
            }
        }
    }

    /// <summary>Normalises the last, partial page.</summary>
    public void Complete()
    {
        if (!_whole && _pageLength > 0)
        {
            Page(_pageLength);
        }
    }

    private void Page(int length)
    {
        if (_outPos + length > _capacity)
        {
            // clamscan scans its buffer and keeps its last maxpatlen bytes for the next one.
            _sink.Append(_tail.AsSpan(0, _tailLength));
            _outPos = _maxPatternLength;
            _spaceWritten = false;
        }

        Emit(_page.AsSpan(0, length));
        _pageLength = 0;
    }

    private void Emit(ReadOnlySpan<byte> input)
    {
        int n = 0;
        bool spaceWritten = _spaceWritten;
        byte[] output = _out;
        ReadOnlySpan<byte> map = s_map;
        foreach (byte c in input)
        {
            byte mapped = map[c];
            if (mapped == Drop)
            {
                continue;
            }

            if (mapped == (byte)' ')
            {
                if (!spaceWritten)
                {
                    output[n++] = mapped;
                    spaceWritten = true;
                }

                continue;
            }

            output[n++] = mapped;
            spaceWritten = false;
        }

        _spaceWritten = spaceWritten;

        ReadOnlySpan<byte> produced = _out.AsSpan(0, n);
        _outPos += n;
        if (_maxPatternLength > 0 && !_whole)
        {
            RememberTail(produced);
        }

        _sink.Append(produced);
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
