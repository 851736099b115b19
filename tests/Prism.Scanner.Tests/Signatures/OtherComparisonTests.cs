using Prism.Scanner.Signatures;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// Target types 14 (clamscan's second scan of binary data and compiled Python as type OTHER) and 13 (ClamAV's internal
/// JSON) against clamscan --allmatch on the same seeded files and database (<see cref="OtherCorpus"/>): per file the
/// same signature names, scanned whole, as a stream and in chunks with and without the length known, and whole with
/// the database read from its compiled cache.
/// </summary>
public sealed class OtherComparisonTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    public void Scan_BinaryDataAndDecoys_SameSignatureNamesAsClamscan(int seed)
    {
        OtherCorpus corpus = OtherCorpus.Create(_dir, seed);
        Dictionary<string, SortedSet<string>> expected = ClamscanOracle.Scan([corpus.DatabaseDirectory], corpus.Files);

        // Guard against a vacuous comparison: every form matched on the kinds clamscan scans as OTHER (13: internal)...
        string[] forms =
        [
            "bin.N14", "bin.Md5", "binagain.L14Twice", "binshort.N14", "binedge.N14", "mpeg.N14", "pycmagic.N14", "pyc27.N14",
            "pycrule.N14", "tarbad.N14", "internal.N13", "internal.L13", "internal.Eof13", ".At14", ".Range14", ".Eof14",
            ".EofRange14", ".Wild14", ".Pair14", ".L14", ".L14Once", ".L14Range", ".L14Size", ".L14Nocase", ".L14Pcre",
            ".L14PcreAt", ".L0", ".Eof0", ".N0", "binhtmlsfx.N14", "pycpdf.N14", "sfxpdf.N14", "binpdf.N10", "pdf.N10",
        ];
        ClamscanComparison.AssertEveryFormReported(expected, forms);

        // ...and never on the decoys, nor the near misses anywhere.
        foreach ((string file, SortedSet<string> names) in expected)
        {
            string kind = Path.GetFileNameWithoutExtension(file)[2..];
            bool other = kind is "bin" or "binagain" or "binshort" or "binedge" or "mpeg" or "pycmagic" or "pyc27" or "pycrule" or "tarbad"
                or "binhtmlsfx" or "pycpdf" or "sfxpdf";
            Assert.True(other || !names.Any(n => n.Contains("14", StringComparison.Ordinal)), $"{kind}: clamscan matched target 14 on a decoy");
            Assert.True(kind == "internal" || !names.Any(n => n.Contains("13", StringComparison.Ordinal)), $"{kind}: clamscan matched target 13");
            Assert.True(kind is "pdf" or "binpdf" || !names.Any(n => n.Contains("N10", StringComparison.Ordinal)), $"{kind}: clamscan typed PDF");
            Assert.DoesNotContain(names, n => n.Contains("Miss", StringComparison.Ordinal));
        }

        SignatureDatabase db = SignatureDatabase.Load(corpus.DatabaseDirectory);
        Assert.Empty(db.Issues);
        ClamscanComparison.AssertSameEveryWay(db, corpus.Files, expected, output, stream: true, (1, false), (7, true), (1000, false), (4099, true));

        // The compiled cache keeps the target types 13 and 14.
        SignatureDatabase.Compile(corpus.DatabaseDirectory, out _);
        SignatureDatabase cached = SignatureDatabase.Load([corpus.DatabaseDirectory], notice: null);
        Assert.NotNull(cached.CachePath);
        ClamscanComparison.AssertSameEveryWay(cached, corpus.Files, expected, output, stream: false);
    }
}
