using Prism.Scanner.Signatures;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// File typing by magic (target types 2, 4, 5, 6, 9, 10, 11, 12) and ELF/Mach-O entry points and sections against
/// clamscan --allmatch on the same seeded files (<see cref="TypedCorpus"/>) and database: per file, the same signature
/// names, whether the file is scanned whole or in chunks with and without its length known.
/// </summary>
public sealed class TypedComparisonTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Scan_TypedFiles_SameSignatureNamesAsClamscan(int seed)
    {
        TypedCorpus corpus = TypedCorpus.Create(_dir, seed);
        Dictionary<string, SortedSet<string>> expected = ClamscanOracle.Scan([corpus.DatabaseDirectory], corpus.Files);

        // Guard against a vacuous comparison: every target type and executable form matched somewhere.
        string[] forms =
        [
            ".Any0", ".Any1", ".Any2", ".Any4", ".Any5", ".Any6", ".Any9", ".Any10", ".Any11", ".Any12", ".At100",
            ".At99Float", ".Eof", "Elf32Le.EpHit", "Elf64Be.EpHit", "ElfOverlappingSegments.EpHit", "ElfNoEntry.EpHit",
            "MachOX86.EpHit", "MachOPpc.EpHit", ".SxHit", ".SeHit", ".SlHit", ".Eof0", ".EofTyped", ".LdbExe", ".LdbAny",
            ".Ldb", "pdfmid.Any10", "pdflower.Any10", "pdfedge.Any10", "java.Any12", "unibin.Any9", "swflzma.Any11",
            "mailqmail.Any4", "tiffbe.Any5",
        ];
        ClamscanComparison.AssertEveryFormReported(expected, forms);

        // ...and the near misses of typing did not type (a "%PDF-x." ending past byte 1024, no dot, "cafebabe" with a
        // large count, a start magic one byte late; "%PDF-x." one byte late is still in the first 1024 bytes).
        var all = expected.Values.SelectMany(s => s).ToList();
        foreach (string miss in new[] { "pdfpast.Any10", "pdffar.Any10", "pdfnodot.Any10", "cafe.Any9", "cafe.Any12", "late.Any" })
        {
            string[] typed = [.. all.Where(n => n.Contains(miss, StringComparison.Ordinal) && !n.EndsWith(".Any0", StringComparison.Ordinal)
                && !n.Contains("pdflate", StringComparison.Ordinal))];
            Assert.True(typed.Length == 0, "clamscan typed a near miss: " + string.Join(", ", typed));
        }

        SignatureDatabase db = SignatureDatabase.Load(corpus.DatabaseDirectory);
        Assert.Empty(db.Issues);
        ClamscanComparison.AssertSameEveryWay(db, corpus.Files, expected, output, stream: false, (1, true), (7, false), (97, true), (4099, false));
    }
}
