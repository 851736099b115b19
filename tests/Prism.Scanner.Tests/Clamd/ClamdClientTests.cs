using Prism.Scanner.Clamd;
using Prism.Scanner.Tests.Signatures;

namespace Prism.Scanner.Tests.Clamd;

public sealed class ClamdClientTests(ClamdFixture fixture) : IClassFixture<ClamdFixture>
{
    private ClamdClient Client(ClamdClientOptions? options = null) => new(ClamdEndpoint.Unix(fixture.SocketPath), options);

    [SkippableFact]
    public async Task Ping_And_Version_Answer()
    {
        fixture.Require();
        Assert.True(await Client().PingAsync());
        Assert.StartsWith("ClamAV ", await Client().GetVersionAsync(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task ScanStream_GeneratedFiles_AgreeWithClamscan()
    {
        fixture.Require();
        IReadOnlyList<string> files = fixture.Corpus!.Files;
        Dictionary<string, SortedSet<string>> all = ClamscanOracle.Scan([fixture.Corpus!.DatabaseDirectory], files);
        Dictionary<string, SortedSet<string>> first = ClamscanOracle.Scan([fixture.Corpus!.DatabaseDirectory], files, allMatch: false);
        Assert.Contains(all.Values, s => s.Count > 0);
        Assert.Contains(all.Values, s => s.Count == 0);
        foreach (string file in files)
        {
            await using FileStream stream = File.OpenRead(file);
            ClamdScanResult result = await Client(new ClamdClientOptions { ChunkSize = 10_000 }).ScanStreamAsync(stream);
            string? name = result.SignatureName?.Replace(".UNOFFICIAL", string.Empty, StringComparison.Ordinal);
            Assert.Equal(all[file].Count > 0, result.IsInfected);
            if (name is not null)
            {
                // clamd reports the first match, like clamscan without --allmatch.
                Assert.Contains(name, all[file]);
                Assert.Equal(first[file].Single(), name);
            }
        }
    }

    [SkippableFact]
    public async Task ScanStream_LongerThanStreamMaxLength_ThrowsSizeLimit()
    {
        fixture.Require();
        byte[] data = new byte[ClamdFixture.StreamMaxLength + (1 << 20)];
        new Random(3).NextBytes(data);
        ClamdSizeLimitExceededException e = await Assert.ThrowsAsync<ClamdSizeLimitExceededException>(() => Client().ScanAsync(data));
        Assert.Contains("size limit exceeded", e.Reply, StringComparison.OrdinalIgnoreCase);

        // clamd survives and keeps answering.
        Assert.True(await Client().PingAsync());
    }

    [SkippableFact]
    public async Task ScanStream_ClientLimit_ThrowsBeforeSending()
    {
        fixture.Require();
        var options = new ClamdClientOptions { StreamMaxLength = 100_000, ChunkSize = 32_768 };
        ClamdSizeLimitExceededException e = await Assert.ThrowsAsync<ClamdSizeLimitExceededException>(
            () => Client(options).ScanAsync(new byte[100_001]));
        Assert.Null(e.Reply);
        Assert.False((await Client(options).ScanAsync(new byte[100_000])).IsInfected);
    }

    [SkippableFact]
    public async Task ScanStream_Cancelled_Throws()
    {
        fixture.Require();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Client().ScanAsync(new byte[10], cts.Token));
    }

    [Fact]
    public async Task Ping_NoServer_ThrowsClamdException()
    {
        var client = new ClamdClient(ClamdEndpoint.Unix(Path.Combine(Path.GetTempPath(), "prism-no-such-" + Guid.NewGuid().ToString("N") + ".sock")));
        ClamdException e = await Assert.ThrowsAsync<ClamdException>(() => client.PingAsync());
        Assert.Contains("cannot connect", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/run/clamav/clamd.ctl", "/run/clamav/clamd.ctl", null, 0)]
    [InlineData("unix:relative.sock", "relative.sock", null, 0)]
    [InlineData("127.0.0.1:3310", null, "127.0.0.1", 3310)]
    [InlineData("tcp://scanner.local:3311", null, "scanner.local", 3311)]
    [InlineData("[::1]:3310", null, "::1", 3310)]
    public void Endpoint_Parse(string text, string? path, string? host, int port)
    {
        ClamdEndpoint e = ClamdEndpoint.Parse(text);
        Assert.Equal(path, e.SocketPath);
        Assert.Equal(host, e.Host);
        Assert.Equal(port, e.Port);
    }

    [Theory]
    [InlineData("clamd")]
    [InlineData("host:0")]
    [InlineData("host:70000")]
    [InlineData("unix:")]
    public void Endpoint_ParseBad_Throws(string text) => Assert.Throws<FormatException>(() => ClamdEndpoint.Parse(text));
}
