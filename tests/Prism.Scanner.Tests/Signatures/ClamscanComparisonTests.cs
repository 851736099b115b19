using Prism.Scanner.Signatures;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>Prism's built-in engine against clamscan --allmatch on the same custom database and files.</summary>
public sealed class ClamscanComparisonTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<int, bool> Seeds => new() { { 1, false }, { 2, false }, { 3, true }, { 4, true } };

    [SkippableTheory]
    [MemberData(nameof(Seeds))]
    public void Scan_GeneratedFiles_SameSignatureNamesAsClamscan(int seed, bool quadFilter)
    {
        GeneratedCorpus corpus = GeneratedCorpus.Create(_dir, seed, fileCount: 10, maxFileSize: 2_600_000);
        Dictionary<string, SortedSet<string>> expected = ClamscanOracle.Scan([corpus.DatabaseDirectory], corpus.Files);

        // Guard against a vacuous comparison: the oracle must have found plenty.
        Assert.True(expected.Values.Sum(s => s.Count) >= 10, "clamscan found too little for a meaningful comparison");

        SignatureDatabase db = SignatureDatabase.Load(quadFilter ? AnchorStrategy.QuadWherePossible : AnchorStrategy.AutomatonOnly, corpus.DatabaseDirectory);
        Assert.True(db.HasPeTargetSignatures);
        ClamscanComparison.AssertSameEveryWay(db, corpus.Files, expected, output, stream: true, (1 << 16, false), (1 << 20, false), (4099, false));
    }
}
