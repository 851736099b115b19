namespace Prism.Scanner.Signatures;

/// <summary>How clamscan 1.4 treats a file <see cref="FileTyping"/> gives no target type, from its first bytes.</summary>
internal enum TextKind
{
    /// <summary>Another of ClamAV's types (a start magic or a content rule in the first bytes): no text handling.</summary>
    Other,

    /// <summary>
    /// Binary data (neither text nor another type; also by the MPEG stream magics) or compiled Python (by its magics or
    /// its content rule): clamscan scans it a second time as type OTHER, with the target type 0 and 14 signatures.
    /// </summary>
    Binary,

    /// <summary>ASCII text: normalised and rescanned, unless an HTML rule matches anywhere in the file.</summary>
    Ascii,

    /// <summary>UTF-8, UTF-16LE or UTF-16BE text: normalised and rescanned.</summary>
    Unicode,

    /// <summary>HTML by a rule in the first bytes: clamscan scans its HTML normalisations, not the raw file.</summary>
    Html,

    /// <summary>As <see cref="Html"/>, by a rule on the first bytes decoded as ClamAV decodes UTF-16: the file is decoded so before it is normalised.</summary>
    HtmlUtf16,

    /// <summary>Mail by ClamAV's header-line rules in the first bytes (target type 4, not rescanned as text).</summary>
    Mail,
}

/// <summary>
/// ClamAV 1.4's typing of files without a target-type magic (libclamav filetypes, textdet; its built-in file type
/// table, which mirrors daily.ftm, at functionality level 215): the start magics of the types it has no signature
/// target for (ZIP, RAR, GZIP, ...); then text tests on the first <see cref="FileTyping.TypingWindow"/> bytes (ASCII
/// with ISO-8859 and extended bytes, UTF-8, UTF-16 with or without a byte-order mark); then, for text and binary data,
/// its content rules within those bytes (HTML tags, also on the window decoded as ClamAV decodes UTF-16; mail header
/// lines, which give target type 4; compiled Python, scanned as type OTHER like binary data; embedded executables,
/// installers, XML documents, ...; self-extractor rules, which outrank HTML, mail and Python and are then ignored) and,
/// for binary data, its tar header test. Not modelled: the MBR partition check (a 0x55 0xAA at byte 510 is taken as a
/// plain byte), HTML behind a UTF-8/UTF-32 byte-order mark, and the order of a self-extractor rule's match and the
/// other content rules' (any of those types the self-extractor does not outrank wins here).
/// </summary>
internal static class TextTyping
{
    /// <summary>
    /// ClamAV's start magics (offset, bytes) of types <see cref="FileTyping"/> has no target for (those of the types it
    /// ignores are <see cref="FileTyping.IgnoredStartMagics"/>: such a file never gets here).
    /// </summary>
    private static readonly (int Offset, byte[] Magic)[] s_otherMagic = BuildOtherMagic();

    /// <summary>ClamAV's start magics (offset, bytes) of types without a target, for tests.</summary>
    internal static IReadOnlyList<(int Offset, byte[] Magic)> OtherStartMagics => s_otherMagic;

    /// <summary>ClamAV's start magics of compiled Python (CL_TYPE_PYTHON_COMPILED), scanned as type OTHER like binary data.</summary>
    private static readonly byte[][] s_pythonMagic =
    [
        .. new[]
        {
            "02099900", "03099900", "892e0d0a", "04170d0a", "994e0d0a", "fcc40d0a", "fdc40d0a", "87c60d0a", "88c60d0a",
            "2aeb0d0a", "2beb0d0a", "2ded0d0a", "2eed0d0a", "3bf20d0a", "3cf20d0a", "45f20d0a", "59f20d0a", "63f20d0a",
            "6df20d0a", "6ef20d0a", "77f20d0a", "81f20d0a", "8bf20d0a", "8cf20d0a", "95f20d0a", "9ff20d0a", "a9f20d0a",
            "b3f20d0a", "b4f20d0a", "c7f20d0a", "d1f20d0a", "d2f20d0a", "dbf20d0a", "e5f20d0a", "eff20d0a", "f9f20d0a",
            "03f30d0a", "04f30d0a", "0af30d0a", "b80b0d0a", "c20b0d0a", "cc0b0d0a", "d60b0d0a", "e00b0d0a", "ea0b0d0a",
            "f40b0d0a", "f50b0d0a", "ff0b0d0a", "090c0d0a", "130c0d0a", "1d0c0d0a", "1f0c0d0a", "270c0d0a", "3b0c0d0a",
            "450c0d0a", "4f0c0d0a", "580c0d0a", "620c0d0a", "6c0c0d0a", "760c0d0a", "800c0d0a", "8a0c0d0a", "940c0d0a",
            "9e0c0d0a", "b20c0d0a", "bc0c0d0a", "c60c0d0a", "d00c0d0a", "da0c0d0a", "e40c0d0a", "ee0c0d0a", "f80c0d0a",
            "020d0d0a", "0c0d0d0a", "160d0d0a", "170d0d0a", "200d0d0a", "210d0d0a", "2a0d0d0a", "2b0d0d0a", "2c0d0d0a",
            "2d0d0d0a", "2f0d0d0a", "300d0d0a", "310d0d0a", "320d0d0a", "330d0d0a", "3e0d0d0a", "3f0d0d0a", "f00d0d0a",
            "00010d0a", "50010d0a",
        }.Select(Convert.FromHexString),
    ];

    /// <summary>ClamAV's start magics that type a file as binary data outright (MPEG video and system streams).</summary>
    private static readonly byte[][] s_binaryMagic = [[0x00, 0x00, 0x01, 0xB3], [0x00, 0x00, 0x01, 0xBA]];


    /// <summary>ClamAV's SIS content rule (a type below compiled Python's, so a Python start wins over it).</summary>
    private static readonly System.Text.RegularExpressions.Regex s_sisRule =
        new("\\A[\\s\\S]{8,12}?\\x19\\x04\\x00\\x10", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>
    /// ClamAV's self-extractor content rules (ZIP, RAR, ARJ, CAB, 7-Zip): matched after another type's rule they
    /// replace it, and the typing then ignores them, leaving the file text or binary data.
    /// </summary>
    private static readonly System.Text.RegularExpressions.Regex s_sfxRule =
        new("PK\\x03\\x04|Rar!\\x1A\\x07\\x00|\\x60\\xEA[\\s\\S]{7}[\\x00-\\x02]\\x02|MSCF\\x00{4}|7z\\xBC\\xAF\\x27\\x1C",
            System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>HTML tags ClamAV types HTML by, anywhere (its type-1 rules without a gap).</summary>
    private static readonly byte[][] s_htmlTags =
    [
        .. new[]
        {
            "<HEAD>", "<HTML>", "<Head>", "<Html>", "<IFRAME", "<IMG", "<Img", "<OBJECT", "<Object", "<SCRIPT", "<Script",
            "<TABLE", "<head>", "<html>", "<iframe", "<img", "<object", "<script", "<table",
        }.Select(FileTyping.Ascii),
    ];

    /// <summary>
    /// Content rules within the first bytes that retype text or binary data to another type (not HTML), as regexes
    /// over Latin-1 (backtracking, but over at most 1024 characters with lazy bounded gaps).
    /// </summary>
    private static readonly System.Text.RegularExpressions.Regex[] s_otherRules =
    [
        .. new[]
        {
            "MZ[\\s\\S]{60,300}PE\\x00\\x00",
            "\\xA3HK\\xBE\\x98lJ\\xA9\\x99LS\\x0A\\x86\\xD6H}AU3!EA0[56]",
            "\\xEF\\xBE\\xAD\\xDENullsoftInst",
            "InstallShield\\x00[\\s\\S]{292}\\x06\\x00\\x00\\x00\\x00\\x00\\x00\\x00[\\s\\S]{8}\\x00\\x00\\x00\\x00\\x01",
            "\\A[Mm][Ii][Mm][Ee]-[Vv]ersion: [\\s\\S]{0,1024}?\\n[Cc]ontent-[Tt]ype: ",
            "\\n[Mm][Ii][Mm][Ee]-[Vv]ersion: [\\s\\S]{0,1024}?\\n[Cc]ontent-[Tt]ype: ",
            "\\A[\\s\\S]{0,128}?/RGB\\nID\\n\\xFF{24}",
            "\\x00BEA01",
            "\\A<\\?xml version=\"1\\.0\"[\\s\\S]{0,1024}?<(?:[\\s\\S]{2}:)?(?:Workbook|wordDocument)",
            "\\A<\\?xml version=\"1\\.0\"[\\s\\S]{0,1024}?progid=\"Word\\.Document\"\\?>",
            "<xdp:xdp",
            "\\AER[\\s\\S]{510}PM\\x00\\x00",
            "\\A\\xEF\\xBB\\xBF<\\?xml version=\"1\\.0\"[\\s\\S]*<HWPML",
            "\\A[\\s\\S]{2}-lh[0-7dx]-",
            "\\A[\\s\\S]{2}-lz[s45]-",
            "\\A[\\s\\S]{2}-pm0-",
        }.Select(p => new System.Text.RegularExpressions.Regex(p, System.Text.RegularExpressions.RegexOptions.CultureInvariant)),
    ];

    /// <summary>ClamAV's mail rules on header lines within the first bytes (type mail), as regexes over Latin-1.</summary>
    private static readonly System.Text.RegularExpressions.Regex[] s_mailRules =
    [
        .. new[]
        {
            "\\A[\\s\\S]{0,1024}?\\n[Ff]rom: [\\s\\S]{0,1024}?\\n[Mm][Ii][Mm][Ee]-[Vv]ersion: ",
            "\\A[\\s\\S]{0,1024}?\\n[Ff]rom: [\\s\\S]{0,2048}?\\n[Cc]ontent-[Tt]ype: ",
            "\\A[\\s\\S]{0,1024}?\\n[Mm][Ii][Mm][Ee]-[Vv]ersion: [\\s\\S]{0,2048}?\\n[Cc]ontent-[Tt]ype: ",
            "\\A[\\s\\S]{0,1024}?\\n[Mm]essage-[Ii]d: [\\s\\S]{0,1024}?\\n[Cc]ontent-[Tt]ype: ",
            "\\A[\\s\\S]{0,1024}?\\n[Rr]eceived: [\\s\\S]{0,2048}?\\n[Cc]ontent-[Tt]ype: ",
            "\\A[\\s\\S]{0,1024}?Delivered-To:[\\s\\S]{0,256}?Received:",
        }.Select(p => new System.Text.RegularExpressions.Regex(p, System.Text.RegularExpressions.RegexOptions.CultureInvariant)),
    ];

    /// <summary>
    /// True when one of ClamAV's start magics of a type without a target (ZIP, GZIP, RIFF, tar, ...) types the file:
    /// clamscan then applies none of its content rules (measured: a GZIP file with "%PDF-1." in its first bytes is not PDF).
    /// </summary>
    public static bool HasOtherStartMagic(ReadOnlySpan<byte> window)
    {
        foreach ((int offset, byte[] magic) in s_otherMagic)
        {
            if (window.Length >= offset + magic.Length && window.Slice(offset, magic.Length).SequenceEqual(magic))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The kind of a file FileTyping typed as <see cref="FileTyping.AnyFile"/>, from its first bytes (at most the typing window).</summary>
    public static TextKind KindOf(ReadOnlySpan<byte> start)
    {
        ReadOnlySpan<byte> window = start[..Math.Min(start.Length, FileTyping.TypingWindow)];
        if (HasOtherStartMagic(window))
        {
            return TextKind.Other;
        }

        foreach (byte[] magic in s_pythonMagic)
        {
            if (window.StartsWith(magic))
            {
                return TextKind.Binary;
            }
        }

        bool binaryMagic = window.StartsWith(s_binaryMagic[0]) || window.StartsWith(s_binaryMagic[1]);
        TextKind kind = binaryMagic ? TextKind.Binary
            : IsAscii(window) ? TextKind.Ascii
            : IsUtf8(window) || IsUtf16(window) ? TextKind.Unicode
            : TextKind.Binary;
        if (kind == TextKind.Binary && IsTar(window))
        {
            return TextKind.Other;
        }

        string latin1 = System.Text.Encoding.Latin1.GetString(window);
        // HTML, mail and Python rank below the self-extractors: one anywhere in the window replaces them (wherever it
        // lies, or as the later match) and is then ignored, leaving the file text or binary data.
        bool selfExtractor = s_sfxRule.IsMatch(latin1);
        if (!selfExtractor && (HasHtmlTag(window, 0, out _) || window.StartsWith("<%@ LANGUAGE ="u8)))
        {
            return TextKind.Html;
        }

        if (!selfExtractor && s_mailRules.Any(r => r.IsMatch(latin1)))
        {
            return TextKind.Mail;
        }

        if (s_otherRules.Any(r => r.IsMatch(latin1)))
        {
            return TextKind.Other;
        }

        if (!selfExtractor && MatchesPythonRule(window))
        {
            return TextKind.Binary;
        }

        if (s_sisRule.IsMatch(latin1))
        {
            return TextKind.Other;
        }

        // ClamAV then decodes the window as UTF-16 its own way (byte pairs b0 + 16 * b1) and looks for HTML again.
        if (window.Length >= 2)
        {
            Span<byte> decoded = stackalloc byte[FileTyping.TypingWindow / 2];
            decoded = decoded[..(window.Length / 2)];
            for (int i = 0; i < decoded.Length; i++)
            {
                decoded[i] = (byte)(window[2 * i] + (window[(2 * i) + 1] << 4));
            }

            if (HasHtmlTag(decoded, 0, out _) || decoded.StartsWith("<%@ LANGUAGE ="u8))
            {
                return TextKind.HtmlUtf16;
            }
        }

        // Then UTF-16 text is decoded to ASCII (measured: big-endian with its mark) and HTML in it types the raw file HTML.
        if (kind == TextKind.Unicode && window.Length >= 2 && window[0] == 0xFE && window[1] == 0xFF)
        {
            Span<byte> decoded = stackalloc byte[FileTyping.TypingWindow / 2];
            decoded = decoded[..((window.Length / 2) - 1)];
            for (int i = 0; i < decoded.Length; i++)
            {
                decoded[i] = window[2 * (i + 1)] == 0 ? window[(2 * (i + 1)) + 1] : (byte)0xFF;
            }

            if (HasHtmlTag(decoded, 0, out _))
            {
                return TextKind.Html;
            }
        }

        return kind;
    }

    /// <summary>
    /// True when ClamAV's content rules in the typing window cannot leave a PDF type: the compiled-Python rule at the
    /// start (a type ranked above PDF, matched first) or a self-extractor rule anywhere (ranked above PDF, and then ignored).
    /// </summary>
    public static bool OverridesPdfRule(ReadOnlySpan<byte> window)
    {
        return MatchesPythonRule(window) || s_sfxRule.IsMatch(System.Text.Encoding.Latin1.GetString(window));
    }

    /// <summary>ClamAV's content rule for compiled Python 3.7 and later: any byte, then 0D 0D 0A, at the start.</summary>
    private static bool MatchesPythonRule(ReadOnlySpan<byte> window) => window.Length >= 4 && window[1..4].SequenceEqual("\r\r\n"u8);

    /// <summary>
    /// True when an HTML tag rule of ClamAV matches in <paramref name="data"/>: a tag, or "&lt;a " / "&lt;A " followed
    /// (anywhere later) by "href"/"HREF" in ClamAV's four case forms. <paramref name="anchorEnd"/> carries, across calls
    /// on consecutive pieces, the end of the earliest "&lt;a " seen (-1 for none), relative to <paramref name="baseOffset"/>.
    /// </summary>
    public static bool HasHtmlTag(ReadOnlySpan<byte> data, long baseOffset, out long anchorEnd)
    {
        anchorEnd = -1;
        return ScanHtml(data, baseOffset, ref anchorEnd);
    }

    /// <summary>As <see cref="HasHtmlTag"/> on the next piece of a stream, with the "&lt;a " state carried in <paramref name="anchorEnd"/>.</summary>
    public static bool ScanHtml(ReadOnlySpan<byte> data, long baseOffset, ref long anchorEnd)
    {
        for (int at = data.IndexOf((byte)'<'); at >= 0; at = Next(data, at, (byte)'<'))
        {
            ReadOnlySpan<byte> rest = data[at..];
            foreach (byte[] tag in s_htmlTags)
            {
                if (rest.StartsWith(tag))
                {
                    return true;
                }
            }

            if (anchorEnd < 0 && rest.Length >= 3 && (rest[1] == (byte)'a' || rest[1] == (byte)'A') && rest[2] == (byte)' ')
            {
                anchorEnd = baseOffset + at + 3;
            }
        }

        if (anchorEnd < 0)
        {
            return false;
        }

        int from = (int)Math.Max(0, anchorEnd - baseOffset);
        for (int at = from < data.Length ? IndexOfHr(data, from) : -1; at >= 0; at = at + 1 < data.Length ? IndexOfHr(data, at + 1) : -1)
        {
            if (at + 4 <= data.Length && ((data[at + 2] == (byte)'E' && data[at + 3] == (byte)'F') || (data[at + 2] == (byte)'e' && data[at + 3] == (byte)'f')))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Bytes of a stream piece to keep before the next one so a tag split across them is still seen.</summary>
    public const int HtmlOverlap = 7;

    private static int IndexOfHr(ReadOnlySpan<byte> data, int from)
    {
        for (int i = from; i + 1 < data.Length; i++)
        {
            if ((data[i] == (byte)'h' || data[i] == (byte)'H') && (data[i + 1] == (byte)'r' || data[i + 1] == (byte)'R'))
            {
                return i;
            }
        }

        return -1;
    }

    private static int Next(ReadOnlySpan<byte> data, int at, byte value)
    {
        int next = data[(at + 1)..].IndexOf(value);
        return next < 0 ? -1 : at + 1 + next;
    }

    /// <summary>ClamAV's class of a byte in text: 0 never in text, 1 plain ASCII text, 2 ISO-8859, 3 extended ASCII.</summary>
    private static int ClassOf(int c) => c switch
    {
        7 or 8 or 9 or 10 or 12 or 13 or 27 => 1,
        < 0x20 => 0,
        < 0x7F => 1,
        0x7F => 0,
        0x85 => 1,
        < 0xA0 => 3,
        _ => 2,
    };

    private static bool IsAscii(ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            if (ClassOf(b) == 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>ClamAV's UTF-8 test: valid sequences (a sequence cut by the window's end counts), no control bytes, at least one multi-byte sequence.</summary>
    private static bool IsUtf8(ReadOnlySpan<byte> data)
    {
        bool gotOne = false;
        for (int i = 0; i < data.Length; i++)
        {
            byte b = data[i];
            if ((b & 0x80) == 0)
            {
                if (ClassOf(b) != 1)
                {
                    return false;
                }

                continue;
            }

            if ((b & 0x40) == 0)
            {
                return false;
            }

            int following = (b & 0x20) == 0 ? 1 : (b & 0x10) == 0 ? 2 : (b & 0x08) == 0 ? 3 : (b & 0x04) == 0 ? 4 : (b & 0x02) == 0 ? 5 : -1;
            if (following < 0)
            {
                return false;
            }

            for (int j = 0; j < following; j++)
            {
                if (++i >= data.Length)
                {
                    return gotOne;
                }

                if ((data[i] & 0x80) == 0 || (data[i] & 0x40) != 0)
                {
                    return false;
                }
            }

            gotOne = true;
        }

        return gotOne;
    }

    /// <summary>
    /// ClamAV's UTF-16 test: from the third byte on, each 16-bit unit (big-endian unless the file starts with FF FE)
    /// must not be FFFE and, without a byte-order mark, not a control character other than text ones; with a mark,
    /// fewer than half the length may be. Most random data passes it.
    /// </summary>
    private static bool IsUtf16(ReadOnlySpan<byte> data)
    {
        if (data.Length < 2)
        {
            return false;
        }

        bool littleEndian = data[0] == 0xFF && data[1] == 0xFE;
        bool bom = littleEndian || (data[0] == 0xFE && data[1] == 0xFF);
        int bad = 0;
        for (int i = 2; i + 1 < data.Length; i += 2)
        {
            int c = littleEndian ? data[i] | (data[i + 1] << 8) : (data[i] << 8) | data[i + 1];
            if (c == 0xFFFE)
            {
                return false;
            }

            if (c < 128 && ClassOf(c) != 1)
            {
                if (!bom)
                {
                    return false;
                }

                bad++;
            }
        }

        return !bom || bad < data.Length / 2;
    }

    /// <summary>
    /// ClamAV's tar test on binary data: the first 512 bytes are a tar header whose checksum field (8 octal digits at
    /// offset 148, after optional blanks, ending at a blank or NUL) equals the sum of the header's bytes with the field
    /// counted as blanks. Such a file is typed tar (old or POSIX), not binary data.
    /// </summary>
    private static bool IsTar(ReadOnlySpan<byte> window)
    {
        const int HeaderSize = 512, FieldOffset = 148, FieldSize = 8;
        if (window.Length < HeaderSize)
        {
            return false;
        }

        ReadOnlySpan<byte> field = window.Slice(FieldOffset, FieldSize);
        int at = 0;
        while (at < FieldSize && IsCSpace(field[at]))
        {
            at++;
        }

        if (at == FieldSize)
        {
            return false;
        }

        int recorded = 0;
        while (at < FieldSize && field[at] is >= (byte)'0' and <= (byte)'7')
        {
            recorded = (recorded << 3) | (field[at++] - '0');
        }

        if (at < FieldSize && field[at] != 0 && !IsCSpace(field[at]))
        {
            return false;
        }

        int sum = FieldSize * ' ';
        for (int i = 0; i < HeaderSize; i++)
        {
            sum += i is >= FieldOffset and < FieldOffset + FieldSize ? 0 : window[i];
        }

        return sum == recorded;
    }

    private static bool IsCSpace(byte b) => b is (byte)' ' or (>= 9 and <= 13);

    private static (int Offset, byte[] Magic)[] BuildOtherMagic()
    {
        string[] hex =
        [
            "1f8b", "23407e5e",
            "28546869732066696c65206d75737420626520636f6e76657274656420776974682042696e48657820342e3029",
            "425a68", "49545346", "504b0304", "504b3030504b0304", "52494646", "52494658",
            "52617221", "535a4444", "60ea", "626567696e20", "789f3e22", "b6b9acaefeffffff",
            "5b616c69617365735d", "377abcaf271c", "303730373031", "303730373032",
            "303730373037", "71c7", "c771", "4d53434600000000", "78617221", "fd377a585a00",
            "48575020446f63756d656e742046696c652056332e3030201a0102030405", "7b5c7274", "252150532d41646f62652d",
            "4c0000000114020000000000c000000000000046", "45474741",
            "e4525c7b8cd8a74daeb15378d02996d3", "414c5a01",
        ];
        var list = hex.Select(h => (0, Convert.FromHexString(h))).ToList();
        list.Add((257, Convert.FromHexString("7573746172")));
        list.Add((512, Convert.FromHexString("4546492050415254")));
        list.Add((4, Convert.FromHexString("d0cf11e0a1b11ae1")));
        return [.. list];
    }
}
