using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Prism.Scanner.Signatures;
using Prism.Testing;

namespace Prism.Scanner.Tests.Signatures;

public sealed class SignatureLoaderTests : IDisposable
{
    private const string Md5A = "44d88612fea8a8f36de82e1278abb02f";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string, string, int, string> MalformedLines => new()
    {
        { "bad.hdb", $"{Md5A}:68:Ok\nnothex:68:Bad\n", 2, "characters" },
        { "bad.hdb", $"{Md5A}:68:Ok\n{Md5A}:sixty:Bad\n", 2, "file size" },
        { "bad.hdb", $"{Md5A}:*:NoLevel\n", 1, "MinFL" },
        { "bad.hdb", $"{Md5A}:68\n", 1, "field" },
        { "bad.hsb", $"{Md5A}0000:68:WrongLength\n", 1, "characters" },
        { "bad.ndb", "A:0:*:414243444\n", 1, "odd number" },
        { "bad.ndb", "A:0:*:41424344\nB:0:*:4142zz44\n", 2, "invalid character" },
        { "bad.ndb", "\n\nA:0:*:4142{5-2}4344\n", 3, "min > max" },
        { "bad.ndb", "A:0:*:4142(43|44\n", 1, "not closed" },
        { "bad.ndb", "A:0:*:4142**4344\n", 1, "empty part" },
        { "bad.ndb", "A:0:X:41424344\n", 1, "offset" },
        { "bad.ndb", "A:0:EP+10:41424344\n", 1, "executable target" },
        { "bad.ndb", "A:x:*:41424344\n", 1, "target type" },
        { "bad.ndb", "::*:41424344\n", 1, "name" },
        { "bad.ndb", "A:0:*\n", 1, "field" },
    };

    [Theory]
    [MemberData(nameof(MalformedLines))]
    public void Load_MalformedLine_ThrowsWithFileAndLine(string fileName, string text, int line, string detail)
    {
        string path = _dir.File(fileName);
        File.WriteAllText(path, text);
        SignatureFormatException e = Assert.Throws<SignatureFormatException>(() => SignatureDatabase.Load(path));
        Assert.Equal(path, e.FilePath);
        Assert.Equal(line, e.LineNumber);
        Assert.StartsWith($"{path}:{line}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(detail, e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnsupportedLines_ReportedWithLineNumbersAndOthersLoaded()
    {
        string path = _dir.File("mixed.ndb");
        File.WriteAllText(path, string.Join('\n',
            "Ok1:0:*:41424344",
            "Pe:1:*:41424344",
            "Ep:1:EP+0:41424344",
            "Boundary:0:*:4142(B)4344",
            "Future:0:*:41424344:250",
            "Old:0:*:41424344:1:20",
            "Ok2:0:EOF-10:4142??44") + "\n");
        SignatureDatabase db = SignatureDatabase.Load(path);
        Assert.Equal(4, db.BodySignatureCount);
        Assert.Equal([4, 5, 6], db.Issues.Select(i => i.LineNumber));
        Assert.All(db.Issues, i => Assert.Equal(path, i.Source));
        Assert.Contains("(B)", db.Issues[0].Reason, StringComparison.Ordinal);
        Assert.Contains("216", db.Issues[1].Reason, StringComparison.Ordinal);
        Assert.True(db.HasPeTargetSignatures);
        Assert.True(db.HasEofAnchoredSignatures);
        Assert.False(db.HasUnboundedSignatures);
    }

    [Fact]
    public void Load_DirectoryWithOtherClamAvFiles_ReportsThemPerFile()
    {
        File.WriteAllText(_dir.File("a.ndb"), "A:0:*:41424344*45464748\n");
        File.WriteAllText(_dir.File("b.ldb"), "L;Engine:51-255,Target:0;0;41424344\nL2;Engine:51-255,Target:0;0;41424345\n");
        File.WriteAllText(_dir.File("c.cbc"), "bytecode\nmore\n");
        File.WriteAllText(_dir.File("notes.txt"), "not a database\n");
        SignatureDatabase db = SignatureDatabase.Load(_dir.Path);
        SignatureIssue issue = Assert.Single(db.Issues);
        Assert.Equal(_dir.File("c.cbc"), issue.Source);
        Assert.Equal(0, issue.LineNumber);
        Assert.Contains("2 line(s)", issue.Reason, StringComparison.Ordinal);
        Assert.Equal(2, db.LogicalSignatureCount);
        Assert.True(db.HasUnboundedSignatures);
    }

    [Fact]
    public void MaxPatternLength_BoundedSignature_IsLongestSpan()
    {
        SignatureDatabase db = SignatureDatabase.LoadFromText(("m.ndb", "A:0:*:4142{10-20}4344(45|464748)\nB:0:*:41424344*4546{3}4748\n"));
        Assert.Equal(2 + 20 + 2 + 3, db.MaxPatternLength);
        Assert.True(db.HasUnboundedSignatures);
    }

    [Fact]
    public void SignatureSetHash_SameSignaturesAnyOrderAndCase_Equal_DifferentSignature_Differs()
    {
        string a = SignatureDatabase.LoadFromText(("x.ndb", "A:0:*:41424344\nB:0:10:4142??44\n"), ("y.hdb", $"{Md5A}:68:H\n")).SignatureSetHash;
        string b = SignatureDatabase.LoadFromText(("y.hdb", $"{Md5A.ToUpperInvariant()}:68:H\n"), ("x.ndb", "B:0:10:4142??44\nA:0:*:41424344\n")).SignatureSetHash;
        string c = SignatureDatabase.LoadFromText(("x.ndb", "A:0:*:41424344\nB:0:11:4142??44\n"), ("y.hdb", $"{Md5A}:68:H\n")).SignatureSetHash;
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.Equal(64, a.Length);
    }

    [Theory]
    [InlineData(".cvd")]
    [InlineData(".cld")]
    public void Load_CvdOrCld_SameSignaturesAsLooseFiles(string extension)
    {
        var members = new Dictionary<string, string>
        {
            ["test.ndb"] = "N:0:*:41424344{2}4748\n",
            ["test.hdb"] = $"{Md5A}:68:H\n",
            ["test.hsb"] = $"{new string('a', 64)}:10:S\n",
            ["test.ldb"] = "L;Engine:51-255,Target:0;0;41424344\n",
            ["test.info"] = "test.ndb:1:x\n",
        };
        string path = _dir.File("test" + extension);
        WriteCvd(path, members, compressed: extension == ".cvd");
        SignatureDatabase fromArchive = SignatureDatabase.Load(path);
        SignatureDatabase loose = SignatureDatabase.LoadFromText(
            ("test.ndb", members["test.ndb"]), ("test.hdb", members["test.hdb"]), ("test.hsb", members["test.hsb"]), ("test.ldb", members["test.ldb"]));
        Assert.Equal(loose.SignatureSetHash, fromArchive.SignatureSetHash);
        Assert.Equal(4, fromArchive.SignatureCount);
        Assert.Equal([path + ":test.info"], fromArchive.Issues.Select(i => i.Source));
        Assert.Equal(["L", "N"], fromArchive.Scan("xxABCDEFGHyy"u8).Select(d => d.SignatureName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Load_CvdWithWrongMd5_Throws()
    {
        string path = _dir.File("bad.cvd");
        WriteCvd(path, new Dictionary<string, string> { ["a.ndb"] = "N:0:*:41424344\n" }, compressed: true, corruptMd5: true);
        SignatureFormatException e = Assert.Throws<SignatureFormatException>(() => SignatureDatabase.Load(path));
        Assert.Contains("MD5", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_NotACvd_Throws()
    {
        string path = _dir.File("junk.cvd");
        File.WriteAllBytes(path, new byte[600]);
        Assert.Throws<SignatureFormatException>(() => SignatureDatabase.Load(path));
    }

    [Theory]
    [InlineData(2)] // version: the header is refused as malformed, echoing it
    [InlineData(5)] // MD5: the mismatch message echoes the header's value
    public void Load_CvdHeaderWithEscapeBytes_EchoedEscaped(int field)
    {
        string path = _dir.File("evil.cvd");
        WriteCvd(path, new Dictionary<string, string> { ["a.ndb"] = "N:0:*:41424344\n" }, compressed: true,
            headerField: (field, "1\u001b[2J\u001b]0;owned\u0007\r\n"));
        SignatureFormatException e = Assert.Throws<SignatureFormatException>(() => SignatureDatabase.Load(path));
        // The MD5 field is compared lower-cased, so its echo is too.
        Assert.Contains(@"\u001b[2J\u001b]0;owned\u0007\u000d\u000a", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain('\u001b', e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Load_CvdMemberNamedWithEscapeBytes_IssueEscaped()
    {
        string path = _dir.File("member.cvd");
        WriteCvd(path, new Dictionary<string, string> { ["a.ndb"] = "N:0:*:41424344\n", ["x\u001b[31mred\n.info"] = "a\n" }, compressed: true);
        SignatureDatabase db = SignatureDatabase.Load(path);
        string shown = Assert.Single(db.Issues).ToString();
        Assert.Contains(@"x\u001b[31mred\u000a.info", shown, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', shown);
    }

    /// <summary>Builds a CVD/CLD the way the format describes it: 512-byte header, then a (gzipped) tar.</summary>
    private static void WriteCvd(string path, Dictionary<string, string> members, bool compressed, bool corruptMd5 = false,
        (int Index, string Value)? headerField = null)
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach ((string name, string text) in members)
            {
                writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.ASCII.GetBytes(text)) });
            }
        }

        byte[] body = tar.ToArray();
        if (compressed)
        {
            var gz = new MemoryStream();
            using (var z = new GZipStream(gz, CompressionLevel.Optimal, leaveOpen: true))
            {
                z.Write(body);
            }

            body = gz.ToArray();
        }

#pragma warning disable CA5351
        string md5 = Convert.ToHexStringLower(MD5.HashData(body));
#pragma warning restore CA5351
        if (corruptMd5)
        {
            md5 = new string('0', 32);
        }

        string[] fields = $"ClamAV-VDB:24 Nov 2026 10-00 +0000:1:3:90:{md5}:nosignature:prism:1790000000".Split(':');
        if (headerField is { } hf)
        {
            fields[hf.Index] = hf.Value;
        }

        string header = string.Join(':', fields).PadRight(512, ' ');
        File.WriteAllBytes(path, [.. Encoding.ASCII.GetBytes(header), .. body]);
    }
}
