using System.IO.Compression;
using System.Text;
using Prism.Scanner.Signatures;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// A decided difference (README, #13): the built-in engine matches signatures on the bytes of each file as it lies on
/// the guest's disk, with clamscan's file typing and normalisations, but does not unpack what a file contains —
/// archives, mail attachments, <c>data:</c> URIs in HTML — which clamscan extracts and scans as files of their own
/// (a fleet that needs that scans with clamd, <c>--engine clamd</c>). Pinned against clamscan: in each file below
/// clamscan finds the planted payload only inside the container, and Prism finds exactly clamscan's other names.
/// </summary>
public sealed class ExtractionDifferenceTests(ITestOutputHelper output) : IDisposable
{
    private static readonly byte[] s_payload = Encoding.ASCII.GetBytes("PRISM-EXTRACTION-PAYLOAD-7f3a9c2e-planted-bytes");

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public void ContainedPayload_FoundByClamscanOnly_EverythingElseEqual()
    {
        Oracle.Require("clamscan", "clamav");
        string b64 = Convert.ToBase64String([.. s_payload, .. s_payload]);
        var files = new List<string>
        {
            Write("datauri.html", Encoding.ASCII.GetBytes($"<html><body><p>Visible Marker text</p><img src=\"data:application/octet-stream;base64,{b64}\"></body></html>\n")),
            Write("deflated.zip", Zip()),
            Write("mail.eml", Encoding.ASCII.GetBytes(
                "From: a@example.com\nTo: b@example.com\nSubject: hi\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n"
                + "--XX\nContent-Type: text/plain\n\nVisible Marker text\n--XX\nContent-Type: application/octet-stream\n"
                + $"Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=a.bin\n\n{b64}\n--XX--\n")),
        };

        string db = _dir.File("x.ndb");
        File.WriteAllText(db,
            $"Contained.Payload:0:*:{Convert.ToHexStringLower(s_payload)}\n"
            + $"Visible.Html:3:*:{Convert.ToHexStringLower(Encoding.ASCII.GetBytes("visible marker text"))}\n"
            + $"Visible.Raw:0:*:{Convert.ToHexStringLower(Encoding.ASCII.GetBytes("Visible Marker text"))}\n");
        Dictionary<string, SortedSet<string>> clamscan = ClamscanOracle.Scan([db], files);
        SignatureDatabase database = SignatureDatabase.Load(db);
        foreach (string file in files)
        {
            SortedSet<string> prism = new(database.Scan(File.ReadAllBytes(file)).Select(d => d.SignatureName), StringComparer.Ordinal);
            output.WriteLine($"{Path.GetFileName(file)}: clamscan [{string.Join(", ", clamscan[file])}], Prism [{string.Join(", ", prism)}]");
            Assert.Contains("Contained.Payload", clamscan[file]);
            Assert.DoesNotContain("Contained.Payload", prism);
            Assert.Equal(clamscan[file].Where(n => n != "Contained.Payload"), prism);
        }

        // The HTML and mail files still match outside their containers.
        Assert.Contains("Visible.Html", clamscan[files[0]]);
        Assert.Contains("Visible.Raw", clamscan[files[2]]);
    }

    private string Write(string name, byte[] bytes)
    {
        string path = _dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] Zip()
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            using Stream entry = zip.CreateEntry("inner.bin", CompressionLevel.Optimal).Open();
            for (int i = 0; i < 50; i++)
            {
                entry.Write(s_payload);
            }
        }

        return buffer.ToArray();
    }
}
