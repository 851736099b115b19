namespace Prism.Scanner.Signatures;

/// <summary>
/// ClamAV's file typing by magic at the start of a file, reduced to the target type (the integer of the ndb/ldb
/// Target field) whose signatures apply to it: 1 MS executable ("MZ"), 2 OLE2, 4 mail, 5 graphics, 6 ELF, 9 Mach-O,
/// 10 PDF, 11 Flash, 12 Java class, 13 ClamAV's internal JSON; 0 for every other file (14 is given later, to binary
/// data: <see cref="TextTyping"/>). Modelled: ClamAV 1.4's magic at the start of the file for
/// these types and, for a file none of them starts, its content rules within the first <see cref="TypingWindow"/> bytes
/// for Java classes and universal binaries ("cafebabe" and a count) and PDF ("%PDF-" or "%pdf-", any byte, "."
/// anywhere, unless the compiled-Python or a self-extractor rule outranks it: <see cref="TextTyping.OverridesPdfRule"/>,
/// and not in a file the start magic of a type without a target types: <see cref="TextTyping.HasOtherStartMagic"/>).
/// Mail and HTML rules: <see cref="TextTyping"/>.
/// </summary>
internal static class FileTyping
{
    public const int AnyFile = 0;

    /// <summary>A file ClamAV types as one it ignores (CL_TYPE_IGNORED): nothing matches it.</summary>
    public const int Ignored = -1;
    public const int Pe = 1;
    public const int Ole2 = 2;
    public const int Mail = 4;
    public const int Graphics = 5;
    public const int Elf = 6;
    public const int MachO = 9;
    public const int Pdf = 10;
    public const int Flash = 11;
    public const int Java = 12;

    /// <summary>ClamAV's internal properties (JSON starting with its CLAMJSONv0 magic).</summary>
    public const int Internal = 13;

    /// <summary>Other data: files ClamAV types binary data or compiled Python are scanned a second time as this type (<see cref="TextKind.Binary"/>).</summary>
    public const int Other = 14;

    /// <summary>
    /// ClamAV's start magics of the types it ignores (CL_TYPE_IGNORED: Real Media, MP3, Ogg, SIP log, SYM data file,
    /// SQLite database, journal and WAL), typed <see cref="Ignored"/>: such a file is not scanned at all — no body,
    /// logical or hash signature matches it (measured, <c>StartMagicContentRuleTests</c>).
    /// </summary>
    internal static readonly byte[][] IgnoredStartMagics =
    [
        .. new[]
        {
            "2e524d46", "494433", "4f676753", "fffb90", "5349502d48495420285349502f48", "53594d430100", "377f0682002de218",
            "377f0683002de218", "53514c69746520666f726d6174203300", "d9d505f920a163d7",
        }.Select(Convert.FromHexString),
    ];

    /// <summary>ClamAV's start-of-file magic for the target types above (magic, target).</summary>
    private static readonly (byte[] Magic, int Target)[] s_magic =
    [
        (Ascii("MZ"), Pe),
        ([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1], Ole2),
        (Ascii("BM"), Graphics),
        (Ascii("GIF"), Graphics),
        ([0x89, 0x50, 0x4E, 0x47], Graphics),
        ([0xFF, 0xD8, 0xFF], Graphics),
        ([0x49, 0x49, 0x2A, 0x00], Graphics),
        (Ascii("MM"), Graphics),
        ([0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A], Graphics),
        ([0x7F, 0x45, 0x4C, 0x46], Elf),
        ([0xCE, 0xFA, 0xED, 0xFE], MachO),
        ([0xCF, 0xFA, 0xED, 0xFE], MachO),
        ([0xFE, 0xED, 0xFA, 0xCE], MachO),
        ([0xFE, 0xED, 0xFA, 0xCF], MachO),
        (Ascii("%PDF-"), Pdf),
        (Ascii("FWS"), Flash),
        (Ascii("CWS"), Flash),
        (Ascii("ZWS"), Flash),
        (Ascii(">From "), Mail),
        (Ascii("Date: "), Mail),
        (Ascii("Delivered-To: "), Mail),
        (Ascii("Delivery-date: "), Mail),
        (Ascii("Envelope-to: "), Mail),
        (Ascii("For: "), Mail),
        (Ascii("From "), Mail),
        (Ascii("From: "), Mail),
        (Ascii("Hi. This is the qmail-send"), Mail),
        (Ascii("Message-ID: "), Mail),
        (Ascii("Message-Id: "), Mail),
        (Ascii("Received: "), Mail),
        (Ascii("Received-SPF: "), Mail),
        (Ascii("Return-Path: "), Mail),
        (Ascii("Return-path: "), Mail),
        (Ascii("Subject: "), Mail),
        (Ascii("To: "), Mail),
        (Ascii("X-Apparently-To: "), Mail),
        (Ascii("X-EVS"), Mail),
        (Ascii("X-Envelope-From: "), Mail),
        (Ascii("X-Original-To: "), Mail),
        (Ascii("X-Real-To: "), Mail),
        (Ascii("X-Sieve: "), Mail),
        (Ascii("X-Symantec-"), Mail),
        (Ascii("X-UIDL: "), Mail),
        (Ascii("v:\nReceived: "), Mail),
        (Ascii("v:\r\nReceived: "), Mail),
        (Ascii("{\n  \"Magic\":\"CLAMJSONv0\""), Internal),
        .. IgnoredStartMagics.Select(m => (m, Ignored)),
    ];

    /// <summary>ClamAV's content rule of an ignored "PDF image" (a start within the first 128 bytes of a file no start magic types).</summary>
    private static readonly byte[] s_pdfImage = Convert.FromHexString("2f5247420a49440affffffffffffffffffffffffffffffffffffffffffffffff");

    private const int PdfImageMaxOffset = 128;

    /// <summary>Bytes ClamAV reads to type a file (CL_FILE_MBUFF_SIZE); a shorter file is typed from what it has.</summary>
    public const int TypingWindow = 1024;

    /// <summary>
    /// The target type of a file starting with <paramref name="start"/>, or null when more bytes are needed to tell
    /// (only while <paramref name="start"/> is shorter than <see cref="TypingWindow"/> and <paramref name="final"/> is false).
    /// </summary>
    public static int? TargetOf(ReadOnlySpan<byte> start, bool final)
    {
        foreach ((byte[] magic, int target) in s_magic)
        {
            if (start.StartsWith(magic))
            {
                return target;
            }
        }

        if (start.Length < TypingWindow && !final)
        {
            return null;
        }

        // "cafebabe" and a big-endian count: below 0x20 a Mach-O universal binary (its architecture count), from 0x20
        // to 0x3F a Java class (its minor and major version); ClamAV types the rest as plain data.
        if (start.Length >= 8 && start[0] == 0xCA && start[1] == 0xFE && start[2] == 0xBA && start[3] == 0xBE
            && start[4] == 0 && start[5] == 0 && start[6] == 0 && start[7] < 0x40)
        {
            return start[7] < 0x20 ? MachO : Java;
        }

        ReadOnlySpan<byte> window = start[..Math.Min(start.Length, TypingWindow)];
        if (TextTyping.HasOtherStartMagic(window))
        {
            return AnyFile;
        }

        if (window[..Math.Min(window.Length, PdfImageMaxOffset + s_pdfImage.Length)].IndexOf(s_pdfImage) >= 0)
        {
            return Ignored;
        }

        for (int at = window.IndexOf((byte)'%'); at >= 0 && at + 7 <= window.Length; at = NextPercent(window, at))
        {
            ReadOnlySpan<byte> candidate = window.Slice(at, 7);
            if ((candidate.StartsWith("%PDF-"u8) || candidate.StartsWith("%pdf-"u8)) && candidate[6] == (byte)'.')
            {
                return TextTyping.OverridesPdfRule(window) ? AnyFile : Pdf;
            }
        }

        return AnyFile;
    }

    private static int NextPercent(ReadOnlySpan<byte> window, int at)
    {
        int next = window[(at + 1)..].IndexOf((byte)'%');
        return next < 0 ? -1 : at + 1 + next;
    }

    /// <summary>The bytes of a magic written as a string of byte values (each char one byte).</summary>
    internal static byte[] Ascii(string s) => [.. s.Select(c => (byte)c)];
}
