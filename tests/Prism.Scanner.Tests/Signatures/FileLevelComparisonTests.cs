using Prism.Scanner.Signatures;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// PCRE and byte-compare subsignatures (<see cref="FileLevelCorpus"/>) against clamscan --allmatch: per file, the
/// same signature names whole, streamed in chunks and with a known length.
/// </summary>
public sealed class FileLevelComparisonTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableTheory]
    [InlineData(21)]
    [InlineData(22)]
    [InlineData(23)]
    public void Scan_PcreAndByteCompareSubsignatures_SameSignatureNamesAsClamscan(int seed)
    {
        FileLevelCorpus corpus = FileLevelCorpus.Create(_dir, seed, signatureCount: 60, fileCount: 14);
        Dictionary<string, SortedSet<string>> expected = ClamscanOracle.Scan([corpus.DatabaseDirectory], corpus.Files);
        Assert.True(expected.Values.Sum(s => s.Count) >= 30, "clamscan found too little for a meaningful comparison");

        SignatureDatabase db = SignatureDatabase.Load(corpus.DatabaseDirectory);
        Assert.True(db.Issues.Count == 0, string.Join("\n", db.Issues));
        ClamscanComparison.AssertSameEveryWay(db, corpus.Files, expected, output, stream: false, (97, false));
    }
}
