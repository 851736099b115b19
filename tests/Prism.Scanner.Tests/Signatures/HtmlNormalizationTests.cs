using System.Text;
using Prism.Scanner.Signatures;
using Prism.Testing;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// <see cref="HtmlNormalizer"/> against the normalised files clamscan itself writes (<c>--leave-temps</c>):
/// nocomment.html and notags.html byte for byte, on crafted HTML (mixed case, entities named, numeric and hex, white
/// space runs, comments, scripts and styles, attributes quoted every way, bytes from 0x80, NUL and CR bytes) and on
/// seeded random HTML long enough to cross clamscan's 8 KiB read chunks.
/// </summary>
public sealed class HtmlNormalizationTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Crafted cases; each file starts with a tag so that clamscan types it HTML from its first bytes.</summary>
    private static readonly string[] s_crafted =
    [
        "<HTML><Head><TITLE>Hello   World</TITLE></head>\n<!-- a comment HERE -->\n<body BGCOLOR=\"#FFFFFF\" onLoad='foo()'>\nSome &amp; TEXT &lt;b&gt; &#65;&#x42; &nbsp; &copy; &euro; mixed\ttabs\n   and    spaces\n<a href=\"http://Example.COM/path\">Link</a>\n</body></html>\n",
        "<html><body>\n<p>A&amp;B &foo; &QUOT; &#X41;&#66;x &#233; &#8364; &#1234567; &unterminated text\n<!-- CoMMent <b>bold</b> -->after <!---->x <!doctype html>\n<img SRC=\"Pic.PNG\" alt='It's'>\n<div   class = Big  id='q' >caf\u00c3\u00a9 \u00e9t\u00e9 \u00e2\u0082\u00ac</div>\r\n</body></html>\n",
        "<html><script>var S = 'Ab';  /* x */ alert( S );</script><SCRIPT>\n<!--\nvar T=1;\n//-->\n</SCRIPT><style>P { Color: RED }</style>tail</html>",
        "<html><p title=\"a b\tc\" data-x=\"q\\\"r\" lang=EN-us checked>T&#0;x&#x;y&#;z &amp &lt</p>&#x3002;&#65294;&#xFE52;&#255;&#254;&#xFFFF;</html>&am",
        "<html>\u0001ctl\u001f\u007fdel &#x4a;&#X4B;&#0x41; &#99999999999999999999999; &#xfffffffffffffffffff; <a href=x>y</a><a href=''>z</a><img src=\"\">w</html>",
        "<html><a\nhref\n=\n\"U&amp;V\" title=x>L</a><A HREF=\"&#65;B\">M</A>< b >n< /b ><>o<!>p<!x>q</html>\r\n\r\n  ",
        "<html><p>\u00a1C\u00a1D\u00a1Oz \u00e3\u0080\u0082 \u00ef\u00bc\u008e \u00f0\u009f\u0098\u0080 end</p><p x=\"\u00e3\u0080\u0082\u00a1C\u00c3\u00a9\">v</p></html>",
        "<html><style>a{b:c}</style ><style>x</style>after<script language=javascript>if(a<b){c='d'}</script >post</html>",
        "<html><p>x</p><a href=\"Q\">",
        "<html><p>end &#65",
        "<html><p title=\"unterminated",
        "<html><script>var a = 'B';",
        "<HTML>" + new string('w', 9000) + "  TAIL <b>" + new string('v', 8190) + " x",
    ];

    [SkippableFact]
    public void Crafted_SameBuffersAsClamscan()
    {
        var files = new List<string>();
        for (int k = 0; k < s_crafted.Length; k++)
        {
            string path = _dir.File($"crafted{k:D2}.html");
            File.WriteAllBytes(path, Encoding.Latin1.GetBytes(s_crafted[k]));
            files.Add(path);
        }

        // A NUL byte inside a word and in white space.
        string nul = _dir.File("crafted-nul.html");
        File.WriteAllBytes(nul, Encoding.Latin1.GetBytes("<html><p>ab\0cd  \0 ef\0</p>&a\0mp;</html>"));
        files.Add(nul);

        AssertSameAsClamscan(files);
    }

    /// <summary>
    /// HTML in UTF-16 (with and without a byte-order mark, both byte orders, bytes that are not ASCII, an odd length,
    /// longer than one 64 KiB decoding page): clamscan decodes it its own way, then normalises.
    /// </summary>
    [SkippableFact]
    public void Utf16Html_SameBuffersAsClamscan()
    {
        string text = "<HTML><Body>Hello  World &amp; caf\u00e9 \u20ac &#65; <a href='Q.html'>x</a></Body></HTML>\n";
        var long16 = new StringBuilder("<html><body>");
        var rng = new Random(1302);
        while (long16.Length < 40_000)
        {
            long16.Append(rng.Next(4) switch { 0 => "Word ", 1 => "<b>Tag</b> ", 2 => "&lt;x&gt; ", _ => "\u00e9\u4e2d " });
        }

        long16.Append("</body></html>");
        // Measured: little-endian text is typed HTML by the decoded window and decoded first (cli_scanhtml_utf16); a
        // big-endian file with its byte-order mark is typed HTML directly and its raw bytes are normalised (the NULs
        // dropped by the normaliser's reader).
        var decodedCases = new (string Name, byte[] Data)[]
        {
            ("u16le-bom.html", [0xFF, 0xFE, .. Encoding.Unicode.GetBytes(text)]),
            ("u16le.html", Encoding.Unicode.GetBytes(text)),
            ("u16le-odd.html", [.. Encoding.Unicode.GetBytes(text), 0x41]),
            ("u16le-long.html", [0xFF, 0xFE, .. Encoding.Unicode.GetBytes(long16.ToString())]),
        };
        AssertSameAsClamscan(WriteAll(decodedCases), utf16: true);
        AssertSameAsClamscan(WriteAll([("u16be-bom.html", [0xFE, 0xFF, .. Encoding.BigEndianUnicode.GetBytes(text)])]));
    }

    private List<string> WriteAll((string Name, byte[] Data)[] cases)
    {
        var files = new List<string>();
        foreach ((string name, byte[] data) in cases)
        {
            string path = _dir.File(name);
            File.WriteAllBytes(path, data);
            files.Add(path);
        }

        return files;
    }

    /// <summary>Constructs whose output is not modelled are named, never normalised silently.</summary>
    [Theory]
    [InlineData("<html><img src=\"data:image/gif;base64,R0lGODlhAQABAAAAACw=\"></html>")]
    [InlineData("<html><img src=data:text/plain,abc></html>")]
    [InlineData("<html><script language=JScript.Encode>#@~^CAAAAA==x^#~@</script></html>")]
    [InlineData("<%@ language=VBScript.Encode %><html></html>")]
    public void UnmodelledConstruct_IsNamed(string html)
    {
        Assert.NotNull(HtmlNormalizer.Normalize(Encoding.Latin1.GetBytes(html)).Unmodelled);
    }

    [SkippableFact]
    public void SeededRandomHtml_AcrossReadChunks_SameBuffersAsClamscan()
    {
        var rng = new Random(1301);
        var files = new List<string>();
        for (int k = 0; k < 12; k++)
        {
            string path = _dir.File($"random{k:D2}.html");
            File.WriteAllBytes(path, RandomHtml(rng, k < 4 ? 3000 : 40_000, longWords: k % 3 == 0));
            files.Add(path);
        }

        AssertSameAsClamscan(files);
    }

    /// <summary>Seeded "syntax soup": random runs of the bytes and words the normaliser's states turn on.</summary>
    [SkippableFact]
    public void SeededSyntaxSoup_SameBuffersAsClamscan()
    {
        string[] pieces =
        [
            "<", ">", "</", "<!", "<!--", "-->", "&", "&#", "&#x", ";", "=", "'", "\"", "\\", " ", "  ", "\t", "\n", "\r", "\0",
            "a", "B", "x", "X", "0", "7", "f", "amp", "lt", "Alpha", "nbsp", "script", "/script", "style", "/style", "a href",
            "img src", "p", ":", "-", "_", "%@", "\u0001", "\u007f", "\u0080", "\u00a1", "C", "\u00c3\u00a9", "\u00e3\u0080\u0082", "\u00ff",
        ];
        var rng = new Random(1303);
        var files = new List<string>();
        for (int k = 0; k < 40; k++)
        {
            var sb = new StringBuilder("<html>");
            int size = rng.Next(200, k < 30 ? 3000 : 20_000);
            while (sb.Length < size)
            {
                sb.Append(pieces[rng.Next(pieces.Length)]);
            }

            string path = _dir.File($"soup{k:D2}.html");
            File.WriteAllBytes(path, Encoding.Latin1.GetBytes(sb.ToString()));
            files.Add(path);
        }

        AssertSameAsClamscan(files);
    }

    /// <summary>Every entity ClamAV knows decodes as clamscan decodes it (one file, each entity between markers).</summary>
    [SkippableFact]
    public void EntityTable_SameAsClamscan()
    {
        var sb = new StringBuilder("<html>");
        foreach (string name in HtmlEntities.All.Keys.Order(StringComparer.Ordinal))
        {
            sb.Append('|').Append('&').Append(name).Append(';');
        }

        sb.Append("|&notanentity;|&Amp;|</html>");
        string path = _dir.File("entities.html");
        File.WriteAllBytes(path, Encoding.Latin1.GetBytes(sb.ToString()));
        AssertSameAsClamscan([path]);
    }

    private void AssertSameAsClamscan(IReadOnlyList<string> files, bool utf16 = false)
    {
        Dictionary<string, (byte[] NoComment, byte[]? NoTags)> expected = ClamscanHtmlBuffers(files);
        foreach (string file in files)
        {
            byte[] data = File.ReadAllBytes(file);
            HtmlNormalization actual = HtmlNormalizer.Normalize(utf16 ? HtmlNormalizer.DecodeUtf16(data) : data);
            Assert.Null(actual.Unmodelled);
            (byte[] noComment, byte[]? noTags) = expected[file];
            AssertBytes(noComment, actual.NoComment, Path.GetFileName(file) + " nocomment.html");
            AssertBytes(noTags ?? [], actual.NoTags, Path.GetFileName(file) + " notags.html");
        }
    }

    private static void AssertBytes(byte[] expected, byte[] actual, string what)
    {
        int diff = 0;
        while (diff < expected.Length && diff < actual.Length && expected[diff] == actual[diff])
        {
            diff++;
        }

        if (diff == expected.Length && diff == actual.Length)
        {
            return;
        }

        int from = Math.Max(0, diff - 40);
        Assert.Fail(
            $"{what}: first difference at byte {diff} (clamscan {expected.Length} bytes, Prism {actual.Length})\n" +
            $"clamscan: {Show(expected, from, diff + 40)}\nprism:    {Show(actual, from, diff + 40)}");
    }

    private static string Show(byte[] data, int from, int to)
    {
        var sb = new StringBuilder();
        for (int k = from; k < Math.Min(to, data.Length); k++)
        {
            byte b = data[k];
            sb.Append(b is >= 0x20 and < 0x7F ? ((char)b).ToString() : $"\\x{b:X2}");
        }

        return sb.ToString();
    }

    /// <summary>
    /// Runs clamscan with <c>--leave-temps</c> over the files and returns, per file, the nocomment.html and notags.html
    /// it wrote (the html-tmp directory directly under the file's own layer directory).
    /// </summary>
    private Dictionary<string, (byte[] NoComment, byte[]? NoTags)> ClamscanHtmlBuffers(IReadOnlyList<string> files)
    {
        string clamscan = Oracle.Require("clamscan", "clamav");
        string temp = Directory.CreateDirectory(_dir.File("clamtmp-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        string db = _dir.File("dummy.ndb");
        File.WriteAllText(db, "PrismDummy:0:*:707269736d64756d6d79\n");
        var args = new List<string> { "--no-summary", "--bytecode=no", "--leave-temps", "--tempdir", temp, "-d", db };
        args.AddRange(files);
        ProcessResult r = Oracle.Run(clamscan, args, check: false);
        Assert.True(r.ExitCode == 0, $"clamscan exited {r.ExitCode}: {r.StdErr}{r.StdOut}");

        var result = new Dictionary<string, (byte[], byte[]?)>();
        foreach (string file in files)
        {
            string name = Path.GetFileName(file);
            // <tempdir>/<date>-<name>.<id>/<name>.<id>/html-tmp.<id>/
            string[] layers = Directory.GetDirectories(temp, "*-" + name + ".*");
            Assert.True(layers.Length == 1, $"{name}: {layers.Length} clamscan layer directories");
            string[] html = Directory.GetDirectories(layers[0], "html-tmp.*", SearchOption.AllDirectories)
                .Where(d => Path.GetFileName(Path.GetDirectoryName(d)!).StartsWith(name + ".", StringComparison.Ordinal))
                .ToArray();
            Assert.True(html.Length == 1, $"{name}: clamscan did not normalise it as HTML ({html.Length} html-tmp directories)");
            string noTags = Path.Combine(html[0], "notags.html");
            result[file] = (File.ReadAllBytes(Path.Combine(html[0], "nocomment.html")), File.Exists(noTags) ? File.ReadAllBytes(noTags) : null);
        }

        return result;
    }

    /// <summary>Random HTML: tags with attributes quoted every way, text, entities, comments, scripts, styles, runs of
    /// white space, CR/LF, 8-bit bytes; with <paramref name="longWords"/>, words longer than clamscan's read chunk.</summary>
    private static byte[] RandomHtml(Random rng, int size, bool longWords)
    {
        string[] tags = ["p", "DIV", "Span", "a", "IMG", "b", "table", "td", "br", "font"];
        string[] attrs = ["href", "SRC", "Class", "id", "title", "style", "onclick", "alt"];
        string[] entities = ["&amp;", "&LT;", "&gt;", "&quot;", "&nbsp;", "&eacute;", "&Alpha;", "&hellip;", "&#65;", "&#x6A;", "&#8364;", "&#x10FFFF;", "&bogus;", "&amp", "&#12", "&"];
        string[] words = ["Hello", "WORLD", "foo", "Bar", "x", "Lorem", "IPSUM", "a<b", "c>d", "'q'", "\"dq\"", "\\"];
        string[] spaces = [" ", "  ", "\t", "\n", "\r\n", " \n ", "   \t  "];
        var sb = new StringBuilder("<html>");
        while (sb.Length < size)
        {
            switch (rng.Next(14))
            {
                case 0:
                case 1:
                    {
                        sb.Append('<').Append(tags[rng.Next(tags.Length)]);
                        int n = rng.Next(4);
                        for (int k = 0; k < n; k++)
                        {
                            sb.Append(spaces[rng.Next(spaces.Length)]).Append(attrs[rng.Next(attrs.Length)]);
                            string value = words[rng.Next(words.Length)] + (rng.Next(3) == 0 ? entities[rng.Next(entities.Length)] : string.Empty);
                            switch (rng.Next(5))
                            {
                                case 0: sb.Append("=\"").Append(value).Append('"'); break;
                                case 1: sb.Append(" = '").Append(value).Append('\''); break;
                                case 2: sb.Append('=').Append(value.Replace(">", string.Empty, StringComparison.Ordinal)); break;
                                case 3: sb.Append("=\"").Append(value).Append(' ').Append(value).Append('"'); break;
                                default: break;
                            }
                        }

                        sb.Append(rng.Next(6) == 0 ? " >" : ">");
                        break;
                    }

                case 2:
                    sb.Append("</").Append(tags[rng.Next(tags.Length)]).Append('>');
                    break;
                case 3:
                    sb.Append(entities[rng.Next(entities.Length)]);
                    break;
                case 4:
                    sb.Append("<!-- ").Append(words[rng.Next(words.Length)]).Append(rng.Next(2) == 0 ? " <b>x</b> -->" : " -->");
                    break;
                case 5:
                    sb.Append(rng.Next(2) == 0 ? "<script>var A = 'B';\n if (a < b) { c = \"D\"; }</script>" : "<style>P { Color: Red }</style>");
                    break;
                case 6:
                    sb.Append(spaces[rng.Next(spaces.Length)]);
                    break;
                case 7:
                    sb.Append((char)(0x80 + rng.Next(0x80)));
                    if (rng.Next(2) == 0)
                    {
                        sb.Append((char)(0x80 + rng.Next(0x40)));
                    }

                    break;
                case 8 when longWords && rng.Next(4) == 0:
                    // A word longer than clamscan's read chunk, so a chunk ends without white space to cut back to.
                    sb.Append('W', 8000 + rng.Next(1000)).Append(rng.Next(2) == 0 ? "  \n  x" : "<p>");
                    break;
                case 9 when rng.Next(3) == 0:
                    sb.Append(rng.Next(3) switch { 0 => "a\0b", 1 => " \0 ", _ => "&am\0p;" });
                    break;
                case 10 when rng.Next(3) == 0:
                    sb.Append(rng.Next(3) switch { 0 => "<a href=\"Http://X.Y/Z\">", 1 => "<img src=P.GIF>", _ => "<p a=\"x y\" b='\\'' c>" });
                    break;
                default:
                    sb.Append(words[rng.Next(words.Length)]).Append(spaces[rng.Next(3)]);
                    break;
            }
        }

        sb.Append("</html>\n");
        return Encoding.Latin1.GetBytes(sb.ToString());
    }
}
