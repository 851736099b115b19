using System.Text;
using Prism.Scanner.Signatures;
using Prism.Testing;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// <see cref="JsNormalizer"/> (through <see cref="HtmlNormalizer"/>) against the <c>javascript</c> file clamscan itself
/// writes (<c>--leave-temps</c>), byte for byte: crafted scripts (declarations and scopes, string folding, escapes,
/// <c>unescape</c>, <c>eval</c>, numbers, comments, regexes, keywords, member names, several scripts, a script left
/// open) and seeded random scripts, some longer than clamscan's 8 KiB read chunks.
/// </summary>
public sealed class JsNormalizationTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly string[] s_crafted =
    [
        "<html><script>\n// line comment\n var Alpha = 10, beta=\"Two\" + 'Three';  /* block */\nfunction Foo(x, Y) { var z = x+Y*2; return z; }  Foo(Alpha, beta);\ndocument.write(unescape(\"%3Cb%3EHi%3C/b%3E\"));  eval(\"var q = 1;\");\nif (a<b && c>d) { e = 0x1F; f = 1.5e3; g = /re+gex/gi; }\n</script><SCRIPT>var s = String.fromCharCode(72,105); alert(s)</SCRIPT></html>",
        "<html><script>var int = 1, x = [1,2,3], y = {a:1, b:2}; var S = \"a\\x41\\u0042\\n\\t\\0\\q\\\\\" + \"x\"; function(){ var k; k++; } x.Foo = y.Bar;</script></html>",
        "<html><script language=javascript>var a=1;var a=2;a++;function f(a,b,c){var d=a;{var e=b}return d+e}f(1,2,3);var $x_1=.5,_y=1.,z=123456789012,w=1e21,v=0.00001234,u=100000,t=1000000;</script> after</html>",
        "<html><script>eval('function g(p){return p*2}'); g(3); eval(unescape('%76ar%20h%3D1%3B')); var q = unescape('%u0041%u00e9%u20ac%00%4'); \"a\"+\"b\"+\"c\"+d+\"e\";</script><script>var second = 'x'</script></html>",
        "<html><script>var s = 'unterminated string <b>; var t = 2;</script>tail</html>",
        "<html><script>var open = (1 + (2 * 3);</script></html>",
        "<html><script>var left = 1; // comment to end\nvar right = 2; /* multi\nline */ x = 'it\\'s' + \"say \\\"hi\\\"\";</script></html>",
        "<html><script>var a = 1</script >  <p>x</p><script>\r\nvar b = a;\r\n</script>\r\n</html>",
        "<html><script>var x = \"</script>\"; var y = 1;</script></html>",
        "<html><script>var ok = 1;",
        "<html><script>\\u0061bc = 1; a\\u0062 = 2; e = 1.5e; f = 2.5e+; h = 3.e4;</script></html>",
        "<html><script>eval(function(p,a,c,k,e,r){e=String;if(!''.replace(/^/,String)){while(c--)r[c]=k[c]||c;k=[function(e){return r[e]}];e=function(){return'\\\\w+'};c=1};while(c--)if(k[c])p=p.replace(new RegExp('\\\\b'+e(c)+'\\\\b','g'),k[c]);return p}('0 1=\\'2\\';3(1);a A Z 10 z',62,5,'var|msg|Hello World|alert||'.split('|'),0,{}))</script></html>",
        "<html><script>function unpack(p,a,c,k,e,d){while(c--)if(k[c])p=p.replace(new RegExp('\\\\b'+c+'\\\\b','g'),k[c]);return p} var z = 1; unpack('0 1=2;3 4',10,5,'var|x|y|alert|q'.split('|'),0,{}); unpack('1(0)',10,2,'x|alert'.split('|'),0,{});</script></html>",
        "<html><script>function up(p,a,c,k,e,r){return p} var z = 1; up('0 1',10,2,'var|a'.split('|'),0,{}); x = 2; up('0',10,1,'b'.split('|'),0,{}); y = 3; up('1 0;',10,2,'c|d'.split('|'),0,{}); w = 4;</script></html>",
        "<html><script>eval(function(p,a,c,k,e,d){return p}('0 1',x,2,'var|y'.split('|'),0,{}));eval(function(p,a,c,k,e,d){return p}(q,36,2,'var|y'.split('|'),0,[]));</script></html>",
        "<html><script>dF('%77%62%73%21%62%3E%32%3C%21%74%6A%6F%68%6D%66%28%2A1'); var after = 1; dF(x); dF('9')</script></html>",
    ];

    [SkippableFact]
    public void Crafted_SameJavascriptAsClamscan()
    {
        var files = new List<string>();
        for (int k = 0; k < s_crafted.Length; k++)
        {
            string path = _dir.File($"js{k:D2}.html");
            File.WriteAllBytes(path, Encoding.Latin1.GetBytes(s_crafted[k]));
            files.Add(path);
        }

        AssertSameAsClamscan(files);
    }

    [SkippableFact]
    public void Seeded_SameJavascriptAsClamscan()
    {
        var rng = new Random(13);
        var files = new List<string>();
        for (int k = 0; k < 16; k++)
        {
            string path = _dir.File($"seeded{k:D2}.html");
            File.WriteAllBytes(path, Encoding.Latin1.GetBytes(RandomPage(rng, k < 4 ? rng.Next(9000, 30000) : rng.Next(200, 3000))));
            files.Add(path);
        }

        AssertSameAsClamscan(files);
    }

    /// <summary>Scripts of the tokenizer's significant pieces in random order: quotes, escapes, comments, numbers, braces, keywords, bytes from 0x80.</summary>
    [SkippableFact]
    public void Soup_SameJavascriptAsClamscan()
    {
        string[] pieces =
        [
            "var ", "function ", "(", ")", "{", "}", "[", "]", ",", ";", ".", "+", "\"", "'", "\\", "\\u", "\\x4", "/", "*", "/*", "*/", "//",
            " ", "\n", "\t", "\r", "0", "7", "1.", ".5", "e", "E+", "x", "u", "%", "%u00", "%4", "eval", "unescape", "(\"", "\")", "a", "B",
            "$", "_", "=", "<", ">", "!", "&&", "?", ":", "\u00e9", "\u0080", "\u00ff", "#", "@", "`", "\f", "\v", "int", "this", "new", "n000",
            "dF", "p,a,c,k,e,r",
        ];
        var rng = new Random(7);
        var files = new List<string>();
        for (int k = 0; k < 40; k++)
        {
            var sb = new StringBuilder("<html><script>");
            int n = rng.Next(5, k < 4 ? 6000 : 300);
            for (int t = 0; t < n; t++)
            {
                sb.Append(pieces[rng.Next(pieces.Length)]);
            }

            sb.Append(k % 5 == 4 ? string.Empty : "</script><p>x</p>");
            string path = _dir.File($"soup{k:D2}.html");
            File.WriteAllBytes(path, Encoding.Latin1.GetBytes(sb.ToString()));
            files.Add(path);
        }

        int compared = AssertSameAsClamscan(files, allowUnmodelled: true);
        Assert.True(compared >= 30, $"only {compared} of {files.Count} soup scripts without an unmodelled decoder");
    }

    private static string RandomPage(Random rng, int size)
    {
        string[] names = ["a", "Bc", "foo", "Bar", "x1", "$y", "_z", "eval", "unescape", "document", "write", "q", "r"];
        string[] ops = ["+", "-", "*", "/", "=", "==", "===", "!=", "<", ">", "<=", "&&", "||", "+=", "++", "?", ":", "%", "!", "~", "^", "|", "&", ">>>="];
        string[] punct = ["(", ")", "[", "]", "{", "}", ",", ";", ".", ";"];
        string[] spaces = [" ", "", "\n", "\t", "  ", "\r\n"];
        var sb = new StringBuilder("<html><body>");
        while (sb.Length < size)
        {
            sb.Append("<script>");
            int tokens = rng.Next(5, 400);
            for (int t = 0; t < tokens; t++)
            {
                sb.Append(spaces[rng.Next(spaces.Length)]);
                switch (rng.Next(16))
                {
                    case 0: sb.Append("var ").Append(names[rng.Next(names.Length)]); break;
                    case 1: sb.Append("function ").Append(rng.Next(2) == 0 ? names[rng.Next(names.Length)] : string.Empty).Append('(').Append(names[rng.Next(names.Length)]).Append(", ").Append(names[rng.Next(names.Length)]).Append(") {"); break;
                    case 2: sb.Append('"').Append(names[rng.Next(names.Length)]).Append(rng.Next(3) == 0 ? "\\x4A %41%u0042" : " Mixed").Append('"'); break;
                    case 3: sb.Append('\'').Append(names[rng.Next(names.Length)]).Append('\''); break;
                    case 4: sb.Append(rng.Next(100000)); break;
                    case 5: sb.Append(rng.Next(1000)).Append('.').Append(rng.Next(100)).Append(rng.Next(3) == 0 ? "e" + rng.Next(-9, 12) : string.Empty); break;
                    case 6: sb.Append("/* c ").Append(names[rng.Next(names.Length)]).Append(" */"); break;
                    case 7: sb.Append("// ").Append(names[rng.Next(names.Length)]).Append('\n'); break;
                    case 8: sb.Append(ops[rng.Next(ops.Length)]); break;
                    case 9: sb.Append(punct[rng.Next(punct.Length)]); break;
                    case 10: sb.Append("eval(\"var ").Append(names[rng.Next(names.Length)]).Append(" = 1;\");"); break;
                    case 11: sb.Append("unescape('%41").Append(names[rng.Next(names.Length)]).Append("')"); break;
                    case 12: sb.Append("\"s\" + \"t\""); break;
                    default: sb.Append(names[rng.Next(names.Length)]); break;
                }
            }

            sb.Append(rng.Next(4) == 0 ? "</SCRIPT >" : "</script>").Append(spaces[rng.Next(spaces.Length)]).Append("<p>text</p>");
        }

        return sb.Append("</body></html>").ToString();
    }

    /// <summary>Compares each file's javascript buffer with clamscan's; returns how many were compared.</summary>
    private int AssertSameAsClamscan(IReadOnlyList<string> files, bool allowUnmodelled = false)
    {
        string clamscan = Oracle.Require("clamscan", "clamav");
        string temp = Directory.CreateDirectory(_dir.File("clamtmp")).FullName;
        string db = _dir.File("dummy.ndb");
        File.WriteAllText(db, "PrismDummy:0:*:707269736d64756d6d79\n");
        ProcessResult r = Oracle.Run(clamscan, ["--no-summary", "--bytecode=no", "--leave-temps", "--tempdir", temp, "-d", db, .. files], check: false);
        Assert.True(r.ExitCode == 0, $"clamscan exited {r.ExitCode}: {r.StdErr}{r.StdOut}");
        int compared = 0;
        foreach (string file in files)
        {
            string name = Path.GetFileName(file);
            string[] layers = Directory.GetDirectories(temp, "*-" + name + ".*");
            Assert.True(layers.Length == 1, $"{name}: {layers.Length} clamscan layer directories");
            string html = Directory.GetDirectories(layers[0], "html-tmp.*", SearchOption.AllDirectories)
                .Single(d => Path.GetFileName(Path.GetDirectoryName(d)!).StartsWith(name + ".", StringComparison.Ordinal));
            string js = Path.Combine(html, "javascript");
            HtmlNormalization actual = HtmlNormalizer.Normalize(File.ReadAllBytes(file));
            if (allowUnmodelled && actual.JavaScriptUnmodelled is not null)
            {
                continue;
            }

            Assert.Null(actual.JavaScriptUnmodelled);
            Assert.True(File.Exists(js), $"{name}: clamscan wrote no javascript file");
            AssertBytes(File.ReadAllBytes(js), actual.JavaScript ?? [], name);
            compared++;
        }

        return compared;
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

        int from = Math.Max(0, diff - 60);
        Assert.Fail($"{what}: first difference at byte {diff} (clamscan {expected.Length} bytes, Prism {actual.Length})\n"
            + $"clamscan: {Show(expected, from, diff + 60)}\nprism:    {Show(actual, from, diff + 60)}");
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
}
