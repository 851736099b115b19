using System.Security.Cryptography;
using System.Text;
using Prism.Scanner.Signatures;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// A file that one of ClamAV's start magics types (ZIP, GZIP, RIFF, tar, ... — the types without a target) gets none of
/// its content rules: "%PDF-1." in its first bytes does not make it PDF, nor is it text or binary data; the types
/// clamscan ignores (Real Media, MP3, Ogg, SQLite, ...; and its "PDF image" rule in a file's first 128 bytes) match
/// nothing, not even a hash. Every such magic, followed by a PDF header and a marker, compared per file with clamscan
/// --allmatch (targets 0, 10 and 14, and each file's MD5), beside files with no magic, which the PDF rule types.
/// </summary>
public sealed class StartMagicContentRuleTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public void OtherStartMagic_NoPdfRule_SameNamesAsClamscan()
    {
        Oracle.Require("clamscan", "clamav");
        byte[] body = Encoding.ASCII.GetBytes("\n%PDF-1.4\n1 0 obj\n<< >>\nendobj\nQQPDFMARKERQQ\n" + new string('x', 1500));
        var files = new List<string>();
        int i = 0;
        foreach ((int offset, byte[] magic) in TextTyping.OtherStartMagics.Concat(FileTyping.IgnoredStartMagics.Select(m => (0, m))))
        {
            byte[] data = new byte[offset + magic.Length + 3 + body.Length];
            magic.CopyTo(data, offset);
            data[offset + magic.Length] = 0x01; // not text
            body.CopyTo(data, offset + magic.Length + 3);
            string path = _dir.File($"magic{i++:D2}-{Convert.ToHexStringLower(magic)[..Math.Min(8, magic.Length * 2)]}.bin");
            File.WriteAllBytes(path, data);
            files.Add(path);
        }

        string plain = _dir.File("no-magic.bin");
        File.WriteAllBytes(plain, [0x00, 0x01, 0x02, .. body]);
        files.Add(plain);
        byte[] image = Convert.FromHexString("2f5247420a49440affffffffffffffffffffffffffffffffffffffffffffffff");
        foreach (int at in new[] { 0, 4, 128, 129, 300 })
        {
            string path = _dir.File($"pdf-image-at-{at}.bin");
            byte[] data = new byte[at + image.Length + body.Length];
            data[0] = 0x01;
            image.CopyTo(data, at);
            body.CopyTo(data, at + image.Length);
            File.WriteAllBytes(path, data);
            files.Add(path);
        }

        string marker = Convert.ToHexStringLower(Encoding.ASCII.GetBytes("QQPDFMARKERQQ"));
        string db = _dir.File("m.ndb");
        File.WriteAllText(db, $"Marker.Pdf:10:*:{marker}\nMarker.Any:0:*:{marker}\nMarker.Other:14:*:{marker}\n");
        string hdb = _dir.File("m.hdb");
#pragma warning disable CA5351 // ClamAV .hdb signatures are MD5.
        File.WriteAllLines(hdb, files.Select((f, k) => $"{Convert.ToHexStringLower(MD5.HashData(File.ReadAllBytes(f)))}:{new FileInfo(f).Length}:Hash.{k}"));
#pragma warning restore CA5351
        Dictionary<string, SortedSet<string>> expected = ClamscanOracle.Scan([db, hdb], files);
        Assert.Contains(files, f => expected[f].Count == 0);
        Assert.Contains("Marker.Pdf", expected[plain]);
        Assert.Contains(files, f => !expected[f].Contains("Marker.Pdf"));
        ClamscanComparison.AssertSameEveryWay(SignatureDatabase.Load([db, hdb]), files, expected, output, stream: false, (700, true), (300, false));
    }
}
