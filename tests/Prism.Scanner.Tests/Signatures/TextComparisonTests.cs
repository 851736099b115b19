using System.Text.RegularExpressions;
using Prism.Scanner.Signatures;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// clamscan's text typing and normalised rescan against clamscan --allmatch on the same seeded files and database
/// (<see cref="TextCorpus"/>): per file the same signature names, scanned whole and in chunks; and per file the same
/// decision as clamscan's own debug output — rescanned as text (cli_scanscript) or normalised as HTML (cli_scanhtml).
/// HTML files are compared by names too, their scripts' JavaScript normalisation included.
/// </summary>
public sealed partial class TextComparisonTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableTheory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, true)]
    public void Scan_TextFiles_SameSignatureNamesAsClamscan(int seed, bool whole)
    {
        TextCorpus corpus = TextCorpus.Create(_dir, seed, whole);
        Dictionary<string, SortedSet<string>> expected = ClamscanOracle.Scan([corpus.DatabaseDirectory], corpus.Files);
        Dictionary<string, (bool Text, bool Html)> clamTyping = ClamscanTyping(corpus.DatabaseDirectory, corpus.Files);

        // Guard against a vacuous comparison: every form matched somewhere, on raw and on normalised text.
        var all = expected.Values.SelectMany(s => s).ToHashSet(StringComparer.Ordinal);
        foreach (string form in new[] { "N7.", "N0.", "R0.", "L7.", "C0.", "E0.", "A7.", "A0.", "Doc.Example7", "Doc.Logical7", "Size7", "Pcre7", "Entity7", "Comment7" })
        {
            Assert.True(all.Any(n => n.StartsWith(form, StringComparison.Ordinal)), $"clamscan never reported {form}");
        }

        Assert.Contains(clamTyping, t => t.Value.Text);
        Assert.Contains(clamTyping, t => t.Value.Html);
        Assert.Contains(clamTyping, t => !t.Value.Text && !t.Value.Html);

        // Every line loads; clamscan reports the HTML (target 3) signatures only on HTML.
        SignatureDatabase db = SignatureDatabase.Load(corpus.DatabaseDirectory);
        Assert.Empty(db.Issues);
        Assert.All(corpus.Files.Where(f => !clamTyping[f].Html), f => Assert.DoesNotContain(expected[f], n => n.StartsWith("H3", StringComparison.Ordinal)));
        Assert.Contains(corpus.Files.Where(f => clamTyping[f].Html), f => expected[f].Any(n => n.StartsWith("H3", StringComparison.Ordinal)));
        foreach (string file in corpus.Files)
        {
            byte[] data = File.ReadAllBytes(file);
            (bool text, bool html) = PrismTyping(data);
            output.WriteLine($"{Path.GetFileName(file)}: text {clamTyping[file].Text}, html {clamTyping[file].Html}: {string.Join(", ", expected[file])}");
            Assert.True(clamTyping[file] == (text, html), $"{Path.GetFileName(file)}: clamscan text/html {clamTyping[file]}, Prism {(text, html)}");
            AssertSame(expected[file], db.Scan(data), file, "whole span");
            foreach ((int chunk, bool knownLength) in new[] { (7, false), (4099, true), (65536, false) })
            {
                using ScanSession session = db.CreateSession(knownLength ? data.Length : null);
                for (int offset = 0; offset < data.Length; offset += chunk)
                {
                    session.Append(data.AsSpan(offset, Math.Min(chunk, data.Length - offset)));
                }

                AssertSame(expected[file], session.Complete(), file, $"chunks of {chunk}, length {(knownLength ? "known" : "unknown")}");
            }
        }
    }

    /// <summary>What Prism does with a file: rescans it as normalised text, or normalises it as HTML.</summary>
    private static (bool Text, bool Html) PrismTyping(byte[] data)
    {
        if (FileTyping.TargetOf(data, final: true) != FileTyping.AnyFile)
        {
            return (false, false);
        }

        TextKind kind = TextTyping.KindOf(data);
        if (kind == TextKind.Ascii && TextTyping.HasHtmlTag(data, 0, out _))
        {
            kind = TextKind.Html;
        }

        return (kind is TextKind.Ascii or TextKind.Unicode, kind is TextKind.Html or TextKind.HtmlUtf16);
    }

    /// <summary>Per file, whether clamscan's debug output shows its text rescan and its HTML normalisation.</summary>
    private static Dictionary<string, (bool Text, bool Html)> ClamscanTyping(string database, IReadOnlyList<string> files)
    {
        string clamscan = Oracle.Require("clamscan", "clamav");
        ProcessResult r = Oracle.Run(clamscan, ["--debug", "--no-summary", "--allmatch", "--bytecode=no", "-d", database, .. files], check: false);
        var result = new Dictionary<string, (bool, bool)>(StringComparer.Ordinal);
        string[] sections = RealpathLine().Split(r.StdErr);
        foreach (string file in files)
        {
            string section = sections.Single(s => s.StartsWith(file + "\n", StringComparison.Ordinal));
            result[file] = (section.Contains("in cli_scanscript()", StringComparison.Ordinal), section.Contains("in cli_scanhtml()", StringComparison.Ordinal));
        }

        return result;
    }

    private static void AssertSame(SortedSet<string> expected, IReadOnlyList<Detection> actual, string file, string how)
    {
        var names = new SortedSet<string>(actual.Select(d => d.SignatureName), StringComparer.Ordinal);
        Assert.True(expected.SetEquals(names),
            $"{Path.GetFileName(file)} ({how}): clamscan [{string.Join(", ", expected)}] vs Prism [{string.Join(", ", names)}]");
    }

    [GeneratedRegex("LibClamAV debug: Checking realpath of ")]
    private static partial Regex RealpathLine();
}
