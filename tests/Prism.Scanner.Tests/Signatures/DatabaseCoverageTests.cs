using System.Security.Cryptography;
using System.Text;
using Prism.Scanner.Signatures;
using Prism.Testing;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// Every line form ClamAV accepts loads (or is counted and reported), every line it rejects is rejected with its line
/// number, and allow-lists and ignore lists act as clamscan applies them: per file, the same signature names.
/// </summary>
public sealed class DatabaseCoverageTests : IDisposable
{
    private static readonly byte[] s_match = "xxABCDEFGHyy"u8.ToArray();
    private static readonly byte[] s_sameSize = "xxABCDzzzzzz"u8.ToArray();
    private static readonly byte[] s_nearMiss = "xxABCXEFGXyy"u8.ToArray();

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

#pragma warning disable CA5350, CA5351 // the hashes ClamAV databases name files by
    private static string Md5 => Convert.ToHexStringLower(MD5.HashData(s_match));

    private static string Sha1 => Convert.ToHexStringLower(SHA1.HashData(s_match));

    private static string LineMd5(string line) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(line)));
#pragma warning restore CA5350, CA5351

    private static string Sha256 => Convert.ToHexStringLower(SHA256.HashData(s_match));

    public static TheoryData<string> AcceptedCases => [.. AcceptedDatabases.Keys];

    public static TheoryData<string, string, int> RejectedCases => new()
    {
        { "a.ndb", "A:0:*:41424344\nB:x:*:45464748\n", 2 },
        { "a.ndb", "A:-1:*:41424344\n", 1 },
        { "a.ndb", "A:*:EP+0:41424344\n", 1 },
        { "a.ndb", "A:0:VI:41424344\n", 1 },
        { "a.ndb", "A:1:S1:41424344\n", 1 },
        { "a.ndb", "A:1:EP*3:41424344\n", 1 },
        { "a.ndb", "A:1:EP+3,x:41424344\n", 1 },
        { "a.hdb", $"{Md5}:0:H\n", 1 },
        { "a.ldb", "L;Target:0;0;41424344\nM;Target:0;0&1;41424344\n", 2 },
        { "a.ldb", "L;Target:0,Engine:51-255;0;41424344\n", 1 },
        { "a.ldb", "L;Engine:51-255;0;41424344\n", 1 },
        { "a.ldb", "L;Target:0,FileSize:10-20;0;41424344\n", 1 },
        { "a.ldb", "L;Engine:51-255,Target:0,EntryPoint:0-10;0;41424344\n", 1 },
        { "a.ldb", "L;Engine:51-255,Target:0,FileSize:10;0;41424344\n", 1 },
        { "a.ldb", "L;Engine:51-255,Target:0,IconGroup1:x;0;41424344\n", 1 },
        { "a.ldb", "L;Target:0;0&;41424344\n", 1 },
        { "a.ldb", "L;Target:0;(0|1;41424344;45464748\n", 1 },
        { "a.ldb", "L;Target:0;0;41424344::z\n", 1 },
        { "a.ldb", "L;Target:0;0|1;41424344;4142434\n", 1 },
        { "a.ldb", "L;Target:0;0;EP+1:41424344\n", 1 },
        { "a.mdb", $"512:{Md5}:M\n0:{Md5}:Zero\n", 2 },
        { "a.mdb", $"*:{Md5}:NoLevel\n", 1 },
        { "a.msb", $"512:{Md5}zz:Short\n", 1 },
        { "a.msb", $"{Sha1}:512:Swapped\n", 1 },
        { "a.ndb", "A:0:*:41424344\nB:0:SL+0:41424344\n", 2 },
        { "a.ndb", "A:0:$x$:41424344\n", 1 },
        { "a.ndb", "A:1:$$:41424344\n", 1 },
        { "a.hdb", $"{Md5}abcd:12:H\n", 1 },
        { "a.hdb", $"{Md5}:*:H\n", 1 },
        { "a.fp", $"# c\nzz:12:X\n", 2 },
        { "a.ldb", "L;Engine:81-255,Target:0;0&1;41424344;/abc/\n", 1 },
        { "a.ldb", "L;Engine:81-255,Target:0;0;41424344\nM;Engine:81-255,Target:0;0&1;41424344;1/abc/\n", 2 },
        { "a.ldb", "L;Engine:81-255,Target:0;0&1;41424344;0/abc/z\n", 1 },
        { "a.ldb", "L;Engine:81-255,Target:0;0&1;41424344;0/abc\n", 1 },
        { "a.ldb", "L;Engine:81-255,Target:0;0&1;41424344;0//\n", 1 },
        { "a.ldb", "L;Engine:81-255,Target:0;0&1;41424344;0(>>4#dl2#=1)\n", 1 },
        { "a.ldb", "L;Engine:81-255,Target:0;0&1;41424344;0(>>4#ib3#=1)\n", 1 },
        { "a.ldb", "L;Engine:81-255,Target:0;0&1;41424344;0(>>4#ib2#=1,<2,>3)\n", 1 },
        { "a.ldb", "L;Engine:81-255,Target:0;0&1;41424344;0(4#ib2#=1)\n", 1 },
        { "a.ldb", "L;Engine:81-255,Target:0;0&1;41424344;0(>>4#ib2#1)\n", 1 },
        { "a.ndb", "A:0:*:41424344\nB:0:$32$:45464748\n", 2 },
        { "a.ldb", "L;Engine:51-255,Target:0;0&1;41424344;${1-2}32$\n", 1 },
        { "a.ldb", "L;Engine:51-255,Target:0;0&1;41424344;${1-2}3\n", 1 },
        { "a.ldb", "L;Engine:51-255,Target:0;0&1;41424344;${1}3$\n", 1 },
        { "a.ldb", "L;Engine:51-255,Target:0;0&1;41424344;$1-2}3$\n", 1 },
        { "a.ign2", "A\n\nB\n", 2 },
        { "a.ign2", "x:y:A:z\n", 1 },
        { "a.ign2", "Abc:0123\n", 1 },
    };

    private static Dictionary<string, Dictionary<string, string>> AcceptedDatabases => new()
    {
        ["comments"] = new()
        {
            ["a.ndb"] = "# a comment\nA:0:*:41424344\n#B:0:*:45464748\n",
            ["a.hdb"] = $"# c\n{Md5}:12:H\n",
            ["a.hsb"] = $"#\n{Sha256}:12:S\n",
        },
        ["target types"] = new()
        {
            ["a.ndb"] = string.Concat(Enumerable.Range(0, 15).Select(t => $"T{t}:{t}:*:41424344\n"))
                + "Star:*:*:45464748\nT99:99:*:45464748\nStarEof:*:EOF-4:47487979\n",
        },
        ["executable offsets and section hashes"] = new()
        {
            ["a.ndb"] = "Ep:1:EP+0:41424344\nEpMinus:1:EP-12,4:41424344\nEpEmpty:1:EP+:41424344\nSx:1:S2+16:41424344\n"
                + "Sl:1:SL+0,10:41424344\nSe:1:SE0:41424344\nSeShift:1:SE3,8:41424344\nPe:1:*:41424344\nAny:0:*:45464748\n",
            ["a.mdb"] = $"512:{Md5}:M1\n*:{Md5}:M2:73\n4096:{Sha256}:M3\n",
            ["a.msb"] = $"1024:{Sha1}:S1\n*:{Sha256}:S2:73:255\n512:{Md5}:S3\n",
            ["a.ign2"] = "M2\nSe\n",
        },
        ["logical signatures"] = new()
        {
            ["a.ldb"] = "L1;Target:0;0&1;41424344;45464748\nL2;Target:0;0>1;41424344\nL3;Target:0;(0|1)=2;41424344;45464748\n"
                + "L4;Target:0;0=0;5a5a5a5a\nL5;Engine:51-255,Target:1,IconGroup1:Foo;0;41424344\n"
                + "L6;Engine:81-255,Target:0;0&1;41424344;0/qqq/\nL7;Engine:51-255,Target:0,Foo:1;0;41424344\n"
                + "L8;Target:1;0;41424344\nL9;Engine:51-255,Target:0,FileSize:12-12;0|1;41424344;45464748\n"
                + "L10;Target:0;((0|1)>1,2)&2<1;414243::i;474879;5858\nL11;Target:0;0;4142{1}44::a\n",
            ["b.ign2"] = "L3\n",
        },
        ["eof offsets on a file typed MZ whose headers do not parse"] = new()
        {
            ["a.ndb"] = "Eof:0:EOF-4:47487979\nEofShift:0:EOF-6,2:47487979\nAny:0:*:41424344\n",
            ["a.ldb"] = "LEof;Engine:81-255,Target:0;0&1;41424344;EOF-2:7979\nLPcre;Engine:81-255,Target:0;0&1;41424344;EOF-4:0/GHyy/\n",
        },
        ["macro offsets"] = new()
        {
            ["a.ndb"] = "A:0:$12$:41424344\nB:0:*:45464748\nC:1:$3:41424344\nD:0:$7$,5:41424344\n",
        },
        ["macro subsignatures"] = new()
        {
            ["a.ndb"] = "A:0:$12$:45464748\nB:0:$12x:47487979\n",
            ["b.ldb"] = "L;Engine:51-255,Target:0;0&1;41424344;${0-100}12$\nM;Engine:51-255,Target:0;0&1;${0-9}12$;41424344\n"
                + "N;Engine:51-255,Target:0;0>1&1;41424344;${0-100}12x$\n",
        },
        ["hash lengths in any hash file"] = new()
        {
            ["a.hdb"] = $"{Sha1}:12:HdbSha1\n{Sha256}:12:HdbSha256\n{Md5}:*:HdbAny:73\n",
            ["a.hsb"] = $"{Md5}:12:HsbMd5\n{Sha256}:*:HsbAny:73\n{Sha1}:13:WrongSize\n",
        },
        ["fp allow-lists md5"] = new()
        {
            ["a.ndb"] = "A:0:*:41424344\nB:0:*:45464748\n",
            ["a.hdb"] = $"{Md5}:12:H\n",
            ["a.fp"] = $"{Md5}:12:AnyName\n",
        },
        ["fp wrong size"] = new()
        {
            ["a.ndb"] = "A:0:*:41424344\n",
            ["a.fp"] = $"{Md5}:13:X\n",
        },
        ["sfp sha1, fp sha256, fp any size"] = new()
        {
            ["a.ndb"] = "A:0:*:41424344\n",
            ["a.sfp"] = $"{Sha1}:12:X\n",
            ["b.fp"] = $"{Sha256}:*:Y:73\n",
        },
        ["ign2 names"] = new()
        {
            ["a.ndb"] = "A:0:*:41424344\nB:0:*:45464748\n",
            ["a.hdb"] = $"{Md5}:12:H\n",
            ["a.ign2"] = "# comment\nA\nH\nA.UNOFFICIAL\nNotLoaded\n",
        },
        ["ign2 with line md5"] = new()
        {
            ["a.ndb"] = "Abc:0:*:41424344\nBcd:0:*:45464748\n",
            ["z.ign2"] = $"Abc:{LineMd5("Abc:0:*:41424344")}\nBcd:{LineMd5("Bcd:0:*:45464749")}\n",
        },
        ["ign legacy"] = new()
        {
            ["a.ndb"] = "A:0:*:41424344\nB:0:*:45464748\n",
            ["a.ign"] = "a.ndb:1:A\n",
        },
        ["other types reported"] = new()
        {
            ["a.ndb"] = "A:0:*:41424344\n",
            ["a.info"] = "junk\n",
            ["a.cfg"] = "junk\n",
            ["b.ldb"] = "L;Engine:51-255,Target:0;0;5a5a5a5a\n",
            ["c.hdu"] = $"{Md5}:12:Pua\n",
            ["c.ndu"] = "PuaBody:0:*:41424344\n",
        },
    };

    [SkippableTheory]
    [MemberData(nameof(AcceptedCases))]
    public void Load_AcceptedDatabase_SameNamesPerFileAsClamscan(string caseName)
    {
        Dictionary<string, string> database = AcceptedDatabases[caseName];
        (string dbDir, List<string> files) = Plant(database);
        Dictionary<string, SortedSet<string>> expected = ClamscanOracle.Scan([dbDir], files);

        SignatureDatabase db = SignatureDatabase.Load(dbDir);
        foreach (string file in files)
        {
            var names = new SortedSet<string>(db.Scan(File.ReadAllBytes(file)).Select(d => d.SignatureName), StringComparer.Ordinal);
            Assert.True(expected[file].SetEquals(names),
                $"{caseName}, {Path.GetFileName(file)}: clamscan [{string.Join(", ", expected[file])}] vs Prism [{string.Join(", ", names)}]");
        }

        // Every non-comment line of every file is accounted for in the per-type counts.
        foreach ((string fileName, string text) in database)
        {
            string type = Path.GetExtension(fileName).TrimStart('.');
            int lines = database.Where(kv => Path.GetExtension(kv.Key).TrimStart('.') == type)
                .Sum(kv => kv.Value.Split('\n').Count(l => l.Length > 0 && !l.StartsWith('#')));
            SignatureTypeCount count = Assert.Single(db.TypeCounts, c => c.Type == type);
            Assert.Equal(lines, count.Loaded + count.NotLoaded + count.Ignored);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(RejectedCases))]
    public void Load_LineClamscanRejects_ThrowsWithLine(string fileName, string text, int line)
    {
        string dbDir = Directory.CreateDirectory(_dir.File("db")).FullName;
        string path = Path.Combine(dbDir, fileName);
        File.WriteAllText(path, text);
        File.WriteAllBytes(_dir.File("f"), s_match);
        string clamscan = Oracle.Require("clamscan", "clamav");
        ProcessResult r = Oracle.Run(clamscan, ["--no-summary", "--bytecode=no", "-d", dbDir, _dir.File("f")], check: false);
        Assert.True(r.ExitCode == 2, $"clamscan accepted {fileName}: {r.StdOut}{r.StdErr}");
        Assert.Contains($"at line {line}", r.StdErr + r.StdOut, StringComparison.Ordinal);

        SignatureFormatException e = Assert.Throws<SignatureFormatException>(() => SignatureDatabase.Load(dbDir));
        Assert.Equal(path, e.FilePath);
        Assert.Equal(line, e.LineNumber);
    }

    [Fact]
    public void Load_TargetTypes_CountedAndReportedPerType()
    {
        string text = AcceptedDatabases["target types"]["a.ndb"];
        SignatureDatabase db = SignatureDatabase.LoadFromText(("a.ndb", text));
        // Types told by magic (13: ClamAV's internal JSON), HTML (3), normalised text (7) and binary data (14) are loaded
        // (FileTyping, HtmlNormalizer, TextNormalizer, TextTyping); 8 (no file is typed for it) is counted and named.
        Assert.Equal(["T0", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T9", "T10", "T11", "T12", "T13", "T14", "Star", "StarEof"], db.Bodies.Select(b => b.Name));
        SignatureTypeCount ndb = Assert.Single(db.TypeCounts);
        Assert.Equal(new SignatureTypeCount("ndb", 16, 2, 0), ndb);
        foreach (int t in new[] { 8 })
        {
            Assert.Single(db.Issues, i => i.LineNumber == t + 1 && i.Reason.StartsWith($"target type {t} (", StringComparison.Ordinal));
        }

        Assert.Contains(db.Issues, i => i.Reason.Contains("target type 99 is unknown", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_TypesNeedingOtherEngines_CountedAndNamed()
    {
        string[] types = ["cbc", "idb", "pdb", "wdb", "crb", "cdb", "ftm", "hdu", "mdu", "info", "cfg", "gdb", "imp", "yara"];
        foreach (string t in types)
        {
            File.WriteAllText(_dir.File("x." + t), "# header\nline one\nline two\n\n");
        }

        File.WriteAllText(_dir.File("notes.txt"), "not a database\n");
        File.WriteAllText(_dir.File("a.ndb"), "A:0:*:41424344\n");
        SignatureDatabase db = SignatureDatabase.Load(_dir.Path);
        Assert.Equal(types.Order(StringComparer.Ordinal).Append("ndb").Order(StringComparer.Ordinal), db.TypeCounts.Select(c => c.Type));
        Assert.All(db.TypeCounts.Where(c => c.Type != "ndb"), c => Assert.Equal((0, 2), (c.Loaded, c.NotLoaded)));
        Assert.Equal(types.Length, db.Issues.Count);
        Assert.Contains(db.Issues, i => i.Source.EndsWith("x.cbc", StringComparison.Ordinal) && i.Reason.Contains("bytecode", StringComparison.Ordinal));
        Assert.Contains(db.Issues, i => i.Source.EndsWith("x.pdb", StringComparison.Ordinal) && i.Reason.Contains("phishing", StringComparison.Ordinal));
        Assert.All(types, t => Assert.True(SignatureDatabase.IsDatabaseFile("y." + t.ToUpperInvariant())));
        Assert.False(SignatureDatabase.IsDatabaseFile("notes.txt"));
    }

    [Fact]
    public void Load_IgnoreListGivenAfterDatabase_StillApplies()
    {
        File.WriteAllText(_dir.File("a.ndb"), "A:0:*:41424344\nB:0:*:45464748\n");
        File.WriteAllText(_dir.File("z.ign2"), "A\n");
        SignatureDatabase late = SignatureDatabase.LoadFromText(("a.ndb", "A:0:*:41424344\nB:0:*:45464748\n"), ("z.ign2", "A\n"));
        SignatureDatabase files = SignatureDatabase.Load(_dir.File("a.ndb"), _dir.File("z.ign2"));
        foreach (SignatureDatabase db in new[] { late, files })
        {
            Assert.Equal(["B"], db.Scan(s_match).Select(d => d.SignatureName));
            Assert.Equal(new SignatureTypeCount("ndb", 1, 0, 1), Assert.Single(db.TypeCounts, c => c.Type == "ndb"));
        }
    }

    [Fact]
    public void SignatureSetHash_AllowAndIgnoreListsChangeIt()
    {
        string plain = SignatureDatabase.LoadFromText(("a.ndb", "A:0:*:41424344\n")).SignatureSetHash;
        string allowed = SignatureDatabase.LoadFromText(("a.ndb", "A:0:*:41424344\n"), ("a.fp", $"{Md5}:12:X\n")).SignatureSetHash;
        string ignored = SignatureDatabase.LoadFromText(("a.ndb", "A:0:*:41424344\nB:0:*:45464748\n"), ("a.ign2", "B\n")).SignatureSetHash;
        Assert.NotEqual(plain, allowed);
        Assert.Equal(plain, ignored);
    }

    private (string DbDir, List<string> Files) Plant(Dictionary<string, string> database)
    {
        string dbDir = Directory.CreateDirectory(_dir.File("db")).FullName;
        foreach ((string name, string text) in database)
        {
            File.WriteAllText(Path.Combine(dbDir, name), text);
        }

        var files = new List<string>();
        // "MZ" types a file as an executable (target type 1) even when its PE headers are broken.
        foreach ((string name, byte[] data) in new[] { ("match.bin", s_match), ("same-size.bin", s_sameSize), ("near.bin", s_nearMiss), ("mz.bin", [.. "MZ"u8, .. s_match]) })
        {
            string path = _dir.File(name);
            File.WriteAllBytes(path, data);
            files.Add(path);
        }

        return (dbDir, files);
    }
}
