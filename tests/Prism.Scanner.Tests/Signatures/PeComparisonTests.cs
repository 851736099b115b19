using Prism.Scanner.Signatures;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// PE typing, PE-relative offsets (EP±n, Sx+n, SL+n, SEx) and .mdb/.msb section hashes against clamscan --allmatch on
/// the same seeded PE files (<see cref="PeCorpus"/>) and database: per file, the same signature names, whether the
/// file is scanned whole, as a stream, or in chunks with and without its length known.
/// </summary>
public sealed class PeComparisonTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Scan_GeneratedPeFiles_SameSignatureNamesAsClamscan(int seed)
    {
        PeCorpus corpus = PeCorpus.Create(_dir, seed, fileCount: 27);
        Dictionary<string, SortedSet<string>> expected = ClamscanOracle.Scan([corpus.DatabaseDirectory], corpus.Files);

        // Guard against a vacuous comparison: every form must have matched somewhere, and near misses must exist.
        ClamscanComparison.AssertEveryFormReported(expected,
            [".EpHit", ".EpFloat", ".EpMinus", ".S0Hit", ".SlHit", ".Se0Hit", ".PeAny", ".Eof", "Md5S0", "Sha1S", "Sha256S", ".LdbPe", ".LdbAny", ".LdbRaw"]);

        SignatureDatabase db = SignatureDatabase.Load(corpus.DatabaseDirectory);
        Assert.Empty(db.Issues);
        Assert.True(db.SectionHashSignatureCount > 0);
        ClamscanComparison.AssertSameEveryWay(db, corpus.Files, expected, output, stream: true,
            (1, true), (97, true), (4099, true), (4099, false), (1 << 16, false));
    }
}
