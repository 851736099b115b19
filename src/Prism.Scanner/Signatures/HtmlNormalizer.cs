namespace Prism.Scanner.Signatures;

/// <summary>
/// The two HTML normalisations clamscan 1.4 scans with target-0 and target-3 signatures (libclamav htmlnorm, as
/// cli_scanhtml drives it; see docs/html-normalization-notes.md): <see cref="NoComment"/> (nocomment.html: tags and
/// text lower-cased, comments dropped, entities decoded, white space folded) and <see cref="NoTags"/> (notags.html:
/// the text outside tags, scripts and styles, with link and image URLs). <see cref="Unmodelled"/> names the first
/// construct whose output is not modelled (a <c>data:</c> URI value, an encoded script); the buffers are then not
/// clamscan's. <see cref="Script"/> tells that a <c>&lt;script&gt;</c> tag was met: clamscan then also scans the
/// JavaScript normalisation of the script bodies, its <c>javascript</c> buffer (<see cref="JavaScript"/>, by
/// <see cref="JsNormalizer"/>; <see cref="JavaScriptUnmodelled"/> names a construct that makes it differ from clamscan's).
/// </summary>
internal sealed record HtmlNormalization(byte[] NoComment, byte[] NoTags, string? Unmodelled, bool Script = false)
{
    /// <summary>The javascript buffer, null when no script was met.</summary>
    public byte[]? JavaScript { get; init; }

    /// <summary>The first construct in a script whose normalisation is not modelled, or null.</summary>
    public string? JavaScriptUnmodelled { get; init; }
}

/// <summary>
/// ClamAV 1.4's HTML normaliser, a byte-exact model of its state machine and of the way it reads the file: chunks of
/// at most 8191 bytes with NUL bytes removed, cut back to the last white space when a chunk ends inside a word, white
/// space skipped at the start of every chunk, <c>\n</c> read as a space and <c>\r</c> dropped. Its quirks are kept
/// (a comment ends at the first <c>&gt;</c>, a space inside a quoted attribute value ends the quoting, the byte after
/// a multi-byte sequence written to notags as the one before it, numeric references truncated to 16 bits).
/// The JavaScript normalisation of <c>&lt;script&gt;</c> bodies (the <c>javascript</c> buffer) is not modelled here.
/// </summary>
internal static class HtmlNormalizer
{
    /// <summary>clamscan's MaxHTMLNormalize default: larger files are not normalised (nor scanned raw when typed HTML early).</summary>
    public const long MaxHtmlNormalize = 40L << 20;

    /// <summary>clamscan's MaxHTMLNoTags default, compared with the original file's length.</summary>
    public const long MaxHtmlNoTags = 8L << 20;

    /// <summary>The page cli_scanhtml_utf16 decodes at a time (16 pages of 4 KiB).</summary>
    public const int Utf16Page = 16 * TextNormalizer.PageSize;

    /// <summary>
    /// What clamscan normalises for a file typed HTML by the UTF-16 decoding of its first bytes (cli_scanhtml_utf16):
    /// each byte pair (b0, b1) of each 64 KiB page as the one byte b0 + (b1 &lt;&lt; 4), an odd last byte dropped.
    /// </summary>
    public static byte[] DecodeUtf16(ReadOnlySpan<byte> file)
    {
        var decoded = new byte[(file.Length / Utf16Page * (Utf16Page / 2)) + (file.Length % Utf16Page / 2)];
        int j = 0;
        for (int page = 0; page < file.Length; page += Utf16Page)
        {
            ReadOnlySpan<byte> bytes = file.Slice(page, Math.Min(Utf16Page, file.Length - page));
            for (int k = 0; k + 1 < bytes.Length; k += 2)
            {
                decoded[j++] = (byte)(bytes[k] + (bytes[k + 1] << 4));
            }
        }

        return decoded;
    }

    /// <summary>Normalises a whole file.</summary>
    public static HtmlNormalization Normalize(ReadOnlySpan<byte> file)
    {
        var parser = new Parser();
        return parser.Run(file);
    }

    private enum State
    {
        Bad,
        Norm,
        Comment,
        CharRef,
        EntityRefDecode,
        SkipWs,
        TrimWs,
        Tag,
        TagArg,
        TagArgVal,
        TagArgEqual,
        ProcessTag,
        CharRefDecode,
        EightBit,
    }

    private enum InTag
    {
        None,
        Script,
        Style,
    }

    private enum Quoted
    {
        None,
        Single,
        Double,
    }

    /// <summary>A growing output buffer.</summary>
    private sealed class Sink
    {
        private byte[] _data = new byte[256];

        public int Length { get; private set; }

        public void Add(byte c)
        {
            if (Length == _data.Length)
            {
                Array.Resize(ref _data, _data.Length * 2);
            }

            _data[Length++] = c;
        }

        public void Add(ReadOnlySpan<byte> bytes)
        {
            foreach (byte c in bytes)
            {
                Add(c);
            }
        }

        public void DropLast()
        {
            if (Length > 0)
            {
                Length--;
            }
        }

        public byte[] ToArray() => _data.AsSpan(0, Length).ToArray();
    }

    /// <summary>Appends up to HTML_STR_LENGTH bytes.</summary>
    private sealed class Bounded
    {
        public const int Capacity = 1024;
        private readonly byte[] _data = new byte[Capacity];

        public int Length { get; set; }

        public ReadOnlySpan<byte> Span => _data.AsSpan(0, Length);

        public void Add(byte c)
        {
            if (Length < Capacity)
            {
                _data[Length++] = c;
            }
        }

        /// <summary>The content as a C string: up to the first NUL.</summary>
        public byte[] CString()
        {
            ReadOnlySpan<byte> s = Span;
            int nul = s.IndexOf((byte)0);
            return (nul < 0 ? s : s[..nul]).ToArray();
        }
    }

    private sealed class Parser
    {
        private const int ChunkMax = 8192;

        private readonly Sink _noComment = new();
        private readonly Sink _noTags = new();
        private readonly Bounded _tag = new();
        private readonly Bounded _tagArg = new();
        private readonly Bounded _tagVal = new();
        private readonly Bounded _entity = new();
        private readonly List<(byte[] Name, byte[]? Value)> _args = [];
        private readonly byte[] _chunk = new byte[ChunkMax];

        private State _state = State.Norm;
        private State _next = State.Bad;
        private InTag _inTag = InTag.None;
        private Quoted _quoted = Quoted.None;
        private bool _escape;
        private bool _hex;
        private bool _textSpaceWritten;
        private long _value;
        private uint _mbchar;
        private uint _mbchar2;
        private string? _unmodelled;
        private bool _script;
        private readonly List<byte> _javascript = [];
        private JsNormalizer? _js;
        private int _jsBegin = -1;
        private int _jsEnd = -1;
        private string? _jsUnmodelled;

        /// <summary>Offset of <c>&lt;style&gt;</c>'s content in the current chunk (or the chunk start), -1 outside a style.</summary>
        private int _styleBegin = -1;

        public HtmlNormalization Run(ReadOnlySpan<byte> file)
        {
            int offset = 0;
            bool aborted = false;
            int length;
            while ((length = ReadChunk(file, ref offset)) >= 0)
            {
                if (!Chunk(length))
                {
                    aborted = true;
                    break;
                }

                if (_js is not null)
                {
                    // The chunk's part of the script goes to the JavaScript normaliser at the chunk's end.
                    FeedScript(length);
                    _jsBegin = _jsEnd = -1;
                    if (_inTag != InTag.Script)
                    {
                        FinishScript();
                    }
                }

                if (_inTag == InTag.Style)
                {
                    _styleBegin = 0;
                }

                if (_next == _state)
                {
                    _next = State.Bad;
                }
            }

            if (!aborted)
            {
                FinishEntity();
            }

            if (_js is not null)
            {
                // The script so far (no </script>): normalised and written at the end.
                FinishScript();
            }

            return new HtmlNormalization(_noComment.ToArray(), _noTags.ToArray(), _unmodelled, _script)
            {
                JavaScript = _script ? [.. _javascript] : null,
                JavaScriptUnmodelled = _jsUnmodelled,
            };
        }

        /// <summary>js_process: the script's bytes of the current chunk, from its start (or the chunk's) to its end (or <paramref name="ptr"/>).</summary>
        private void FeedScript(int ptr)
        {
            int begin = _jsBegin >= 0 ? _jsBegin : 0;
            int end = _jsEnd >= 0 ? _jsEnd : ptr;
            if (end > begin)
            {
                _js!.Process(_chunk.AsSpan(begin, end - begin));
            }
        }

        private void FinishScript()
        {
            _js!.Finish(_javascript);
            _jsUnmodelled ??= _js.Unmodelled;
            _js = null;
        }

        /// <summary>cli_readchunk over a mapped file: the next chunk into _chunk, its length (0 when it held only NULs, -1 at the end).</summary>
        private int ReadChunk(ReadOnlySpan<byte> file, ref int offset)
        {
            int available = Math.Min(file.Length - offset, ChunkMax - 1);
            if (available <= 0)
            {
                return -1;
            }

            ReadOnlySpan<byte> window = file.Slice(offset, available);
            int nul = window.IndexOf((byte)0);
            int length;
            int next;
            if (nul < 0)
            {
                window.CopyTo(_chunk);
                length = available;
                offset += available;
                next = offset;
            }
            else
            {
                // Bytes up to the first NUL, then byte by byte (to the end of the file) skipping NULs.
                window[..nul].CopyTo(_chunk);
                length = nul;
                next = offset + nul;
                while (next < file.Length && length < ChunkMax - 1)
                {
                    byte c = file[next++];
                    if (c != 0)
                    {
                        _chunk[length++] = c;
                    }
                }

                offset = next;
            }

            if (next < file.Length && !IsSpace(file[next]))
            {
                // Cut the chunk back to its last white space (not when that is its first byte or there is none); the
                // read offset goes back by as many chunk bytes, NULs removed or not.
                int keep = length;
                while (!IsSpace(_chunk[keep - 1]) && keep > 1)
                {
                    keep--;
                }

                if (keep > 1 && keep < length)
                {
                    offset -= length - keep;
                    length = keep;
                }
            }

            return length;
        }

        /// <summary>Runs the state machine over one chunk; false when the normaliser stops (an engine error).</summary>
        private bool Chunk(int length)
        {
            byte[] line = _chunk;
            int i = 0;
            while (i < length && IsSpace(line[i]))
            {
                i++;
            }

            while (i < length)
            {
                byte c = line[i];
                if (c == (byte)'\n')
                {
                    line[i] = (byte)' ';
                    continue;
                }

                if (c == (byte)'\r')
                {
                    i++;
                    continue;
                }

                switch (_state)
                {
                    case State.Bad:
                        return false;

                    case State.SkipWs:
                        if (IsSpace(c))
                        {
                            i++;
                        }
                        else
                        {
                            _state = _next;
                            _next = State.Bad;
                        }

                        break;

                    case State.TrimWs:
                        if (IsSpace(c))
                        {
                            i++;
                        }
                        else
                        {
                            if (_inTag == InTag.None)
                            {
                                _noComment.Add((byte)' ');
                            }

                            _state = _next;
                            _next = State.Bad;
                        }

                        break;

                    case State.EightBit:
                        if (EightBit(c, ref i))
                        {
                            continue;
                        }

                        break;

                    case State.Norm:
                        Norm(c, ref i);
                        break;

                    case State.Tag:
                        Tag(c, ref i);
                        break;

                    case State.TagArg:
                        TagArg(c, ref i);
                        break;

                    case State.TagArgEqual:
                        if (c == (byte)'=')
                        {
                            _noComment.Add((byte)'=');
                            i++;
                            StartValue();
                        }
                        else
                        {
                            if (_tagArg.Length > 0)
                            {
                                _args.Add((_tagArg.CString(), null));
                            }

                            _tagArg.Length = 0;
                            _state = State.TagArg;
                            _next = State.Bad;
                        }

                        break;

                    case State.TagArgVal:
                        if (!TagArgVal(line, length, c, ref i))
                        {
                            return false;
                        }

                        break;

                    case State.Comment:
                        if (_inTag != InTag.None && !IsSpace(c))
                        {
                            byte lc = ToLower(c);
                            _noComment.Add(lc == (byte)'\'' ? (byte)'"' : lc);
                        }

                        if (c == (byte)'>')
                        {
                            _state = State.SkipWs;
                            _next = State.Norm;
                        }

                        i++;
                        break;

                    case State.ProcessTag:
                        if (!ProcessTag(i))
                        {
                            return false;
                        }

                        break;

                    case State.CharRef:
                        if (c == (byte)'#')
                        {
                            _value = 0;
                            _hex = false;
                            _state = State.CharRefDecode;
                            i++;
                        }
                        else
                        {
                            _state = State.EntityRefDecode;
                        }

                        break;

                    case State.EntityRefDecode:
                        EntityRef(c, ref i);
                        break;

                    case State.CharRefDecode:
                        CharRefDecode(c, ref i);
                        break;
                }

                if (_unmodelled is not null)
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>HTML_8BIT; true when the caller must re-run the loop without the common tail (a consumed dot).</summary>
        private bool EightBit(byte c, ref int i)
        {
            if (c < 0x80 || _mbchar >= 0x10000)
            {
                if (_mbchar is 0xE38082 or 0xEFBC8E or 0xEFB992 || (_mbchar == 0xA1 && c is 0x43 or 0x44 or 0x4F))
                {
                    _noComment.Add((byte)'.');
                    _noTags.Add((byte)'.');
                    if (_mbchar == 0xA1)
                    {
                        // The byte is consumed and the state stays 8-bit, with nothing collected.
                        i++;
                        _mbchar = 0;
                        return true;
                    }
                }
                else
                {
                    byte c0 = (byte)(_mbchar >> 16);
                    byte c1 = (byte)(_mbchar >> 8);
                    byte c2 = (byte)_mbchar;
                    if (c0 != 0)
                    {
                        _noComment.Add(c0);
                        _noTags.Add(c0);
                    }

                    if (c0 != 0 || c1 != 0)
                    {
                        _noComment.Add(c1);
                        _noTags.Add(c1);
                    }

                    _noComment.Add(c2);
                    _noTags.Add(c1); // clamscan writes the middle byte again to notags
                }

                _mbchar = 0;
                _state = _next;
                _next = State.Norm;
            }
            else
            {
                _mbchar = (_mbchar << 8) | c;
                i++;
            }

            return false;
        }

        private void Norm(byte c, ref int i)
        {
            if (c == (byte)'<')
            {
                _noComment.Add((byte)'<');
                TextSpace();
                i++;
                _state = State.SkipWs;
                _tag.Length = 0;
                _next = State.Tag;
            }
            else if (IsSpace(c))
            {
                TextSpace();
                _state = State.TrimWs;
                _next = State.Norm;
            }
            else if (c == (byte)'&')
            {
                TextSpace();
                _state = State.CharRef;
                _next = State.Norm;
                i++;
            }
            else if (c >= 0x80)
            {
                _state = State.EightBit;
                _next = State.Norm;
                _mbchar = c;
                i++;
            }
            else
            {
                byte lc = ToLower(c);
                if (_inTag != InTag.None && lc == (byte)'\'')
                {
                    lc = (byte)'"';
                }

                _noComment.Add(lc);
                if (_inTag == InTag.None)
                {
                    if (c < 0x20)
                    {
                        TextSpace();
                    }
                    else
                    {
                        _noTags.Add(lc);
                        _textSpaceWritten = false;
                    }
                }

                i++;
            }
        }

        /// <summary>One space to notags outside scripts and styles, unless one was just written.</summary>
        private void TextSpace()
        {
            if (_inTag == InTag.None && !_textSpaceWritten)
            {
                _noTags.Add((byte)' ');
                _textSpaceWritten = true;
            }
        }

        private void Tag(byte c, ref int i)
        {
            if (_tag.Length == 0 && c == (byte)'!')
            {
                if (_inTag != InTag.None)
                {
                    _noComment.Add((byte)'!');
                }
                else
                {
                    _noComment.DropLast(); // the '<'
                }

                _state = State.Comment;
                _next = State.Bad;
                i++;
            }
            else if (c == (byte)'>')
            {
                _noComment.Add((byte)'>');
                i++;
                _state = State.SkipWs;
                _next = State.ProcessTag;
            }
            else if (!IsSpace(c))
            {
                _noComment.Add(ToLower(c));
                if (_inTag != InTag.None && _tag.Length == 0 && c != (byte)'/')
                {
                    _state = State.Norm;
                }

                _tag.Add(ToLower(c));
                i++;
            }
            else
            {
                _state = State.SkipWs;
                _tagArg.Length = 0;
                _next = _inTag == InTag.None ? State.TagArg : State.ProcessTag;
            }
        }

        private void TagArg(byte c, ref int i)
        {
            if (c == (byte)'=')
            {
                _noComment.Add((byte)'=');
                i++;
                StartValue();
            }
            else if (IsSpace(c))
            {
                i++;
                _state = State.SkipWs;
                _next = State.TagArgEqual;
            }
            else if (c == (byte)'>')
            {
                _noComment.Add((byte)'>');
                if (_tagArg.Length > 0)
                {
                    _args.Add((_tagArg.CString(), null));
                }

                i++;
                _state = State.ProcessTag;
                _next = State.Bad;
            }
            else
            {
                if (_tagArg.Length == 0)
                {
                    _noComment.Add((byte)' ');
                }

                _noComment.Add(ToLower(c));
                _tagArg.Add(ToLower(c));
                i++;
            }
        }

        private void StartValue()
        {
            _state = State.SkipWs;
            _escape = false;
            _quoted = Quoted.None;
            _tagVal.Length = 0;
            _next = State.TagArgVal;
        }

        /// <summary>HTML_TAG_ARG_VAL; false when a construct that is not modelled was met.</summary>
        private bool TagArgVal(byte[] line, int length, byte c, ref int i)
        {
            ReadOnlySpan<byte> value = _tagVal.Span;
            if ((value.Length == 5 && value.SequenceEqual("data:"u8)) || (value.Length == 6 && value.SequenceEqual("\"data:"u8)))
            {
                _unmodelled = "a data: URI in a tag value (RFC 2397)";
                return false;
            }

            if (c == (byte)'&')
            {
                _state = State.CharRef;
                _next = State.TagArgVal;
                i++;
            }
            else if (c is (byte)'\'' or (byte)'"')
            {
                Quoted kind = c == (byte)'\'' ? Quoted.Single : Quoted.Double;
                _noComment.Add((byte)'"');
                _tagVal.Add((byte)'"');
                if (value.Length == 0)
                {
                    _quoted = kind;
                }
                else if (!_escape && _quoted == kind)
                {
                    AddArgWithValue();
                    _state = State.SkipWs;
                    _tagArg.Length = 0;
                    _next = State.TagArg;
                }

                i++;
            }
            else if (IsSpace(c) || c == (byte)'>')
            {
                if (_quoted == Quoted.None)
                {
                    AddArgWithValue();
                    _state = State.SkipWs;
                    _tagArg.Length = 0;
                    _next = State.TagArg;
                }
                else
                {
                    // A space or '>' inside quotes is written and ends the quoting.
                    _noComment.Add(c);
                    _tagVal.Add(IsSpace(c) ? (byte)' ' : (byte)'>');
                    _state = State.SkipWs;
                    _escape = false;
                    _quoted = Quoted.None;
                    _next = State.TagArgVal;
                    i++;
                }
            }
            else
            {
                if (_mbchar2 != 0 && (c < 0x80 || _mbchar2 >= 0x10000))
                {
                    if (_mbchar2 is 0xE38082 or 0xEFBC8E or 0xEFB992 || (_mbchar2 == 0xA1 && c is 0x43 or 0x44 or 0x4F))
                    {
                        _noComment.Add((byte)'.');
                        _tagVal.Add((byte)'.');
                        if (_mbchar2 == 0xA1)
                        {
                            i++;
                            _mbchar2 = 0;
                            return true; // no escape update
                        }
                    }
                    else
                    {
                        byte c0 = (byte)(_mbchar2 >> 16);
                        byte c1 = (byte)(_mbchar2 >> 8);
                        byte c2 = (byte)_mbchar2;
                        if (c0 != 0)
                        {
                            _noComment.Add(c0);
                        }

                        if (c0 != 0 || c1 != 0)
                        {
                            _noComment.Add(c1);
                        }

                        _noComment.Add(c2);
                        if (c0 != 0)
                        {
                            _tagVal.Add(c0);
                        }

                        if (c0 != 0 || c1 != 0)
                        {
                            _tagVal.Add(c1);
                        }

                        _tagVal.Add(c2);
                    }

                    _mbchar2 = 0;
                }

                if (c >= 0x80)
                {
                    _mbchar2 = (_mbchar2 << 8) | c;
                }
                else
                {
                    _noComment.Add(ToLower(c));
                    _tagVal.Add(c);
                }

                i++;
            }

            // clamscan looks at the byte now under its pointer (the next one when this one was consumed).
            _escape = i < length && line[i] == (byte)'\\';
            return true;
        }

        private void AddArgWithValue()
        {
            byte[] value = _tagVal.CString();
            if (value.Length > 0 && value[0] == (byte)'"')
            {
                // The first byte and the last one are taken off.
                value = value.Length > 1 ? value[1..^1] : [];
            }

            _args.Add((_tagArg.CString(), value));
        }

        private byte[]? ArgValue(ReadOnlySpan<byte> name)
        {
            foreach ((byte[] n, byte[]? v) in _args)
            {
                if (name.SequenceEqual(n))
                {
                    return v;
                }
            }

            return null;
        }

        /// <summary>HTML_PROCESS_TAG at chunk position <paramref name="i"/>; false when the normaliser stops.</summary>
        private bool ProcessTag(int i)
        {
            _state = State.SkipWs;
            _next = State.Norm;
            ReadOnlySpan<byte> tag = _tag.Span;
            int nul = tag.IndexOf((byte)0);
            if (nul >= 0)
            {
                tag = tag[..nul];
            }

            if (tag.Length > 0 && tag[0] == (byte)'/')
            {
                if (tag.SequenceEqual("/script"u8))
                {
                    _inTag = InTag.None;
                    if (_js is not null)
                    {
                        // The script ends after </script> and the white space following it.
                        _jsEnd = i;
                        FeedScript(i);
                        FinishScript();
                        _jsBegin = _jsEnd = -1;
                    }
                }
                else if (tag.SequenceEqual("/style"u8) && _inTag == InTag.Style)
                {
                    if (i - "</style>".Length < _styleBegin)
                    {
                        return false; // clamscan gives up on the file here
                    }

                    _inTag = InTag.None;
                    _styleBegin = -1;
                }
            }
            else if (tag.SequenceEqual("script"u8))
            {
                byte[]? language = ArgValue("language"u8);
                if (language is not null && (EqualsIgnoreCase(language, "jscript.encode"u8) || EqualsIgnoreCase(language, "vbscript.encode"u8)))
                {
                    _unmodelled = "an encoded script (JScript.Encode / VBScript.Encode)";
                }

                _inTag = InTag.Script;
                _script = true;
                if (_js is null)
                {
                    _js = new JsNormalizer();
                    _jsBegin = i;
                    _jsEnd = -1;
                }
            }
            else if (tag.SequenceEqual("style"u8))
            {
                _inTag = InTag.Style;
                _styleBegin = i;
            }
            else if (tag.SequenceEqual("%@"u8))
            {
                byte[]? language = ArgValue("language"u8);
                if (language is not null && (EqualsIgnoreCase(language, "jscript.encode"u8) || EqualsIgnoreCase(language, "vbscript.encode"u8)))
                {
                    _unmodelled = "an encoded ASP script (<%@ language=...encode %>)";
                }
            }
            else if (tag.SequenceEqual("a"u8) || tag.SequenceEqual("img"u8))
            {
                byte[]? url = ArgValue(tag.SequenceEqual("a"u8) ? "href"u8 : "src"u8);
                if (url is { Length: > 0 })
                {
                    _noTags.Add(url);
                    _noTags.Add((byte)' ');
                    _textSpaceWritten = true;
                }
            }

            _args.Clear();
            return true;
        }

        private void EntityRef(byte c, ref int i)
        {
            bool inValue = _next == State.TagArgVal;
            if (c == (byte)';')
            {
                if (HtmlEntities.TryGet(_entity.Span, out ushort code))
                {
                    Span<byte> buffer = stackalloc byte[8];
                    foreach (byte b in CodeUnit(code, buffer))
                    {
                        _noComment.Add(b);
                        if (inValue)
                        {
                            _tagVal.Add(b);
                        }
                    }
                }
                else
                {
                    _noComment.Add((byte)'&');
                    if (inValue)
                    {
                        _tagVal.Add((byte)'&');
                    }

                    foreach (byte b in _entity.Span)
                    {
                        _noComment.Add(ToLower(b));
                        if (inValue)
                        {
                            _tagVal.Add(ToLower(b));
                        }
                    }

                    if (inValue)
                    {
                        _tagVal.Add((byte)';');
                    }

                    _noComment.Add((byte)';');
                }

                _entity.Length = 0;
                _state = _next;
                _next = State.Bad;
                i++;
            }
            else if ((IsAlnum(c) || c is (byte)'_' or (byte)':' or (byte)'-') && _entity.Length < Bounded.Capacity)
            {
                _entity.Add(c);
                i++;
            }
            else
            {
                if (inValue)
                {
                    _tagVal.Add((byte)'&');
                }

                _noComment.Add((byte)'&');
                foreach (byte b in _entity.Span)
                {
                    _noComment.Add(ToLower(b));
                    if (inValue)
                    {
                        _tagVal.Add(ToLower(b));
                    }
                }

                _state = _next;
                _next = State.Bad;
                _entity.Length = 0;
            }
        }

        private void CharRefDecode(byte c, ref int i)
        {
            if (_value == 0 && c is (byte)'x' or (byte)'X')
            {
                _hex = true;
                i++;
            }
            else if (c == (byte)';')
            {
                if (_next == State.TagArgVal)
                {
                    _tagVal.Add((byte)_value);
                }

                if (_value < 0x80)
                {
                    _noComment.Add(ToLower((byte)_value));
                }
                else
                {
                    Span<byte> buffer = stackalloc byte[8];
                    _noComment.Add(CodeUnit((ushort)_value, buffer));
                }

                _state = _next;
                _next = State.Bad;
                i++;
            }
            else if (IsDigit(c) || (_hex && IsXDigit(c)))
            {
                // clamscan multiplies by 10 once a hex value is too large for another 16.
                if (_hex && _value < long.MaxValue / 16)
                {
                    _value *= 16;
                }
                else if (_value < long.MaxValue / 10)
                {
                    _value *= 10;
                }
                else
                {
                    EndNumber(ref i);
                    return;
                }

                long increment = IsDigit(c) ? c - '0' : ToLower(c) - 'a' + 10;
                if (_value > long.MaxValue - increment)
                {
                    EndNumber(ref i);
                    return;
                }

                _value += increment;
                i++;
            }
            else
            {
                _noComment.Add((byte)_value);
                _state = _next;
                _next = State.Bad;
            }
        }

        private void EndNumber(ref int i)
        {
            _noComment.Add((byte)_value);
            _state = _next;
            _next = State.Bad;
            i++;
        }

        /// <summary>An entity still open at the end of the file.</summary>
        private void FinishEntity()
        {
            if (HtmlEntities.TryGet(_entity.Span, out ushort code))
            {
                Span<byte> buffer = stackalloc byte[8];
                _noComment.Add(CodeUnit(code, buffer));
            }
            else if (_entity.Length > 0)
            {
                _noComment.Add((byte)'&');
                foreach (byte b in _entity.Span)
                {
                    _noComment.Add(ToLower(b));
                }
            }
        }

        /// <summary>entconv's form of a UTF-16 code unit: nothing for 0, the byte below 0xFF, '.' for the ideographic and
        /// full-width stops, else <c>&amp;#xhhhh;</c> in lower-case hex.</summary>
        private static ReadOnlySpan<byte> CodeUnit(ushort code, Span<byte> buffer)
        {
            if (code == 0)
            {
                return [];
            }

            if (code < 0xFF)
            {
                buffer[0] = (byte)code;
                return buffer[..1];
            }

            if (code is 0x3002 or 0xFF0E or 0xFE52)
            {
                buffer[0] = (byte)'.';
                return buffer[..1];
            }

            "&#x"u8.CopyTo(buffer);
            ReadOnlySpan<byte> hex = "0123456789abcdef"u8;
            for (int k = 0; k < 4; k++)
            {
                buffer[3 + k] = hex[(code >> (12 - (4 * k))) & 0xF];
            }

            buffer[7] = (byte)';';
            return buffer[..8];
        }
    }

    private static bool IsSpace(byte c) => c is (byte)' ' or (>= 0x09 and <= 0x0D);

    private static bool IsDigit(byte c) => c is >= (byte)'0' and <= (byte)'9';

    private static bool IsXDigit(byte c) => IsDigit(c) || c is >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F';

    private static bool IsAlnum(byte c) => IsDigit(c) || c is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z';

    private static byte ToLower(byte c) => c is >= (byte)'A' and <= (byte)'Z' ? (byte)(c + 32) : c;

    private static bool EqualsIgnoreCase(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }

        for (int k = 0; k < a.Length; k++)
        {
            if (ToLower(a[k]) != ToLower(b[k]))
            {
                return false;
            }
        }

        return true;
    }
}
