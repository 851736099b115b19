using System.Security.Cryptography.X509Certificates;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Nbd.Tests;

/// <summary>NBD_OPT_STARTTLS with an X.509 certificate (made here with openssl, signed by a throw-away CA): libnbd's
/// nbdinfo and nbdcopy verify it and read the export; a client that does not upgrade is refused.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public async Task TlsMandatoryServer_ServesVerifiedClients_AndRefusesPlainOnes()
    {
        string openssl = Oracle.Require("openssl", "openssl");
        string nbdinfo = Oracle.Require("nbdinfo", "libnbd-bin");
        string nbdcopy = Oracle.Require("nbdcopy", "libnbd-bin");
        string certs = _dir.File("certs");
        Directory.CreateDirectory(certs);
        string F(string n) => Path.Combine(certs, n);
        Oracle.Run(openssl, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", F("ca-key.pem"), "-out", F("ca-cert.pem"), "-days", "2", "-subj", "/CN=Prism test CA"]);
        Oracle.Run(openssl, ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", F("server-key.pem"), "-out", F("server.csr"), "-subj", "/CN=localhost"]);
        File.WriteAllText(F("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
        Oracle.Run(openssl, ["x509", "-req", "-in", F("server.csr"), "-CA", F("ca-cert.pem"), "-CAkey", F("ca-key.pem"), "-CAcreateserial",
            "-out", F("server-cert.pem"), "-days", "2", "-extfile", F("ext.cnf")]);

        string disk = _dir.File("d.vhdx");
        VhdxDisk.Create(disk, new VhdxCreateOptions { VirtualSize = 8L << 20, BlockSize = 1 << 20 });
        byte[] data = NbdTestServer.Pattern(1 << 20, 21);
        using (VhdxDisk d = VhdxDisk.Open(disk, new VhdxOpenOptions { Writable = true }))
        {
            d.Write(data, 3L << 20);
            d.Flush();
        }

        string sock = _dir.File("tls.sock");
        using X509Certificate2 cert = X509Certificate2.CreateFromPemFile(F("server-cert.pem"), F("server-key.pem"));
        await using var server = new NbdServer([NbdExport.Open(disk, "d", readOnly: true, protectedReason: null)], tlsCertificate: cert);
        server.Listen(NbdEndpoint.Parse("unix:" + sock));

        string info = Oracle.Run(nbdinfo, [$"nbds+unix:///d?socket={sock}&tls-certificates={certs}"]).StdOut;
        Assert.Contains("with TLS", info, StringComparison.Ordinal);
        string copy = _dir.File("copy.raw");
        Oracle.Run(nbdcopy, [$"nbds+unix:///d?socket={sock}&tls-certificates={certs}", copy]);
        byte[] flat = File.ReadAllBytes(copy);
        Assert.Equal(8L << 20, flat.Length);
        Assert.True(flat.AsSpan(3 << 20, 1 << 20).SequenceEqual(data));

        ProcessResult plain = Oracle.Run(nbdinfo, [$"nbd+unix:///d?socket={sock}"], check: false);
        Assert.NotEqual(0, plain.ExitCode);
    }
}
