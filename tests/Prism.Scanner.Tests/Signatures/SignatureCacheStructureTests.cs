using System.IO.Hashing;
using System.Text;
using Prism.Scanner.Signatures;
using Prism.Testing;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// The compiled cache's binary body signatures and matcher tables: for every corpus the clamscan comparison tests use
/// (every body form, .ldb modifiers and target blocks, PCRE and byte compares, PE offsets, normalised text), a cached load restores the
/// same signatures element by element, the same automaton and filter, and the same findings as a load from the sources;
/// seeded corruptions of the cache give a note and the sources' database, never a wrong one or a crash.
/// </summary>
public sealed class SignatureCacheStructureTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("generated")]
    [InlineData("ldb")]
    [InlineData("file-level")]
    [InlineData("pe")]
    [InlineData("typed")]
    [InlineData("macro")]
    [InlineData("text")]
    public void CachedLoad_EveryCorpus_RestoresTheSameSignaturesMatchersAndFindings(string corpus)
    {
        (string db, List<string> files) = Corpus(corpus);

        // An ignore list that drops one body and one logical signature: the cache holds the load after it applied.
        string[] names = [.. new[] { "*.ndb", "*.ldb" }.SelectMany(p => Directory.GetFiles(db, p))
            .Select(f => File.ReadLines(f).First(l => l.Length > 0 && !l.StartsWith('#')).Split(':', ';')[0])];
        File.WriteAllLines(Path.Combine(db, "drop.ign2"), names);

        SignatureDatabase sources = SignatureDatabase.Load(AnchorStrategy.Auto, db);
        SignatureDatabase.Compile(db, out string cachePath);
        var notices = new List<string>();
        SignatureDatabase cached = SignatureDatabase.Load([db], notices.Add);
        Assert.Empty(notices);
        Assert.Equal(cachePath, cached.CachePath);
        Assert.Contains(sources.TypeCounts, c => c.Ignored > 0);
        Assert.True(sources.Bodies.Length > 0);

        Assert.Equal(Dump(sources), Dump(cached));
        Assert.Equal(sources.SignatureSetHash, cached.SignatureSetHash);
        Assert.Equal(sources.TypeCounts, cached.TypeCounts);
        Assert.Equal(sources.Issues, cached.Issues);
        Dictionary<string, SortedSet<string>> expected = Findings(sources, files);
        Assert.True(expected.Values.Sum(v => v.Count) >= 5, "the corpus is found");
        Assert.Equal(expected, Findings(cached, files));
    }

    [Fact]
    public void CachedLoad_LargeAnchorSet_RestoresTheQuadFilterAndTheAutomaton()
    {
        (string db, List<string> files) = Corpus("generated");
        var rng = new Random(5);
        var ndb = new StringBuilder();
        for (int i = 0; i < 3000; i++)
        {
            // Many distinct first bytes: the quad filter takes the 4-byte anchors, the DFA the shorter ones.
            ndb.Append(FormattableString.Invariant($"Test.Quad-{i}:0:*:{RandomHex(rng, 4 + (i % 3))}{(i % 5 == 0 ? "(61|6262)" : "")}\n"));
            ndb.Append(FormattableString.Invariant($"Test.Short-{i}:0:*:{RandomHex(rng, 1)}??{RandomHex(rng, 1)}{{2-5}}{RandomHex(rng, 2)}\n"));
        }

        File.WriteAllText(Path.Combine(db, "quad.ndb"), ndb.ToString());
        SignatureDatabase sources = SignatureDatabase.Load(AnchorStrategy.Auto, db);
        Assert.NotNull(sources.Quad);
        Assert.False(sources.Automaton.IsEmpty);
        SignatureDatabase.Compile(db, out _);
        SignatureDatabase cached = SignatureDatabase.Load([db], notice: null);
        Assert.NotNull(cached.CachePath);
        Assert.Equal(Dump(sources), Dump(cached));
        Assert.Equal(Findings(sources, files), Findings(cached, files));
    }

    [Fact]
    public void Canonical_RebuiltFromCompiledParts_EqualsTheParsedElementsText()
    {
        // The text a part had as parsed (its elements in order) is what the signature-set hash was computed over
        // before parts stopped keeping it; every form, modifier and corpus pattern must rebuild to the same text.
        var patterns = new List<string>
        {
            "61(6a6a|66(6767|6868)66)61", "4142!(43|44)4546", "41{0}42434445", "41{2-5}42434445*46474849{3-}4a4b4c4d",
            "aa[1-3]4142434445", "41424344[2-4]bb", "(B)6b65790a", "7a7a776f7264(B)", "(L)6c696e65", "6c617374(L)",
            "4142(W)43444546", "(W)776f7264(W)", "4?42??43?4414243444546", "(6162|6364|6566)3f", "(616263646566|78797a)00",
        };
        foreach (string line in Directory.GetFiles(Corpus("generated").Db, "*.ndb").SelectMany(File.ReadLines))
        {
            patterns.Add(line.Split(':')[3]);
        }

        foreach ((string hex, string modifiers) in new[] { ("776f7264", "i"), ("776f7264", "wa"), ("776f7264", "f"), ("41(42|43)44[1-2]45", "wif"), ("4142434445", "ia") })
        {
            foreach ((string variant, bool wide) in SubsignatureModifiers.Apply(hex, modifiers))
            {
                patterns.Add(variant + (wide ? " wide" : string.Empty));
            }
        }

        int checkedParts = 0;
        foreach (string pattern in patterns)
        {
            bool wide = pattern.EndsWith(" wide", StringComparison.Ordinal);
            foreach (HexPatternParser.RawSegment raw in HexPatternParser.Parse(wide ? pattern[..^5] : pattern))
            {
                string parsed = string.Concat(raw.Elements.Select(e => e.ToCanonical()));
                PatternSegment part = PatternSegment.Compile(raw);
                Assert.Equal(parsed, part.Canonical);
                Assert.Equal(parsed, part.WithWideWordEdges().Canonical);
                checkedParts++;
            }
        }

        Assert.True(checkedParts > 30);
    }

    [Fact]
    public void CorruptedCache_SeededByteFlips_GiveANoteAndTheSourcesDatabase()
    {
        (string db, List<string> files) = Corpus("ldb");
        SignatureDatabase reference = SignatureDatabase.Compile(db, out string cachePath);
        string expectedDump = Dump(reference);
        Dictionary<string, SortedSet<string>> expectedFindings = Findings(reference, files);
        byte[] good = File.ReadAllBytes(cachePath);
        var rng = new Random(1313);

        // Offsets spread over the whole file, the first and last bytes (magic, checksum) included.
        int[] offsets = [0, 9, good.Length - 1, good.Length - 17, .. Enumerable.Range(0, 36).Select(_ => rng.Next(good.Length))];
        foreach (int at in offsets)
        {
            byte[] bad = (byte[])good.Clone();
            bad[at] ^= (byte)(1 << rng.Next(8));
            File.WriteAllBytes(cachePath, bad);
            var notices = new List<string>();
            SignatureDatabase db2 = SignatureDatabase.Load([db], notices.Add);
            Assert.Null(db2.CachePath);
            Assert.Contains(notices, n => n.Contains("unusable", StringComparison.Ordinal) || n.Contains("stale", StringComparison.Ordinal));
            Assert.Contains(notices, n => n.Contains("rebuilt", StringComparison.Ordinal));
            Assert.Equal(expectedDump, Dump(db2));
            Assert.Equal(expectedFindings, Findings(db2, files));
        }
    }

    [Fact]
    public void CorruptedCache_ResealedChecksum_NeverCrashesTheLoad()
    {
        // A flip behind a recomputed checksum reaches the decoder: structural damage must be a note, never an
        // exception or an out-of-range read (the matchers index their tables without bounds checks).
        (string db, List<string> files) = Corpus("ldb");
        SignatureDatabase.Compile(db, out string cachePath);
        byte[] good = File.ReadAllBytes(cachePath);
        var rng = new Random(77);
        int unusable = 0;
        for (int i = 0; i < 150; i++)
        {
            byte[] bad = (byte[])good.Clone();
            int at = rng.Next(good.Length - 16);
            bad[at] ^= (byte)(1 << rng.Next(8));
            XxHash128.Hash(bad.AsSpan(0, bad.Length - 16), bad.AsSpan(bad.Length - 16));
            File.WriteAllBytes(cachePath, bad);
            var notices = new List<string>();
            SignatureDatabase loaded = SignatureDatabase.Load([db], notices.Add);
            unusable += notices.Count(n => n.Contains("unusable", StringComparison.Ordinal));
            foreach (string f in files.Take(2))
            {
                loaded.Scan(File.ReadAllBytes(f));
            }
        }

        Assert.True(unusable > 0, "some flips hit a checked structure");
    }

    private (string Db, List<string> Files) Corpus(string kind)
    {
        switch (kind)
        {
            case "generated":
                GeneratedCorpus g = GeneratedCorpus.Create(_dir, 7, fileCount: 6, maxFileSize: 200_000);
                return (g.DatabaseDirectory, g.Files);
            case "ldb":
                LdbCorpus l = LdbCorpus.Create(_dir, 11, signatureCount: 60, fileCount: 8);
                return (l.DatabaseDirectory, l.Files);
            case "file-level":
                FileLevelCorpus f = FileLevelCorpus.Create(_dir, 21, signatureCount: 40, fileCount: 8);
                return (f.DatabaseDirectory, f.Files);
            case "typed":
                TypedCorpus t = TypedCorpus.Create(_dir, 3);
                return (t.DatabaseDirectory, t.Files);
            case "macro":
                return MacroCorpus();
            case "text":
                TextCorpus x = TextCorpus.Create(_dir, 3, whole: true);
                return (x.DatabaseDirectory, x.Files);
            default:
                PeCorpus p = PeCorpus.Create(_dir, 2, fileCount: 27);
                return (p.DatabaseDirectory, p.Files);
        }
    }

    /// <summary>
    /// Macro subsignatures and their .ndb group members (the documentation's example), behind a first line of each file
    /// the ignore list drops, and a plain signature most files hold.
    /// </summary>
    private (string Db, List<string> Files) MacroCorpus()
    {
        string db = Directory.CreateDirectory(_dir.File("macro-db")).FullName;
        File.WriteAllText(Path.Combine(db, "m.ldb"),
            "Dropped;Engine:51-255,Target:0;0;64726f70\nTestMacro;Engine:51-255,Target:0;0&1;616161;${6-7}12$\n");
        File.WriteAllText(Path.Combine(db, "m.ndb"), "DroppedN:0:*:64726f70\nPlain:0:*:7a7a7a7a\nD1:0:$12$:626262\nD2:0:$12$:636363\n");
        string[] contents =
        [
            "zzzzaaaxxxbbbzzzz", "zzzzaaaxxxbbbzzzzaaazzzzzzzz", "zzaaaxxxbbbzzaaazzzzzzzzzzbbb", "zzaaaxxxxbbbzzaaazzzzzzz",
            "zzaaazzzzzzzzzzzzzzaaaxxxcccz", "bbbzzzaaazzzzaaazz", "zzaaaxxxbbdzzaaazzzzzzzz",
        ];
        var files = new List<string>();
        for (int i = 0; i < contents.Length; i++)
        {
            string path = _dir.File($"macro{i}.txt");
            File.WriteAllText(path, contents[i]);
            files.Add(path);
        }

        return (db, files);
    }

    /// <summary>Every field of every signature and the matchers' shape, as text.</summary>
    private static string Dump(SignatureDatabase db)
    {
        var s = new StringBuilder();
        s.Append(FormattableString.Invariant($"dfa {db.Automaton.StateCount} quad {db.Quad?.KeyCount} retain {db.RetainLength} span {db.MaxPatternLength} text {db.TextPlan}\n"));
        foreach (BodySignature b in db.Bodies)
        {
            s.Append(FormattableString.Invariant($"body {b.Name} t{b.Target} l{b.Logical} s{b.Subsignature} {b.Offset} {b.Offset.Kind}/{b.Offset.Value}/{b.Offset.MaxShift}/{b.Offset.Section}\n"));
            foreach (PatternSegment p in b.Segments)
            {
                s.Append(FormattableString.Invariant(
                    $"  part [{(int)p.LeadingBoundary}|{(int)p.TrailingBoundary}] d{p.MinDistanceFromPrevious} lead {p.LeadingByte?.ToCanonical()}{p.LeadingGap?.ToCanonical()} {p.Canonical}\n"));
                s.Append("   before ").AppendJoin(' ', p.Before.Select(Element)).Append('\n');
                s.Append("   anchors ").AppendJoin(' ', p.Anchors.Select(Convert.ToHexStringLower)).Append('\n');
                s.Append("   after ").AppendJoin(' ', p.After.Select(Element)).Append('\n');
            }
        }

        foreach (LogicalSignature l in db.Logicals)
        {
            s.Append(FormattableString.Invariant($"ldb {l.ToCanonical()} n{l.SubsignatureCount} cap{l.CountCap} none{l.MatchesWithoutHits}\n"));
        }

        foreach (PcreSubsignature p in db.Pcres)
        {
            s.Append(FormattableString.Invariant($"pcre {p.Logical}/{p.Subsignature} {p.ToCanonical()} {p.Regex.Options} {p.Global}{p.Rolling}{p.Encompass}{p.Anchored}\n"));
        }

        foreach (ByteCompareSubsignature c in db.ByteCompares)
        {
            s.Append(FormattableString.Invariant($"bcomp {c.Logical}/{c.Subsignature} {c.ToCanonical()}\n"));
        }

        s.Append("keywords ").AppendJoin(',', db.KeywordSignature).Append('|').AppendJoin(',', db.KeywordSegment).Append('|').AppendJoin(',', db.KeywordLength);
        return s.ToString();
    }

    private static string Element(PatternElement e) =>
        FormattableString.Invariant($"{e.Kind}:{e.MinLength}-{e.MaxLength}:{e.Negated}:{Convert.ToHexStringLower(e.Values)}/{Convert.ToHexStringLower(e.Masks)}:{e.ToCanonical()}");

    private static string RandomHex(Random rng, int bytes)
    {
        byte[] b = new byte[bytes];
        rng.NextBytes(b);
        return Convert.ToHexStringLower(b);
    }

    private static Dictionary<string, SortedSet<string>> Findings(SignatureDatabase db, List<string> files) =>
        files.ToDictionary(f => f, f =>
        {
            byte[] data = File.ReadAllBytes(f);
            var names = new SortedSet<string>(db.Scan(data).Select(d => d.SignatureName), StringComparer.Ordinal);
            using ScanSession session = db.CreateSession();
            for (int at = 0; at < data.Length; at += 4099)
            {
                session.Append(data.AsSpan(at, Math.Min(4099, data.Length - at)));
            }

            names.UnionWith(session.Complete().Select(d => $"chunked:{d.SignatureName}"));
            return names;
        });
}
