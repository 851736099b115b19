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
        var all = expected.Values.SelectMany(s => s).ToList();
        foreach (string form in new[] { ".EpHit", ".EpFloat", ".EpMinus", ".S0Hit", ".SlHit", ".Se0Hit", ".PeAny", ".Eof", "Md5S0", "Sha1S", "Sha256S", ".LdbPe", ".LdbAny", ".LdbRaw" })
        {
            Assert.True(all.Any(n => n.Contains(form, StringComparison.Ordinal)), $"clamscan never reported {form}");
        }

        SignatureDatabase db = SignatureDatabase.Load(corpus.DatabaseDirectory);
        Assert.Empty(db.Issues);
        Assert.True(db.SectionHashSignatureCount > 0);
        foreach (string file in corpus.Files)
        {
            output.WriteLine($"{Path.GetFileName(file)}: {string.Join(", ", expected[file])}");
            byte[] data = File.ReadAllBytes(file);
            AssertSame(expected[file], db.Scan(data), file, "whole span");
            using (FileStream stream = File.OpenRead(file))
            {
                AssertSame(expected[file], db.Scan(stream), file, "stream");
            }

            foreach ((int chunk, bool knownLength) in new[] { (1, true), (97, true), (4099, true), (4099, false), (1 << 16, false) })
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

    private static void AssertSame(SortedSet<string> expected, IReadOnlyList<Detection> actual, string file, string how)
    {
        var names = new SortedSet<string>(actual.Select(d => d.SignatureName), StringComparer.Ordinal);
        Assert.True(expected.SetEquals(names),
            $"{Path.GetFileName(file)} ({how}): clamscan [{string.Join(", ", expected)}] vs Prism [{string.Join(", ", names)}]");
    }
}
