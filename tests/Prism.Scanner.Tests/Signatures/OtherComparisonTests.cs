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

    /// <summary>
    /// The seeded random body forms of <see cref="GeneratedCorpus"/> (wildcards, nibbles, alternatives, negations, gaps,
    /// '*', fixed, shifted and EOF offsets, with spoiled copies) signed again under target type 14, on its random files
    /// of which every other one is made binary data (a 0000 unit at byte 2) and the rest typed as clamscan types them.
    /// </summary>
    [SkippableFact]
    public void Scan_GeneratedFormsAsTarget14_SameSignatureNamesAsClamscan()
    {
        GeneratedCorpus corpus = GeneratedCorpus.Create(_dir, seed: 14, fileCount: 8, maxFileSize: 400_000);
        string ndb = File.ReadAllText(Path.Combine(corpus.DatabaseDirectory, "custom.ndb"));
        IEnumerable<string> other = ndb.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(':', 3))
            .Where(f => f[1] == "0")
            .Select(f => $"{f[0]}.T14:14:{f[2]}\n");
        File.WriteAllText(Path.Combine(corpus.DatabaseDirectory, "other.ndb"), string.Concat(other));
        for (int i = 0; i < corpus.Files.Count; i += 2)
        {
            using FileStream f = File.OpenWrite(corpus.Files[i]);
            if (f.Length > 4)
            {
                f.Position = 2;
                f.Write([0, 0]);
            }
        }

        Dictionary<string, SortedSet<string>> expected = ClamscanOracle.Scan([corpus.DatabaseDirectory], corpus.Files);
        Assert.True(expected.Values.Count(names => names.Any(n => n.EndsWith(".T14", StringComparison.Ordinal))) >= 3,
            "clamscan matched target 14 in too few files for a meaningful comparison");
        SignatureDatabase db = SignatureDatabase.Load(corpus.DatabaseDirectory);
        ClamscanComparison.AssertSameEveryWay(db, corpus.Files, expected, output, stream: false, (4099, false), (1 << 16, true));
    }
}
