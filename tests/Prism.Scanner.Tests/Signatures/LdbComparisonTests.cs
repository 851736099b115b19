using Prism.Scanner.Signatures;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// Logical signatures (.ldb) against clamscan --allmatch: the documented examples and seeded random signatures
/// (<see cref="LdbCorpus"/>) over seeded files; per file, the same signature names whole, streamed and chunked.
/// </summary>
public sealed class LdbComparisonTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableTheory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(14)]
    public void Scan_RandomLogicalSignatures_SameSignatureNamesAsClamscan(int seed)
    {
        LdbCorpus corpus = LdbCorpus.Create(_dir, seed, signatureCount: 60, fileCount: 16);
        Dictionary<string, SortedSet<string>> expected = ClamscanOracle.Scan([corpus.DatabaseDirectory], corpus.Files);
        Assert.True(expected.Values.Sum(s => s.Count) >= 10, "clamscan found too little for a meaningful comparison");

        SignatureDatabase db = SignatureDatabase.Load(corpus.DatabaseDirectory);
        Assert.Empty(db.Issues);
        Assert.Equal(67, db.LogicalSignatureCount);
        ClamscanComparison.AssertSameEveryWay(db, corpus.Files, expected, output, stream: false, (4099, false));
    }
}
