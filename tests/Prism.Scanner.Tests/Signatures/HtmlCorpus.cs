using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Prism.Scanner.Signatures;
using Prism.Testing;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// Seeded HTML files and a database for clamscan's scan of HTML (target type 3): pages typed HTML by a tag in their
/// first 1024 bytes (random tag case, attributes quoted every way, entities named, numeric and bogus, white-space
/// runs, comments ended by their first '&gt;', links and images whose URLs notags.html keeps in their original case,
/// bytes from 0x80), ASCII text whose tag lies past byte 1024 (raw target-0 scan kept), UTF-16LE pages with and
/// without a byte-order mark and UTF-16BE with one, tiny pages, and decoys: the same phrases in text that is not HTML,
/// near-miss tags. The database signs phrases as nocomment.html and notags.html spell them under target types 3 and 0
/// (ndb with wildcards, alternatives, jumps, offsets 0 and EOF-n; ldb with counts, FileSize, a PCRE, and
/// subsignatures that only meet across buffers), their raw spelling under target 0, target 7 decoys, and hash
/// signatures of the raw files and of normalised buffers (md5 in .hdb, sha256 in .hsb), and .fp allow-list entries
/// of a raw page and of a page's nocomment.html.
/// </summary>
internal sealed class HtmlCorpus : ISignatureCorpus
{
    private static readonly string[] s_words =
    [
        "amber", "basalt", "cobalt", "dune", "ember", "fjord", "garnet", "heath", "iris", "jasper", "krill", "lagoon",
        "marl", "nacre", "onyx", "pumice", "quartz", "rime", "slate", "tundra",
    ];

    private static readonly string[] s_spaces = [" ", "   ", "\t", "\r\n", "\n", " \n\t ", "\f"];

    private static readonly string[] s_tags = ["<HTML>", "<html>", "<Html>", "<HEAD>", "<head>", "<TABLE border=1>", "<img src=x.png>", "<IFRAME src='F.html'>"];

    private readonly Random _rng;
    private readonly StringBuilder _ndb = new();
    private readonly StringBuilder _ldb = new();
    private readonly StringBuilder _hdb = new();
    private readonly StringBuilder _hsb = new();
    private readonly StringBuilder _fp = new();
    private readonly List<string> _phrases = [];
    private int _id;

    private HtmlCorpus(int seed) => _rng = new Random(seed);

    public string DatabaseDirectory { get; private set; } = string.Empty;

    public List<string> Files { get; } = [];

    public static HtmlCorpus Create(TempDir dir, int seed)
    {
        var c = new HtmlCorpus(seed);
        c.DatabaseDirectory = Directory.CreateDirectory(dir.File($"hdb{seed}")).FullName;
        c.BuildSignatures();
        c.BuildFiles(Directory.CreateDirectory(dir.File($"hfiles{seed}")).FullName);
        File.WriteAllText(Path.Combine(c.DatabaseDirectory, "html.ndb"), c._ndb.ToString());
        File.WriteAllText(Path.Combine(c.DatabaseDirectory, "html.ldb"), c._ldb.ToString());
        File.WriteAllText(Path.Combine(c.DatabaseDirectory, "html.hdb"), c._hdb.ToString());
        File.WriteAllText(Path.Combine(c.DatabaseDirectory, "html.hsb"), c._hsb.ToString());
        File.WriteAllText(Path.Combine(c.DatabaseDirectory, "html.fp"), c._fp.ToString());
        return c;
    }

    private static string Hex(string s) => Convert.ToHexStringLower(Encoding.Latin1.GetBytes(s));

    private string Word() => s_words[_rng.Next(s_words.Length)];

    private void BuildSignatures()
    {
        // ClamAV's documentation examples, under target type 3.
        _ndb.Append("Doc.Html3:3:*:3c696672616d65{0-10}7372633d\n");
        _ldb.Append("Doc.HtmlLogical;Target:3;(0|1)&2;3c696d67;3c696672616d65;7372633d\n");
        for (int i = 0; i < 20; i++)
        {
            string phrase = $"{Word()} {Word()}" + (_rng.Next(2) == 0 ? " " + Word() : string.Empty);
            _phrases.Add(phrase);
            string hex = Hex(phrase);
            string body = _rng.Next(5) switch
            {
                0 => hex,
                1 => hex.Replace("20", "??", StringComparison.Ordinal),
                2 => hex.Replace("20", "(20|2d)", StringComparison.Ordinal),
                3 => hex.Replace("20", "{0-2}", StringComparison.Ordinal),
                _ => hex.Replace("20", "*", StringComparison.Ordinal),
            };
            _ndb.Append(CultureInfo.InvariantCulture, $"T3.{i}:3:*:{body}\n");
            _ndb.Append(CultureInfo.InvariantCulture, $"T0.{i}:0:*:{body}\n");
            _ndb.Append(CultureInfo.InvariantCulture, $"T7.{i}:7:*:{body}\n");
            string raw = string.Join("  ", phrase.Split(' ').Select(w => char.ToUpperInvariant(w[0]) + w[1..]));
            _ndb.Append(CultureInfo.InvariantCulture, $"R0.{i}:0:*:{Hex(raw)}\n");
            _ndb.Append(CultureInfo.InvariantCulture, $"R3.{i}:3:*:{Hex(raw)}\n");
            string[] w2 = phrase.Split(' ');
            _ldb.Append(CultureInfo.InvariantCulture, $"L3.{i};Target:3;0&1;{Hex(w2[0])};{Hex(w2[1])}\n");
            _ldb.Append(CultureInfo.InvariantCulture, $"C3.{i};Target:3;0>{_rng.Next(1, 4)};{Hex(w2[0])}\n");
            _ldb.Append(CultureInfo.InvariantCulture, $"E0.{i};Target:0;0={_rng.Next(1, 3)};{Hex(w2[1])}\n");
        }

        // Entities decoded in nocomment.html only; the URL's original case in notags.html only; across the two: never.
        _ndb.Append(CultureInfo.InvariantCulture, $"Ent3:3:*:{Hex("salt & pepper")}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"EntTags3:3:*:{Hex("salt pepper")}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"EntRaw0:0:*:{Hex("salt &amp; pepper")}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"Nbsp3:3:*:{Hex("x\u00a0y")}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"Url3:3:*:{Hex("HTTP://Evil.Example/Payload")}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"UrlLower3:3:*:{Hex("http://evil.example/payload")}\n");
        _ldb.Append(CultureInfo.InvariantCulture, $"Cross3;Target:3;0&1;{Hex("HTTP://Evil")};{Hex("<a href=")}\n");
        _ldb.Append(CultureInfo.InvariantCulture, $"Cross0;Target:0;0&1;{Hex("HTTP://Evil")};{Hex("<a href=")}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"Comment3:3:*:{Hex("<!--")}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"Hidden3:3:*:{Hex("secret</b>-->")}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"Attr3:3:*:{Hex("<div class=big id=\"q\">")}\n");

        // Offsets per buffer: nocomment.html starts with the first tag, notags.html with a space; EOF-n at each end.
        _ndb.Append(CultureInfo.InvariantCulture, $"Start3:3:0:{Hex("<html>")}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"Start0:0:0:{Hex("<html>")}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"StartRaw0:0:0:{Hex("<HTML>")}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"TagsStart3:3:0:20{Hex("the")}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"End3:3:EOF-7:{Hex("</html>")}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"End0:0:EOF-7:{Hex("</html>")}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"TagsEnd3:3:EOF-4:{Hex("end ")}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"Late0:0:*:{Hex("<TABLE>")}\n");
        _ldb.Append("Small3;Engine:81-255,Target:3,FileSize:0-400;0;3c68746d6c3e\n");
        _ldb.Append("Large3;Engine:81-255,Target:3,FileSize:401-99999999;0;3c68746d6c3e\n");
        _ldb.Append(CultureInfo.InvariantCulture, $"Pcre3;Target:3;0&1;{Hex("quartz")};0/quartz\\x20[a-z]+t\\x20/\n");
        _ldb.Append(CultureInfo.InvariantCulture, $"Text7;Target:7;0;{Hex("the")}\n");

        // The javascript buffer: scanned with targets 0 and 3, then 0 and 7; renamed declarations, folded strings.
        _ndb.Append(CultureInfo.InvariantCulture, $"Js7:7:*:{Hex("document.write(\"")}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"Js3:3:*:{Hex("var n000=")}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"JsEnd7:7:EOF-9:{Hex("</script>")}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"JsStart0:0:0:{Hex("<script>")}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"JsFold0:0:*:{Hex("\"<b>evil</b>\"")}\n");
        _ldb.Append(CultureInfo.InvariantCulture, $"JsL7;Target:7;0&1;{Hex("eval")};{Hex("n001")}\n");
    }

    /// <summary>Body text: phrases and words in random case, random white-space runs, entities, comments, links, attributes.</summary>
    private string Body(int length)
    {
        var sb = new StringBuilder();
        while (sb.Length < length)
        {
            sb.Append(s_spaces[_rng.Next(s_spaces.Length)]);
            int r = _rng.Next(30);
            string w = r < 10 ? _phrases[_rng.Next(_phrases.Count)] : Word();
            w = (r % 3) switch
            {
                0 => w.ToUpperInvariant(),
                1 => string.Join("  ", w.Split(' ').Select(x => char.ToUpperInvariant(x[0]) + x[1..])),
                _ => w,
            };
            w = r switch
            {
                10 => "Salt &amp; Pepper",
                11 => "<!-- <b>SECRET</b> --> " + w,
                12 => "<a href=\"HTTP://Evil.Example/Payload\">" + w + "</a>",
                13 => "<div   class = Big  id='q' >" + w + "</div>",
                14 => "x&nbsp;y &#65;&#x42; &bogus; &QUOT; " + w,
                15 => "<P>" + w + "</P>",
                16 => "<IMG SRC='Pic.PNG' ALT=\"" + w + "\">",
                17 => "caf\u00e9 " + w,
                18 => "<iframe  src=\"z.html\"></iframe>",
                _ => w,
            };
            sb.Append(w);
        }

        return sb.ToString();
    }

    private string Page(int length) =>
        s_tags[_rng.Next(s_tags.Length)] + "<Head><Title>The " + Word() + "</Title></Head><BODY>" + Body(length) + " end </BODY></HTML>";

    private string Add(string dir, string name, byte[] data)
    {
        string path = Path.Combine(dir, $"{_id++:D2}.{name}");
        File.WriteAllBytes(path, data);
        Files.Add(path);
        return path;
    }

    private void BuildFiles(string dir)
    {
        for (int i = 0; i < 8; i++)
        {
            byte[] page = Encoding.Latin1.GetBytes(Page(_rng.Next(100, 6000)));
            Add(dir, "page", page);
            if (i < 3)
            {
                // The raw file's hash must not match (clamscan does not scan it); its buffers' hashes do.
                AddHashes(page, hashRaw: true);
            }
            else if (i == 3)
            {
                // An allow-listed raw file is clean although it is not scanned raw; an allow-listed buffer clears only its names.
                AllowList(page, "FpRaw");
            }
            else if (i == 4)
            {
                AllowList(HtmlNormalizer.Normalize(page).NoComment, "FpNoComment");
            }
        }

        Add(dir, "exact", Encoding.Latin1.GetBytes("<html>the " + _phrases[0] + " end </html>"));
        Add(dir, "tiny", Encoding.Latin1.GetBytes("<html>"));
        Add(dir, "tinytags", Encoding.Latin1.GetBytes("<HTML>x"));
        Add(dir, "big", Encoding.Latin1.GetBytes(Page(_rng.Next(40_000, 90_000))));
        Add(dir, "leadingws", Encoding.Latin1.GetBytes("\r\n   \t<HTML>  <body>The " + Body(800) + " end </body></html>"));

        // A tag only past byte 1024: ASCII text, scanned raw with target 0 and its normalisations too.
        for (int i = 0; i < 3; i++)
        {
            string text = Body(1200).Replace("<", "(", StringComparison.Ordinal).Replace("&", "+", StringComparison.Ordinal);
            byte[] late = Encoding.Latin1.GetBytes("The " + text + " <TABLE>" + Body(_rng.Next(200, 3000)) + " end </TABLE>");
            Add(dir, "late", late);
            if (i == 0)
            {
                AddHashes(late, hashRaw: true);
            }
        }

        // Near misses: text that is not HTML ("<b>", "<scr ipt", "href" alone), the same phrases.
        string plain = Body(2500).Replace("<", "(", StringComparison.Ordinal);
        Add(dir, "text", Encoding.Latin1.GetBytes("The " + plain + " <b>bold</b> <scr ipt> HREF end "));
        Add(dir, "binary", [0x00, 0x01, 0x02, 0x03, .. Encoding.Latin1.GetBytes("<html><body>" + Body(900) + "</body></html>")]);

        // Scripts: declarations, string folding, unescape, eval, comments, a script left open.
        for (int i = 0; i < 4; i++)
        {
            string script = "<script>\n// " + Word() + "\nvar " + Word() + " = \"" + _phrases[_rng.Next(_phrases.Count)] + "\" + ' T';\n"
                + "document.write(unescape('%3Cb%3E' + 'Evil%3C/b%3E'));\nfunction F(a, b) { var c = a + b; return c; }\n"
                + (i % 2 == 0 ? "eval(\"var q = '" + Word() + "';\");\n" : string.Empty) + "/* " + Word() + " */ x = 1.5e3;\n"
                + (i == 3 ? string.Empty : "</SCRIPT>");
            byte[] page = Encoding.Latin1.GetBytes(Page(_rng.Next(100, 1500)).Replace("<BODY>", "<BODY>" + script, StringComparison.Ordinal));
            Add(dir, "script", page);
            if (i == 0)
            {
                byte[] js = HtmlNormalizer.Normalize(page).JavaScript!;
#pragma warning disable CA5351 // ClamAV's .hdb names files by MD5.
                _hdb.Append(CultureInfo.InvariantCulture, $"{Convert.ToHexStringLower(MD5.HashData(js))}:{js.Length}:HJs.{_id - 1}\n");
#pragma warning restore CA5351
            }
        }

        // UTF-16: little-endian with and without its mark (decoded b0 + 16 * b1), big-endian with its mark (raw).
        string u = Page(_rng.Next(500, 3000));
        Add(dir, "utf16le", [0xFF, 0xFE, .. Encoding.Unicode.GetBytes(u)]);
        Add(dir, "utf16lenobom", Encoding.Unicode.GetBytes(Page(_rng.Next(500, 3000))));
        Add(dir, "utf16be", [0xFE, 0xFF, .. Encoding.BigEndianUnicode.GetBytes(Page(_rng.Next(500, 3000)))]);
        string scripted = Page(_rng.Next(300, 2000)).Replace("<BODY>", "<BODY><script>var " + Word() + " = 'Document'; document.write(\"A\" + \"b\");</script>", StringComparison.Ordinal);
        Add(dir, "utf16lescript", [0xFF, 0xFE, .. Encoding.Unicode.GetBytes(scripted)]);
    }

#pragma warning disable CA5351 // ClamAV's .fp names files by MD5.
    private void AllowList(byte[] data, string name) =>
        _fp.Append(CultureInfo.InvariantCulture, $"{Convert.ToHexStringLower(MD5.HashData(data))}:{data.Length}:{name}\n");
#pragma warning restore CA5351

    /// <summary>.hdb (md5) and .hsb (sha256) signatures of the file and of its normalised buffers.</summary>
    private void AddHashes(byte[] file, bool hashRaw)
    {
        int n = _id - 1;
        HtmlNormalization normalized = HtmlNormalizer.Normalize(file);
        if (hashRaw)
        {
#pragma warning disable CA5351 // ClamAV's .hdb names files by MD5.
            _hdb.Append(CultureInfo.InvariantCulture, $"{Convert.ToHexStringLower(MD5.HashData(file))}:{file.Length}:HRaw.{n}\n");
        }

        _hdb.Append(CultureInfo.InvariantCulture, $"{Convert.ToHexStringLower(MD5.HashData(normalized.NoComment))}:{normalized.NoComment.Length}:HNoComment.{n}\n");
#pragma warning restore CA5351
        _hsb.Append(CultureInfo.InvariantCulture, $"{Convert.ToHexStringLower(SHA256.HashData(normalized.NoTags))}:{normalized.NoTags.Length}:HNoTags.{n}\n");
    }
}
