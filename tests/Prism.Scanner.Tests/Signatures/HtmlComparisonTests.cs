using System.Text;
using Prism.Scanner.Signatures;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// clamscan's scan of HTML (target type 3) against clamscan --allmatch on the same seeded files and database
/// (<see cref="HtmlCorpus"/>): per file the same signature names, scanned whole, as a stream and in chunks.
/// </summary>
public sealed class HtmlComparisonTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    public void Scan_HtmlFiles_SameSignatureNamesAsClamscan(int seed)
    {
        HtmlCorpus corpus = HtmlCorpus.Create(_dir, seed);
        Dictionary<string, SortedSet<string>> expected = ClamscanOracle.Scan([corpus.DatabaseDirectory], corpus.Files);

        // Against a vacuous comparison: each form matched somewhere (and the decoys were seen not to match).
        ClamscanComparison.AssertEveryFormReported(expected,
        [
            "T3.", "T0.", "R0.", "L3.", "C3.", "E0.", "Doc.Html3", "Doc.HtmlLogical", "Ent3", "EntTags3", "Nbsp3", "Url3", "UrlLower3",
            "Hidden3", "Attr3", "Start3", "Start0", "End3", "End0", "TagsEnd3", "Late0", "Small3", "Large3",
            "HNoComment.", "HNoTags.", "HRaw.", "HJs.", "Js7", "Js3", "JsEnd7", "JsStart0", "JsFold0", "JsL7",
        ]);
        var all = expected.Values.SelectMany(s => s).ToHashSet(StringComparer.Ordinal);
        Assert.DoesNotContain(all, n => n == "Cross3" || n == "StartRaw0");
        Assert.All(corpus.Files.Where(f => f.EndsWith(".page", StringComparison.Ordinal)),
            f => Assert.DoesNotContain(expected[f], n => n.StartsWith("R0.", StringComparison.Ordinal) || n.StartsWith("T7.", StringComparison.Ordinal) || n.StartsWith("HRaw.", StringComparison.Ordinal)));

        // The allow-listed raw page is clean; the page whose nocomment.html is allow-listed keeps its notags.html names only.
        Assert.Empty(expected[corpus.Files[3]]);
        Assert.NotEmpty(expected[corpus.Files[4]]);
        Assert.DoesNotContain("Start3", expected[corpus.Files[4]]);
        SignatureDatabase db = SignatureDatabase.Load(corpus.DatabaseDirectory);
        Assert.Empty(db.Issues);
        ClamscanComparison.AssertSameEveryWay(db, corpus.Files, expected, output, stream: true, (7, false), (4099, true), (65536, false));
    }

    /// <summary>
    /// notags.html is scanned only while the file is at most 8 MiB (clamscan's MaxHTMLNoTags, inclusive): pages of
    /// exactly 8 MiB and one byte more, with a link whose original-case URL only notags.html carries.
    /// </summary>
    [SkippableFact]
    public void Scan_NoTagsLimit_SameAsClamscan()
    {
        string db = Directory.CreateDirectory(_dir.File("limitdb")).FullName;
        File.WriteAllText(Path.Combine(db, "limit.ndb"), "Url3:3:*:485454503a2f2f4576696c2e4578616d706c65\nBody3:3:*:3c626f64793e\n");
        var files = new List<string>();
        foreach (int size in new[] { 8 << 20, (8 << 20) + 1 })
        {
            var sb = new StringBuilder("<html><body>");
            while (sb.Length < size - 100)
            {
                sb.Append("Some words <a href=\"HTTP://Evil.Example/P\">link</a> &amp; more\n");
            }

            sb.Append(new string('x', size - sb.Length - "</body></html>".Length)).Append("</body></html>");
            string path = _dir.File($"limit{size}.html");
            File.WriteAllBytes(path, Encoding.Latin1.GetBytes(sb.ToString()));
            Assert.Equal(size, new FileInfo(path).Length);
            files.Add(path);
        }

        Dictionary<string, SortedSet<string>> expected = ClamscanOracle.Scan([db], files);
        Assert.Contains("Url3", expected[files[0]]);
        Assert.DoesNotContain("Url3", expected[files[1]]);
        SignatureDatabase database = SignatureDatabase.Load(db);
        ClamscanComparison.AssertSameEveryWay(database, files, expected, output, stream: true, (1 << 20, false));
    }
}
