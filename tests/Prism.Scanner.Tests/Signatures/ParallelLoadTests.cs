using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Prism.Scanner.Signatures;
using Prism.Testing;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// A folder loaded with its hash databases parsed on worker threads gives the database a sequential load gives: the
/// compiled caches written from both are the same bytes (records, name numbering, types, counts, issues in order,
/// bodies, matchers, set hash), and a malformed line is reported as the sequential load reports it.
/// </summary>
public sealed class ParallelLoadTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose()
    {
        SignatureLoader.LoadParallelism = Environment.ProcessorCount;
        _dir.Dispose();
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)]
    public void ParallelLoad_SameCacheBytesAsSequential(int parallelism)
    {
        string db = Path.Combine(_dir.Path, "db");
        WriteFolder(db, new Random(11));

        SignatureLoader.LoadParallelism = 1;
        SignatureDatabase sequential = SignatureDatabase.Compile(db, out string cachePath);
        byte[] sequentialCache = File.ReadAllBytes(cachePath);
        SignatureLoader.LoadParallelism = parallelism;
        SignatureDatabase parallel = SignatureDatabase.Compile(db, out string parallelPath);
        Assert.Equal(cachePath, parallelPath);

        // The folder exercises every merge: sets fed by several files, names shared between files, issues of hash
        // and text files interleaved, lines dropped by the ignore lists, allow-list entries.
        Assert.True(sequential.Md5.Count > 0 && sequential.Md5.AllowedCount > 0 && sequential.Sha256.Count > 0 && sequential.SectionMd5.Count > 0);
        Assert.Contains(sequential.TypeCounts, c => c.Type == "hdb" && c.Ignored == 2 && c.NotLoaded == 1);
        Assert.Equal(
            ["a.hdb", "b.ndb", "c.hsb", "d.mdb", "d.mdb", "e.ldb", "f.msb"],
            sequential.Issues.Select(i => Path.GetFileName(i.Source)).ToArray());
        Assert.Equal(sequential.Issues, parallel.Issues);
        Assert.Equal(sequential.TypeCounts, parallel.TypeCounts);
        Assert.Equal(sequential.SignatureSetHash, parallel.SignatureSetHash);
        Assert.Equal(sequentialCache, File.ReadAllBytes(parallelPath));
    }

    [Theory]
    [InlineData("a.hdb", "b.ndb")]
    [InlineData("b.ndb", "d.mdb")]
    [InlineData("d.mdb", "f.msb")]
    public void ParallelLoad_MalformedLines_ReportsTheFirstFileInLoadOrder(string first, string later)
    {
        string db = Path.Combine(_dir.Path, "db");
        WriteFolder(db, new Random(12));
        foreach (string file in new[] { first, later })
        {
            // A malformed line in the middle of each file.
            List<string> lines = [.. File.ReadAllLines(Path.Combine(db, file))];
            lines.Insert(lines.Count / 2, file.EndsWith(".ndb", StringComparison.Ordinal) ? "Bad.Target:x:*:616263" : "nothex:12:Bad.Hash-1");
            File.WriteAllLines(Path.Combine(db, file), lines);
        }

        SignatureLoader.LoadParallelism = 1;
        SignatureFormatException expected = Assert.Throws<SignatureFormatException>(() => SignatureDatabase.Load(AnchorStrategy.Auto, db));
        SignatureLoader.LoadParallelism = 2;
        SignatureFormatException actual = Assert.Throws<SignatureFormatException>(() => SignatureDatabase.Load(AnchorStrategy.Auto, db));
        Assert.Contains(first, expected.Message, StringComparison.Ordinal);
        Assert.Equal(expected.Message, actual.Message);
    }

    /// <summary>
    /// Hash files of every type, text files between them (in name order: a.hdb b.ndb c.hsb d.mdb e.ldb f.msb g.fp
    /// h.sfp), names repeated within and across files, and ignore lists read first.
    /// </summary>
    private static void WriteFolder(string db, Random rng)
    {
        Directory.CreateDirectory(db);
        string Hex(int bytes) => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(bytes));
        string Size() => rng.Next(1, 5_000_000).ToString(CultureInfo.InvariantCulture);
        string Name(string family) => $"Test.{family}-{rng.Next(0, 40)}";

        var hdb = new StringBuilder();
        string ignoredLine = $"{Hex(16)}:{Size()}:Test.ByLine-1";
        for (int i = 0; i < 3000; i++)
        {
            int hashBytes = (i % 7) switch { 0 => 20, 1 => 32, _ => 16 };
            hdb.Append(CultureInfo.InvariantCulture, $"{Hex(hashBytes)}:{Size()}:{Name("Hdb")}\n");
            if (i == 1000)
            {
                hdb.Append(CultureInfo.InvariantCulture, $"{Hex(16)}:*:Test.AnySize-1:73\n{Hex(16)}:9:Test.Future-1:999\n");
                hdb.Append(CultureInfo.InvariantCulture, $"{Hex(16)}:10:Test.Dropped-1\n{ignoredLine}\n{Hex(16)}:11:Test.Esc\u0007aped-1\n");
            }
        }

        var hsb = new StringBuilder();
        for (int i = 0; i < 2000; i++)
        {
            // Mostly SHA-256, some MD5 (ClamAV takes either in either file): the MD5 set is fed by two files.
            hsb.Append(CultureInfo.InvariantCulture, $"{Hex(i % 5 == 0 ? 16 : 32)}:{Size()}:{Name(i % 3 == 0 ? "Hdb" : "Hsb")}\n");
        }

        hsb.Append(CultureInfo.InvariantCulture, $"{Hex(32)}:12:Test.Hsb-Future:300:400\n");
        var mdb = new StringBuilder();
        for (int i = 0; i < 4000; i++)
        {
            mdb.Append(CultureInfo.InvariantCulture, $"{Size()}:{Hex(i % 11 == 0 ? 32 : 16)}:{Name("Mdb")}\r\n");
            if (i == 2000)
            {
                mdb.Append("12:").Append(Hex(16)).Append(":Test.Mdb-Future:500\n");
                mdb.Append("13:").Append(Hex(16)).Append(":Test.Mdb-Old::10\n");
            }
        }

        var msb = new StringBuilder();
        for (int i = 0; i < 500; i++)
        {
            msb.Append(CultureInfo.InvariantCulture, $"{Size()}:{Hex(i % 2 == 0 ? 20 : 16)}:{Name("Mdb")}\n");
        }

        msb.Append(CultureInfo.InvariantCulture, $"14:{Hex(20)}:Test.Msb-Future:999\n");
        var fp = new StringBuilder();
        var sfp = new StringBuilder();
        for (int i = 0; i < 200; i++)
        {
            fp.Append(CultureInfo.InvariantCulture, $"{Hex(16)}:{Size()}:Test.Fp-{i}\n");
            sfp.Append(CultureInfo.InvariantCulture, $"{Hex(i % 2 == 0 ? 32 : 20)}:{Size()}:Test.Sfp-{i}\n");
        }

        var ndb = new StringBuilder();
        for (int i = 0; i < 300; i++)
        {
            ndb.Append(CultureInfo.InvariantCulture, $"Test.Ndb-{i}:0:*:{Hex(6)}*{Hex(4)}\n");
        }

        ndb.Append(CultureInfo.InvariantCulture, $"Test.Ndb-Future:0:*:{Hex(6)}:999\n");
        var ldb = new StringBuilder();
        for (int i = 0; i < 100; i++)
        {
            ldb.Append(CultureInfo.InvariantCulture, $"Test.Ldb-{i};Engine:51-255,Target:0;0&1;{Hex(5)};{Hex(6)}\n");
        }

        ldb.Append(CultureInfo.InvariantCulture, $"Test.Ldb-Future;Engine:300-400,Target:0;0;{Hex(5)}\n");
        File.WriteAllText(Path.Combine(db, "a.hdb"), hdb.ToString());
        File.WriteAllText(Path.Combine(db, "b.ndb"), ndb.ToString());
        File.WriteAllText(Path.Combine(db, "c.hsb"), hsb.ToString());
        File.WriteAllText(Path.Combine(db, "d.mdb"), mdb.ToString());
        File.WriteAllText(Path.Combine(db, "e.ldb"), ldb.ToString());
        File.WriteAllText(Path.Combine(db, "f.msb"), msb.ToString());
        File.WriteAllText(Path.Combine(db, "g.fp"), fp.ToString());
        File.WriteAllText(Path.Combine(db, "h.sfp"), sfp.ToString());
#pragma warning disable CA5351 // .ign2 names a database line by its MD5.
        string lineMd5 = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(ignoredLine)));
#pragma warning restore CA5351
        File.WriteAllText(Path.Combine(db, "z.ign2"), $"Test.Dropped-1\nTest.ByLine-1:{lineMd5}\n");
    }
}
