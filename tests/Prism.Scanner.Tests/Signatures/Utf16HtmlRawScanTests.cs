using System.Security.Cryptography;
using System.Text;
using Prism.Scanner.Signatures;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// HTML in UTF-16: clamscan scans a UTF-16LE file (with or without its mark) raw as well as its decoded
/// normalisations — no HTML rule matches its raw bytes, so the raw pass is not skipped — while a UTF-16BE file with its
/// mark is typed HTML outright and only its normalisations are scanned. Raw UTF-16 patterns (both byte orders, the
/// other one shifted by a byte), a logical signature satisfied by an absent subsignature sized to the raw file, the
/// raw file's MD5 and the normalised forms, compared per file with clamscan --allmatch.
/// </summary>
public sealed class Utf16HtmlRawScanTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public void Utf16Html_RawAndNormalisedScans_SameNamesAsClamscan()
    {
        Oracle.Require("clamscan", "clamav");
        string page = "<html><head><title>x</title></head><body>Hello QQmarker <b>World</b> " + string.Concat(Enumerable.Repeat("filler text ", 200)) + "</body></html>\n";
        string shortPage = "<html><body>Hello QQmarker <b>World</b></body></html>\n";
        var files = new List<string>();
        byte[]? hashed = null;
        void Add(string name, byte[] bytes)
        {
            string path = _dir.File(name);
            File.WriteAllBytes(path, bytes);
            files.Add(path);
            hashed ??= bytes;
        }

        Add("le.html", [0xFF, 0xFE, .. Encoding.Unicode.GetBytes(page)]);
        Add("le-nomark.html", Encoding.Unicode.GetBytes(page));
        Add("le-short.html", [0xFF, 0xFE, .. Encoding.Unicode.GetBytes(shortPage)]);
        Add("be.html", [0xFE, 0xFF, .. Encoding.BigEndianUnicode.GetBytes(page)]);
        Add("ascii.html", Encoding.ASCII.GetBytes(page));

        static string Hex(byte[] b) => Convert.ToHexStringLower(b);
        string db = Directory.CreateDirectory(_dir.File("db")).FullName;
        File.WriteAllText(Path.Combine(db, "u.ndb"),
            $"RawLe:0:*:{Hex(Encoding.Unicode.GetBytes("Hello QQmarker"))}\n"
            + $"RawBe:0:*:{Hex(Encoding.BigEndianUnicode.GetBytes("Hello QQmarker"))}\n"
            + $"RawLeAt2:0:2:{Hex(Encoding.Unicode.GetBytes("<html>"))}\n"
            + $"RawLeEof:0:EOF-30:{Hex(Encoding.Unicode.GetBytes("</body>"))}\n"
            + $"Normalised0:0:*:{Hex(Encoding.ASCII.GetBytes("hello qqmarker <b>world"))}\n"
            + $"Normalised3:3:*:{Hex(Encoding.ASCII.GetBytes("hello qqmarker world"))}\n"
            + $"Text7:7:*:{Hex(Encoding.ASCII.GetBytes("hello qqmarker <b>world"))}\n");
        File.WriteAllText(Path.Combine(db, "u.ldb"),
            "SizedRaw;Engine:51-255,Target:0,FileSize:4000-90000;0<1;aabbccdd\n"
            + "SizedDecoded;Engine:51-255,Target:0,FileSize:2000-3999;0<1;aabbccdd\n"
            + "Sized3;Engine:51-255,Target:3,FileSize:1000-90000;0<1;aabbccdd\n");
#pragma warning disable CA5351 // ClamAV .hdb signatures are MD5.
        File.WriteAllText(Path.Combine(db, "u.hdb"), $"{Hex(MD5.HashData(hashed!))}:{hashed!.Length}:RawHash\n");
#pragma warning restore CA5351
        string[] databases = [.. Directory.EnumerateFiles(db).Order(StringComparer.Ordinal)];

        Dictionary<string, SortedSet<string>> expected = ClamscanOracle.Scan(databases, files);
        Assert.Contains("RawLe", expected[files[0]]);
        Assert.Contains("SizedRaw", expected[files[0]]);
        Assert.DoesNotContain("RawBe", expected[files[3]]);
        ClamscanComparison.AssertSameEveryWay(SignatureDatabase.Load(databases), files, expected, output, stream: true, (1000, true), (777, false));
    }
}
