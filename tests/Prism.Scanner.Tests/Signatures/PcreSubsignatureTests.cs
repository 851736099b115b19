using System.Text;
using Prism.Scanner.Signatures;
using Prism.Testing;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// PCRE constructs .NET cannot run as PCRE does are reported per line (clamscan loads them), broken patterns reject
/// the database as clamscan does, slow patterns are time-bounded, and the documented deliberate differences hold.
/// </summary>
public sealed class PcreSubsignatureTests : IDisposable
{
    private const string Head = "Engine:81-255,Target:0;0&1;41414141;";

    private static readonly string[] s_untranslated =
    [
        "0/a++b/", "0/x(?R)?y/", "0/(?|(a)|(b))c/", "0/\\p{L}a/", "0/(*UTF)a/", "0/(?x)a b/", "0/ab\\Kc/",
        "0/[[:^alpha:]]a/", "0/(a)?(?(1)b|c)/", "0/(?U)a+/",
    ];

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public void Load_ConstructsNotTranslated_ReportedPerLineWhereClamscanLoadsThem()
    {
        string dbDir = Directory.CreateDirectory(_dir.File("db")).FullName;
        string text = string.Concat(s_untranslated.Select((p, i) => $"U{i};{Head}{p}\n")) + "Plain;" + Head + "0/a.c/\n";
        File.WriteAllText(Path.Combine(dbDir, "u.ldb"), text);
        File.WriteAllBytes(_dir.File("f"), "AAAAabc"u8.ToArray());
        Dictionary<string, SortedSet<string>> expected = ClamscanOracle.Scan([dbDir], [_dir.File("f")]);
        Assert.Contains("Plain", expected[_dir.File("f")]);

        SignatureDatabase db = SignatureDatabase.Load(dbDir);
        Assert.Equal(s_untranslated.Length, db.Issues.Count);
        for (int i = 0; i < s_untranslated.Length; i++)
        {
            Assert.Single(db.Issues, issue => issue.LineNumber == i + 1 && issue.Reason.StartsWith("subsignature 1: ", StringComparison.Ordinal));
        }

        Assert.Equal(new SignatureTypeCount("ldb", 1, s_untranslated.Length, 0), Assert.Single(db.TypeCounts));
        Assert.Equal(["Plain"], db.Scan(File.ReadAllBytes(_dir.File("f"))).Select(d => d.SignatureName));
    }

    [SkippableFact]
    public void Load_PatternPcreCannotCompile_RejectedLikeClamscan()
    {
        string dbDir = Directory.CreateDirectory(_dir.File("db")).FullName;
        string path = Path.Combine(dbDir, "b.ldb");
        File.WriteAllText(path, $"Good;{Head}0/abc/\nBad;{Head}0/a(b/\n");
        File.WriteAllBytes(_dir.File("f"), "AAAA"u8.ToArray());
        string clamscan = Oracle.Require("clamscan", "clamav");
        ProcessResult r = Oracle.Run(clamscan, ["--no-summary", "--bytecode=no", "-d", dbDir, _dir.File("f")], check: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("Malformed database", r.StdErr + r.StdOut, StringComparison.Ordinal);

        SignatureFormatException e = Assert.Throws<SignatureFormatException>(() => SignatureDatabase.Load(dbDir));
        Assert.Equal((path, 2), (e.FilePath, e.LineNumber));
    }

    [Fact]
    public void Load_PatternsNeedingBacktracking_TimeBoundedOthersNonBacktracking()
    {
        SignatureDatabase db = SignatureDatabase.LoadFromText(("a.ldb",
            $"Linear;{Head}0/a[bc]+d\\s*$/m\nLook;{Head}0/(a+)+(?=x)c/\nBack;{Head}0/(ab)\\1/\n"));
        Assert.Empty(db.Issues);
        Assert.Equal([true, false, false], db.Pcres.Select(p => p.IsNonBacktracking));
        Assert.All(db.Pcres.Where(p => !p.IsNonBacktracking), p => Assert.Equal(PcreSubsignature.MatchTimeout, p.Regex.MatchTimeout));

        // Exponential for a backtracking engine: the bounded search ends and counts as no match.
        byte[] data = [.. "AAAA"u8, .. Enumerable.Repeat((byte)'a', 40), .. "abab"u8];
        Assert.Equal(["Back"], db.Scan(data).Select(d => d.SignatureName));
    }

    [Fact]
    public void Scan_EmptyMatchesUnderG_StepOneBytePastEach()
    {
        // Deliberate difference: clamscan's g loop would search again at the same offset forever; Prism moves on.
        SignatureDatabase db = SignatureDatabase.LoadFromText(("a.ldb",
            "Seven;Engine:81-255,Target:0;0&1=7;41414141;0/x*/g\nEight;Engine:81-255,Target:0;0&1=8;41414141;0/x*/g\n"));
        Assert.Equal(["Seven"], db.Scan("AAAAbxb"u8).Select(d => d.SignatureName));
    }

    [Fact]
    public void Scan_ByteCompareOnLargeFile_EvaluatedOnceOnTheWholeFile()
    {
        // Deliberate difference: clamscan evaluates a byte compare after each 128 KiB buffer, on that buffer.
        byte[] data = new byte[300 << 10];
        Encoding.ASCII.GetBytes("KEY1").CopyTo(data, 10);
        Encoding.ASCII.GetBytes("KEY1").CopyTo(data, 200 << 10);
        data[(200 << 10) + 4] = 0x42;
        SignatureDatabase db = SignatureDatabase.LoadFromText(("a.ldb",
            "Once;Engine:81-255,Target:0;0&1=1;4b455931;0(>>4#ib1#=0x42)\nTwice;Engine:81-255,Target:0;0&1=2;4b455931;0(>>4#ib1#=0x42)\n"));
        Assert.Equal(["Once"], db.Scan(data).Select(d => d.SignatureName));
        using ScanSession session = db.CreateSession();
        for (int offset = 0; offset < data.Length; offset += 65536)
        {
            session.Append(data.AsSpan(offset, Math.Min(65536, data.Length - offset)));
        }

        Assert.Equal(["Once"], session.Complete().Select(d => d.SignatureName));
    }

    [Fact]
    public void SignatureSetHash_PcreAndByteCompareChangeIt()
    {
        string a = SignatureDatabase.LoadFromText(("a.ldb", $"L;{Head}0/abc/\n")).SignatureSetHash;
        string b = SignatureDatabase.LoadFromText(("a.ldb", $"L;{Head}0/abd/\n")).SignatureSetHash;
        string c = SignatureDatabase.LoadFromText(("a.ldb", "L;Engine:81-255,Target:0;0&1;41414141;0(>>4#ib1#=1)\n")).SignatureSetHash;
        string d = SignatureDatabase.LoadFromText(("a.ldb", "L;Engine:81-255,Target:0;0&1;41414141;0(>>4#ib1#=2)\n")).SignatureSetHash;
        Assert.Equal(4, new[] { a, b, c, d }.Distinct().Count());
    }
}
