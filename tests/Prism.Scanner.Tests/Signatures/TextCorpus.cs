using System.Globalization;
using System.Text;
using Prism.Testing;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// Seeded text files and a database for clamscan's text typing and normalised rescan: ASCII (mixed case, runs of
/// spaces, tabs, CR/LF, vertical tabs and form feeds, ISO-8859 bytes inside words, control bytes past the typing
/// window, entities and comments), UTF-8, UTF-16LE with a byte-order mark, UTF-16BE without, random data (which
/// ClamAV mostly types as UTF-16BE) and binary data with planted phrases, HTML decoys (a tag in the first 1024 bytes,
/// a tag later, "&lt;a " with a far "HREF", and near misses: "href" alone, "&lt;b&gt;", a split "&lt;scr ipt"), files
/// with another type by a content rule, and a text of several hundred KiB that crosses clamscan's 128 KiB rescan
/// buffers. The database signs phrases in their normalised form under target types 0 and 7 (ndb and ldb, with
/// wildcards, alternatives, jumps, absolute and EOF-n offsets, counts, FileSize and a PCRE), in raw mixed-case
/// forms under target 0, and the examples of ClamAV's signature documentation. With <c>whole</c>, a target-7 EOF-n
/// signature makes clamscan normalise the whole file and scan it as a file.
/// </summary>
internal sealed class TextCorpus : ISignatureCorpus
{
    private static readonly string[] s_words =
    [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima",
        "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
    ];

    private static readonly string[] s_spaces = [" ", "  ", "\t", "\r\n", "\n\n", " \v ", "\f", " \t \r\n "];

    private readonly Random _rng;
    private readonly StringBuilder _ndb = new();
    private readonly StringBuilder _ldb = new();
    private readonly List<string> _phrases = [];
    private int _id;

    private TextCorpus(int seed) => _rng = new Random(seed);

    public string DatabaseDirectory { get; private set; } = string.Empty;

    public List<string> Files { get; } = [];

    public static TextCorpus Create(TempDir dir, int seed, bool whole)
    {
        var c = new TextCorpus(seed);
        c.DatabaseDirectory = Directory.CreateDirectory(dir.File($"db{seed}")).FullName;
        c.BuildSignatures(whole);
        c.BuildFiles(Directory.CreateDirectory(dir.File($"files{seed}")).FullName);
        File.WriteAllText(Path.Combine(c.DatabaseDirectory, "text.ndb"), c._ndb.ToString());
        File.WriteAllText(Path.Combine(c.DatabaseDirectory, "text.ldb"), c._ldb.ToString());
        return c;
    }

    private static string Hex(string s) => Convert.ToHexStringLower(Encoding.Latin1.GetBytes(s));

    private string Word() => s_words[_rng.Next(s_words.Length)];

    private void BuildSignatures(bool whole)
    {
        // ClamAV's documentation examples (ExtendedSignatures, LogicalSignatures), under target types 0 and 7.
        _ndb.Append("Doc.Example0:0:*:6b6f6c6f{4-8}6d697465\n");
        _ndb.Append("Doc.Example7:7:*:6f7363617220(7061|6b69)\n");
        _ldb.Append("Doc.Logical7;Target:7;(0&1)|2;616c706861;627261766f;7a7a7a7a7a\n");
        _ldb.Append("Doc.Count;Target:0;0>1,1;6a756c696574\n");

        // A long target-7 signature fixes clamscan's maxpatlen (the rescan buffer's carried tail) at 60 bytes.
        _ndb.Append(CultureInfo.InvariantCulture, $"Long7:7:*:{Hex("zulu zulu zulu zulu zulu zulu zulu zulu zulu zulu zulu zulu")}\n");
        for (int i = 0; i < 24; i++)
        {
            string phrase = $"{Word()} {Word()}" + (_rng.Next(2) == 0 ? " " + Word() : string.Empty);
            _phrases.Add(phrase);
            string hex = Hex(phrase);
            int form = _rng.Next(6);
            string body = form switch
            {
                0 => hex,
                1 => hex.Replace("20", "??", StringComparison.Ordinal),
                2 => hex.Replace("20", "(20|2d)", StringComparison.Ordinal),
                3 => hex.Replace("20", "{0-2}", StringComparison.Ordinal),
                4 => hex.Replace("20", "*", StringComparison.Ordinal),
                _ => hex[..(hex.Length / 2 / 2 * 2)] + "*" + hex[(hex.Length / 2 / 2 * 2)..],
            };
            _ndb.Append(CultureInfo.InvariantCulture, $"N7.{i}:7:*:{body}\n");
            _ndb.Append(CultureInfo.InvariantCulture, $"N0.{i}:0:*:{body}\n");

            // The phrase as typed in a raw file: only the raw scan can match it.
            string raw = string.Join("  ", phrase.Split(' ').Select(w => char.ToUpperInvariant(w[0]) + w[1..]));
            _ndb.Append(CultureInfo.InvariantCulture, $"R0.{i}:0:*:{Hex(raw)}\n");
            _ldb.Append(CultureInfo.InvariantCulture, $"L7.{i};Target:7;0&1;{Hex(phrase.Split(' ')[0])};{Hex(phrase.Split(' ')[1])}\n");
            _ldb.Append(CultureInfo.InvariantCulture, $"C0.{i};Target:0;0>{_rng.Next(1, 4)};{Hex(phrase.Split(' ')[0])}\n");
            _ldb.Append(CultureInfo.InvariantCulture, $"E0.{i};Target:0;0={_rng.Next(1, 3)};{Hex(phrase.Split(' ')[1])}\n");
        }

        // Offsets: absolute in the normalised text (files start with their first word), EOF-n (raw only when buffered).
        foreach (string w in s_words.Take(8))
        {
            _ndb.Append(CultureInfo.InvariantCulture, $"A7.{w}:7:0:{Hex(w + " ")}\n");
            _ndb.Append(CultureInfo.InvariantCulture, $"A0.{w}:0:0:{Hex(w + " ")}\n");
            _ndb.Append(CultureInfo.InvariantCulture, $"A0r.{w}:0:0,4:{Hex(w)}\n");
            _ndb.Append(CultureInfo.InvariantCulture, $"Eof0.{w}:0:EOF-{w.Length + 1}:{Hex(w + " ")}\n");
        }

        _ldb.Append("Size7;Engine:81-255,Target:7,FileSize:0-4000;0;6b696c6f\n");
        _ldb.Append("Size0;Engine:81-255,Target:0,FileSize:4001-999999999;0;6b696c6f\n");
        _ldb.Append("Pcre7;Target:7;0&1;6c696d61;0/lima\\x20[a-z]+o\\x20/\n");
        // Target type 3 (HTML): clamscan applies them to the normalisations of HTML files only.
        foreach (string w in s_words.Take(3))
        {
            _ndb.Append(CultureInfo.InvariantCulture, $"H3.{w}:3:*:{Hex(w)}\n");
        }

        _ldb.Append(CultureInfo.InvariantCulture, $"H3L;Target:3;0;{Hex("alpha")}\n");
        _ndb.Append("Entity7:7:*:26616d703b\n");
        _ndb.Append("Comment7:7:*:3c212d2d20\n");
        _ndb.Append("Del7:7:*:617e7f62\n");
        if (whole)
        {
            _ndb.Append(CultureInfo.InvariantCulture, $"Whole7:7:EOF-6:{Hex("tango ")}\n");
        }
    }

    /// <summary>Text of random words in random case separated by random white-space runs, with optional extras.</summary>
    private string Text(int length, bool extras)
    {
        var sb = new StringBuilder(s_words[_rng.Next(8)]);
        while (sb.Length < length)
        {
            sb.Append(s_spaces[_rng.Next(s_spaces.Length)]);
            int r = _rng.Next(40);
            string w = r < 8 ? _phrases[_rng.Next(_phrases.Count)] : Word();
            w = (r % 3) switch { 0 => w.ToUpperInvariant(), 1 => char.ToUpperInvariant(w[0]) + w[1..], _ => w };
            if (extras && r == 9)
            {
                w = "&amp; " + w;
            }
            else if (extras && r == 10)
            {
                w = "<!-- " + w + " -->";
            }
            else if (extras && r == 11)
            {
                w = w[..2] + "\u00e9" + w[2..];
            }
            else if (extras && r == 12)
            {
                w = "a~\u007fb";
            }

            sb.Append(w);
        }

        return sb.ToString();
    }

    private void Add(string dir, string name, byte[] data)
    {
        string path = Path.Combine(dir, $"{_id++:D2}.{name}");
        File.WriteAllBytes(path, data);
        Files.Add(path);
    }

    private void BuildFiles(string dir)
    {
        for (int i = 0; i < 3; i++)
        {
            Add(dir, "ascii", Encoding.Latin1.GetBytes(Text(_rng.Next(200, 6000), extras: true)));
            Add(dir, "plain", Encoding.Latin1.GetBytes(Text(_rng.Next(20, 900), extras: false)));
        }

        // Control bytes past the typing window keep the file ASCII text; inside it, they make it UTF-16 or binary.
        string text = Text(3000, extras: true);
        Add(dir, "ctrllate", Encoding.Latin1.GetBytes(text[..1500] + "\u0001\u0002" + text[1500..] + "\u0000"));
        Add(dir, "ctrlhead", Encoding.Latin1.GetBytes(text[..100] + "\u0001" + text[100..]));
        Add(dir, "utf8", Encoding.UTF8.GetBytes(Text(2500, extras: false).Replace("o", "\u00f6o", StringComparison.Ordinal)));
        Add(dir, "utf16le", [0xFF, 0xFE, .. Encoding.Unicode.GetBytes(Text(2500, extras: true))]);
        Add(dir, "utf16be", Encoding.BigEndianUnicode.GetBytes(Text(2500, extras: false)));
        for (int i = 0; i < 3; i++)
        {
            byte[] random = Planted(_rng.Next(1500, 20000));
            Add(dir, "random", random);
            byte[] binary = Planted(_rng.Next(1500, 20000));
            binary[2] = 0x00;
            binary[3] = 0x01;
            Add(dir, "binary", binary);
        }

        // HTML: clamscan normalises these as HTML instead of text (a script, a tag past the typing window, "<a " and a far "HREF").
        Add(dir, "htmlhead", Encoding.Latin1.GetBytes(Text(300, false) + "<script>" + Text(2000, false)));
        Add(dir, "htmllate", Encoding.Latin1.GetBytes(Text(3000, false) + "<TABLE>" + Text(500, false)));
        Add(dir, "htmlhref", Encoding.Latin1.GetBytes(Text(200, false) + "<a x " + Text(3000, false) + "HrEF" + Text(100, false)));

        // Near misses: still text.
        Add(dir, "hrefonly", Encoding.Latin1.GetBytes(Text(200, false) + " HREF <b>bold</b> <scr ipt " + Text(3000, true)));
        Add(dir, "anchorhr", Encoding.Latin1.GetBytes(Text(200, false) + "HREF <a x" + Text(2000, false)));

        // Another type by a content rule in the first 1024 bytes (an embedded PE header, mail headers): no rescan.
        Add(dir, "embeddedpe", Encoding.Latin1.GetBytes("ab MZ" + new string('x', 70) + "PE\0\0 " + Text(2000, false)));
        Add(dir, "pyc", Encoding.Latin1.GetBytes("a\r\r\n" + Text(2000, false)));

        // Several 128 KiB rescan buffers: white-space runs and phrases at every position, incl. the carried tails.
        Add(dir, "big", Encoding.Latin1.GetBytes(Text(_rng.Next(300_000, 420_000), extras: true)));
    }

    /// <summary>Random bytes with phrases planted in random case and spacing.</summary>
    private byte[] Planted(int length)
    {
        byte[] data = new byte[length];
        _rng.NextBytes(data);
        for (int k = 0; k < 6; k++)
        {
            byte[] p = Encoding.Latin1.GetBytes(Text(40, extras: false));
            if (p.Length < length - 8)
            {
                p.CopyTo(data, _rng.Next(4, length - p.Length));
            }
        }

        return data;
    }
}
