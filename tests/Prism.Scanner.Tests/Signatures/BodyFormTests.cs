using System.Text;
using Prism.Scanner.Signatures;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// Body-signature forms of ClamAV's "Body-based Signature Content Format", each with planted matches, near misses and
/// decoys: one database of all forms, and per file the same signature names as clamscan --allmatch.
/// </summary>
public sealed class BodyFormTests : IDisposable
{
    private const string Padding = "~~~~~~";

    private readonly Prism.Testing.TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>(offset, hex signature, files as text with \xNN escapes); every file is scanned against every signature.</summary>
    private static readonly (string Offset, string Hex, string[] Files)[] s_forms =
    [
        ("*", "7a7a61(6a6a|66(6767|6868)66)61", ["zzajja", "zzafggfa", "zzafhhfa", "zzafgga", "zzafhgfa"]),
        ("*", "7171(72??73|74(75|7677){2}78)7171", ["qqrxsqq", "qqtu..xqq", "qqtvw..xqq", "qqtu...xqq", "qqtvwxqq", "qqtu.xqq"]),
        ("*", "7a7a(6a6a|6666)(6767|6868)7a7a", ["zzjjggzz", "zzffhhzz", "zzjjfzz"]),
        ("*", "7a7a7a(6a??|66)7a7a", ["zzzj.zz", "zzzfzz", "zzzjzz"]),
        ("*", "6b6b(6c|6d6d)6e6e", ["kklnn", "kkmmnn", "kkmnn"]),
        ("*", "6f6f!(70|71)7272", ["oopyrr".Replace("y", "s", StringComparison.Ordinal), "ooprr", "ooqrr", "oo!rr"]),
        ("*", "4748!(4142|4344)4950", ["GHABIP", "GHABIJP".Replace("J", string.Empty, StringComparison.Ordinal), "GHxyIP"]),
        ("*", "5354{0}5556", ["STUV", "STxUV", "STxxxxxxxxxxxxxxxxxxxUV", "UVST"]),
        ("*", "5758{0-0}5960", ["WXY`", "WXzY`", "WXzzzzzzzzzzzzzzzzzzY`"]),
        ("*", "5b5c{-0}5d5e", ["[\\]^", "[\\...]^"]),
        ("*", "5152{0-1}5354", ["QRST", "QRxST", "QRxxST"]),
        ("*", "7a7b{-2}7c7d", ["z{|}", "z{.|}", "z{..|}", "z{...|}"]),
        ("*", "3132{2-}3334", ["12.34", "12..34", "12.....34"]),
        ("*", "3536*3738", ["5678", "56....78", "78 56"]),
        ("*", "4a4b??4c4d", ["JK.LM", "JKLM", "JK..LM"]),
        ("*", "4e4f5?5152", ["NOPQR", "NOQQR".Replace("Q", "S", StringComparison.Ordinal), "NO`QR"]),
        ("*", "2324?52627", ["#$%&'", "#$5&'", "#$&&'"]),
        ("*", "3a3b3c[1-2]3d", [":;<.=", ":;<..=", ":;<...=", ":;<="]),
        ("*", "40[1-2]41424344", ["@.ABCD", "@..ABCD", "@...ABCD"]),
        ("*", "(B)6b65790a", ["key\n", "xkey\n", " key\n", "_key\n", "9key\n"]),
        ("EOF-6", "7a7a776f7264(B)", ["zzword", "zzword ", "zzwordx", "zzword_"]),
        ("*", "7a7a776f7264(B)", ["zzword ", "zzwordx", "zzword_", "zzwordZ"]),
        ("*", "(L)6c696e65", ["line", "\nline", "\rline", "xline", "\r\nline"]),
        ("*", "6c617374(L)", ["last\r\n", "last\n", "last\r", "last\rx", "lastx", "last "]),
        ("EOF-4", "6c617374(L)", ["last", "lasty"]),
        ("*", "7370(W)6363", ["sp cc", "spxcc", "sp\ncc", "sp_cc", "sp0cc", "sp\u00e9cc"]),
        ("*", "(W)71717171", ["qqqq", " qqqq", "aqqqq", ".qqqq"]),
        ("*", "72737475(W)", ["rstu.", "rstuv", "rstu"]),
        ("1", "40[1-2]41424344", ["x@.ABCD", "x@..ABCD", "@.ABCD", "xx@.ABCD", "x@...ABCD"]),
        ("3", "5b[1-2]5c5d5e5f", ["x[.\\]^_", "x[..\\]^_", "[..\\]^_", "x[...\\]^_"]),
        ("3,2", "7b[1-2]7c7d7e7f", ["x{.|}~\u007f", "x{..|}~\u007f", "xx{..|}~\u007f", "xxxx{..|}~\u007f"]),
        ("3", "60616263[1-2]64", ["xx`abc.d", "xxx`abc.d", "xxx`abc..d", "xxx`abc...d"]),
        ("3", "4142434445", ["xyzABCDE", "xyABCDE", "xyzwABCDE"]),
        ("2,3", "46474849", ["..FGHI", ".....FGHI", "......FGHI"]),
        ("EOF-5", "4b4c4d4e4f", ["xxKLMNO", "xxKLMNOx"]),
        ("EOF-6,2", "50515253", ["xxPQRS..", "xxPQRS", "PQRS...."]),
    ];

    [SkippableFact]
    public void Scan_EveryForm_SameNamesAsClamscan()
    {
        string dbDir = Directory.CreateDirectory(_dir.File("db")).FullName;
        var lines = new StringBuilder();
        for (int i = 0; i < s_forms.Length; i++)
        {
            lines.Append($"F{i}:0:{s_forms[i].Offset}:{s_forms[i].Hex}\n");
        }

        File.WriteAllText(Path.Combine(dbDir, "forms.ndb"), lines.ToString());
        var files = new List<string>();
        for (int i = 0; i < s_forms.Length; i++)
        {
            for (int f = 0; f < s_forms[i].Files.Length; f++)
            {
                string path = _dir.File($"f{i}-{f}.bin");
                // ClamAV skips files of 5 bytes or fewer (a documented difference); pad away from the anchored end.
                string text = s_forms[i].Offset.StartsWith("EOF", StringComparison.Ordinal)
                    ? Padding + s_forms[i].Files[f] : s_forms[i].Files[f] + Padding;
                File.WriteAllBytes(path, Encoding.Latin1.GetBytes(text));
                files.Add(path);
            }
        }

        Dictionary<string, SortedSet<string>> expected = ClamscanOracle.Scan([dbDir], files);
        Assert.True(expected.Values.Count(s => s.Count > 0) >= s_forms.Length, "clamscan matched too few files");
        SignatureDatabase db = SignatureDatabase.Load(dbDir);
        Assert.Empty(db.Issues);
        var mismatches = new List<string>();
        foreach (string file in files)
        {
            var names = new SortedSet<string>(db.Scan(File.ReadAllBytes(file)).Select(d => d.SignatureName), StringComparer.Ordinal);
            if (!expected[file].SetEquals(names))
            {
                mismatches.Add($"{Path.GetFileName(file)} '{File.ReadAllText(file)}': clamscan [{string.Join(", ", expected[file])}] vs Prism [{string.Join(", ", names)}]");
            }
        }

        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }
}
