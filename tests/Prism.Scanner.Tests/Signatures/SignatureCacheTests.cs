using System.Security.Cryptography;
using System.Text;
using Prism.Scanner.Signatures;
using Prism.Testing;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// The compiled signature cache: a folder of every hash, body, logical, allow- and ignore-list type, loaded from its
/// sources and through the cache, gives the same signature set, counts, issues and findings (and the findings equal
/// clamscan's); a changed source or a damaged cache is never used, and the cache is rewritten.
/// </summary>
#pragma warning disable CA5350, CA5351 // MD5 and SHA-1 are what ClamAV hash signatures use.
public sealed class SignatureCacheTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly string _db;
    private readonly List<string> _files = [];

    public SignatureCacheTests()
    {
        _db = _dir.File("db");
        Directory.CreateDirectory(_db);
        var rng = new Random(42);
        var hdb = new StringBuilder("# a comment line\n");
        var hsb = new StringBuilder();
        var mdb = new StringBuilder();
        var ndb = new StringBuilder();
        var ldb = new StringBuilder();
        var fp = new StringBuilder();
        for (int i = 0; i < 12; i++)
        {
            byte[] data = new byte[4096 + (i * 97)];
            rng.NextBytes(data);
            string name = _dir.File($"f{i}.bin");
            switch (i % 6)
            {
                case 0:
                    hdb.Append(CultureInfo($"{Convert.ToHexStringLower(MD5.HashData(data))}:{data.Length}:Test.Hdb.Md5-{i}-0\r\n"));
                    break;
                case 1:
                    hsb.Append(CultureInfo($"{Convert.ToHexStringLower(SHA256.HashData(data))}:*:Test.Hsb.AnySize-{i}-0:73\n"));
                    hsb.Append(CultureInfo($"{Convert.ToHexStringLower(SHA1.HashData(data))}:{data.Length}:Test.Hsb.Sha1-{i}-0\n"));
                    break;
                case 2:
                    data.AsSpan(100, 6).CopyTo(data.AsSpan(3000));
                    ndb.Append(CultureInfo($"Test.Ndb.Body-{i}-0:0:*:{Convert.ToHexStringLower(data.AsSpan(100, 6))}??{Convert.ToHexStringLower(data.AsSpan(107, 5))}\n"));
                    break;
                case 3:
                    ldb.Append(CultureInfo($"Test.Ldb.Logical-{i}-0;Engine:51-255,Target:0;0&1;{Convert.ToHexStringLower(data.AsSpan(10, 8))};{Convert.ToHexStringLower(data.AsSpan(2000, 8))}\n"));
                    break;
                case 4:
                    var pe = new PeBuilder
                    {
                        EntryRva = 0x1000,
                        Sections = [new PeSectionSpec(".text", 0x1000, 0x600, 0x400, 0x600), new PeSectionSpec(".data", 0x2000, 0x400, 0xA00, 0x400)],
                        FileLength = 0xE00,
                    };
                    data = pe.Build();
                    rng.NextBytes(data.AsSpan(0x400));
                    mdb.Append(CultureInfo($"{0x400}:{Convert.ToHexStringLower(MD5.HashData(data.AsSpan(0xA00, 0x400)))}:Test.Mdb.Section-{i}-0\n"));
                    break;
                default:
                    // Detected by a hash signature, then cleared by the allow-list.
                    hdb.Append(CultureInfo($"{Convert.ToHexStringLower(MD5.HashData(data))}:{data.Length}:Test.Hdb.Allowed-{i}-0\n"));
                    fp.Append(CultureInfo($"{Convert.ToHexStringLower(MD5.HashData(data))}:{data.Length}:Allowed-{i}\n"));
                    break;
            }

            File.WriteAllBytes(name, data);
            _files.Add(name);
        }

        // Random filler, one line an ignore list drops, one line with a functionality level this engine skips.
        for (int i = 0; i < 200; i++)
        {
            hdb.Append(CultureInfo($"{RandomHex(rng, 16)}:{rng.Next(1, 100000)}:Test.Filler.Md5-{i}-0\n"));
            mdb.Append(CultureInfo($"{rng.Next(1, 64) * 512}:{RandomHex(rng, 16)}:Test.Filler.Section-{i}-0\n"));
        }

        hdb.Append(CultureInfo($"{RandomHex(rng, 16)}:77:Test.Ignored-1-0\n{RandomHex(rng, 16)}:78:Test.FutureLevel-1-0:999\n"));
        File.WriteAllText(Path.Combine(_db, "t.hdb"), hdb.ToString());
        File.WriteAllText(Path.Combine(_db, "t.hsb"), hsb.ToString());
        File.WriteAllText(Path.Combine(_db, "t.mdb"), mdb.ToString());
        File.WriteAllText(Path.Combine(_db, "t.ndb"), ndb.ToString());
        File.WriteAllText(Path.Combine(_db, "t.ldb"), ldb.ToString());
        File.WriteAllText(Path.Combine(_db, "t.fp"), fp.ToString());
        File.WriteAllText(Path.Combine(_db, "t.ign2"), "Test.Ignored-1-0\n");
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Compile_ThenLoad_ReadsTheCacheWithEqualSignaturesAndFindings_AndFindingsEqualClamscan()
    {
        SignatureDatabase sources = SignatureDatabase.Load(_db);
        Assert.Null(sources.CachePath);
        SignatureDatabase compiled = SignatureDatabase.Compile(_db, out string cachePath);
        Assert.Equal(Path.Combine(Path.GetFullPath(_db), SignatureCache.FileName), cachePath);
        Assert.Empty(Directory.GetFiles(_db, "*.tmp"));

        var notices = new List<string>();
        SignatureDatabase cached = SignatureDatabase.Load([_db], notices.Add);
        Assert.Equal(cachePath, cached.CachePath);
        Assert.Empty(notices);
        SignatureDatabase viaFiles = SignatureDatabase.Load([.. SignatureCache.DatabaseFiles(_db)], notices.Add);
        Assert.Equal(cachePath, viaFiles.CachePath);

        foreach (SignatureDatabase db in new[] { compiled, cached })
        {
            Assert.Equal(sources.SignatureSetHash, db.SignatureSetHash);
            Assert.Equal(sources.TypeCounts, db.TypeCounts);
            Assert.Equal(sources.Issues, db.Issues);
            Assert.Equal(sources.HashSignatureCount, db.HashSignatureCount);
            Assert.Equal(sources.BodySignatureCount, db.BodySignatureCount);
            Assert.Equal(sources.LogicalSignatureCount, db.LogicalSignatureCount);
        }

        Assert.Contains(sources.TypeCounts, c => c.Type == "hdb" && c.Ignored == 1 && c.NotLoaded == 1);
        Dictionary<string, SortedSet<string>> expected = Findings(sources);
        Assert.Equal(expected, Findings(cached));
        Assert.True(expected.Values.Sum(v => v.Count) >= 10, "the planted signatures are found");
        Assert.Equal(ClamscanOracle.Scan([_db], _files), expected);
    }

    [Fact]
    public void ChangedSource_CacheIsStale_LoadedFromSourcesAndRewritten()
    {
        SignatureDatabase.Compile(_db, out string cachePath);
        string hdb = Path.Combine(_db, "t.hdb");

        // Same length and modification time, other content: only the content hash tells.
        DateTime mtime = File.GetLastWriteTimeUtc(hdb);
        byte[] text = File.ReadAllBytes(hdb);
        int at = Encoding.ASCII.GetString(text).IndexOf("Test.Hdb.Md5-0-0", StringComparison.Ordinal);
        "Test.Hdb.Md5-0-X"u8.CopyTo(text.AsSpan(at));
        File.WriteAllBytes(hdb, text);
        File.SetLastWriteTimeUtc(hdb, mtime);

        var notices = new List<string>();
        SignatureDatabase db = SignatureDatabase.Load([_db], notices.Add);
        Assert.Null(db.CachePath);
        Assert.Contains(notices, n => n.Contains("stale", StringComparison.Ordinal) && n.Contains("t.hdb content changed", StringComparison.Ordinal));
        Assert.Contains(notices, n => n.Contains("rebuilt", StringComparison.Ordinal));
        Assert.Contains("Test.Hdb.Md5-0-X", Findings(db)[_files[0]]);

        // The rewritten cache is used next time and has the change; a new file makes it stale again.
        notices.Clear();
        SignatureDatabase again = SignatureDatabase.Load([_db], notices.Add);
        Assert.Equal(cachePath, again.CachePath);
        Assert.Empty(notices);
        Assert.Equal(db.SignatureSetHash, again.SignatureSetHash);
        File.WriteAllText(Path.Combine(_db, "u.ndb"), "Test.New-1-0:0:*:0102030405060708\n");
        Assert.Null(SignatureDatabase.Load([_db], notices.Add).CachePath);
        Assert.Contains(notices, n => n.Contains("source file(s) then", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("flip")]
    [InlineData("truncate")]
    [InlineData("garbage")]
    public void DamagedCache_IsIgnoredWithANote_AndRebuilt(string damage)
    {
        SignatureDatabase reference = SignatureDatabase.Compile(_db, out string cachePath);
        byte[] bytes = File.ReadAllBytes(cachePath);
        switch (damage)
        {
            case "flip":
                bytes[bytes.Length * 2 / 3] ^= 0x40;
                break;
            case "truncate":
                bytes = bytes[..(bytes.Length / 2)];
                break;
            default:
                new Random(1).NextBytes(bytes);
                break;
        }

        File.WriteAllBytes(cachePath, bytes);
        var notices = new List<string>();
        SignatureDatabase db = SignatureDatabase.Load([_db], notices.Add);
        Assert.Null(db.CachePath);
        Assert.Contains(notices, n => n.Contains("unusable", StringComparison.Ordinal));
        Assert.Equal(reference.SignatureSetHash, db.SignatureSetHash);
        Assert.Equal(Findings(reference), Findings(db));
        Assert.Equal(cachePath, SignatureDatabase.Load([_db], notice: null).CachePath);
    }

    [Fact]
    public void PartOfAFolder_DoesNotUseOrWriteItsCache()
    {
        SignatureDatabase.Compile(_db, out string cachePath);
        DateTime written = File.GetLastWriteTimeUtc(cachePath);
        var notices = new List<string>();
        SignatureDatabase db = SignatureDatabase.Load([Path.Combine(_db, "t.hdb")], notices.Add);
        Assert.Null(db.CachePath);
        Assert.Empty(notices);
        Assert.Equal(written, File.GetLastWriteTimeUtc(cachePath));
    }

    private static string CultureInfo(FormattableString s) => FormattableString.Invariant(s);

    private static string RandomHex(Random rng, int bytes)
    {
        byte[] b = new byte[bytes];
        rng.NextBytes(b);
        return Convert.ToHexStringLower(b);
    }

    private Dictionary<string, SortedSet<string>> Findings(SignatureDatabase db) =>
        _files.ToDictionary(f => f, f => new SortedSet<string>(db.Scan(File.ReadAllBytes(f)).Select(d => d.SignatureName), StringComparer.Ordinal));
}
#pragma warning restore CA5350, CA5351
