using Prism.Scanner.Signatures;

namespace Prism.Scanner.Tests.Signatures;

public sealed class ScanSessionTests
{
    [Theory]
    [InlineData(1 << 16)]
    [InlineData(1 << 20)]
    [InlineData(4099)]
    public void Detection_Offset_IsFirstOccurrence_AcrossChunkBoundaries(int chunk)
    {
        var rng = new Random(chunk);
        byte[] data = new byte[(3 << 20) + 123];
        rng.NextBytes(data);
        byte[] pattern = new byte[40];
        rng.NextBytes(pattern);
        foreach (int at in new[] { (2 << 20) - 17, (1 << 20) - 30, (1 << 16) - 5 })
        {
            pattern.CopyTo(data, at);
        }

        string ndb = $"First:0:*:{Convert.ToHexStringLower(pattern)}\nWild:0:*:{Convert.ToHexStringLower(pattern.AsSpan(0, 10))}{{10-30}}{Convert.ToHexStringLower(pattern.AsSpan(30))}\n";
        SignatureDatabase db = SignatureDatabase.LoadFromText(("o.ndb", ndb));
        using ScanSession session = db.CreateSession();
        for (int offset = 0; offset < data.Length; offset += chunk)
        {
            session.Append(data.AsSpan(offset, Math.Min(chunk, data.Length - offset)));
        }

        long expected = data.AsSpan().IndexOf(pattern);
        IReadOnlyList<Detection> found = session.Complete();
        Assert.Equal([("First", (long?)expected), ("Wild", expected)], found.Select(d => (d.SignatureName, d.Offset)).Order());
        Assert.Equal(data.Length, session.Length);
    }

    [Fact]
    public async Task ScanAsync_SameAsScan_AndHonoursCancellation()
    {
        var rng = new Random(5);
        byte[] data = new byte[(2 << 20) + 7];
        rng.NextBytes(data);
        "ABCDEFGH"u8.CopyTo(data.AsSpan((1 << 20) - 3));
        SignatureDatabase db = SignatureDatabase.LoadFromText(("a.ndb", "A:0:*:41424344{2}4748\nB:0:*:5a5a5a5a5a\n"));
        IReadOnlyList<Detection> expected = db.Scan(data);
        Assert.Equal([new Detection("A", (1 << 20) - 3)], expected);
        Assert.Equal(expected, await db.ScanAsync(new MemoryStream(data)));
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => db.ScanAsync(new MemoryStream(data), cts.Token));
    }

    [Fact]
    public void Complete_Twice_Throws_And_AppendAfterComplete_Throws()
    {
        SignatureDatabase db = SignatureDatabase.LoadFromText(("a.ndb", "A:0:*:41424344\n"));
        ScanSession session = db.CreateSession();
        session.Append("xxABCDyy"u8);
        Assert.Equal("A", Assert.Single(session.Complete()).SignatureName);
        Assert.Throws<InvalidOperationException>(() => session.Complete());
        Assert.Throws<InvalidOperationException>(() => session.Append("x"u8));
    }

    [Fact]
    public void Scan_EmptyInput_FindsNothing_And_HashOnlyDatabaseWorks()
    {
        // md5("a"); ClamAV refuses size 0, so no signature can name the empty file.
        SignatureDatabase db = SignatureDatabase.LoadFromText(("h.hdb", "0cc175b9c0f1b6a831c399e269772661:1:Md5OfA\n"));
        Assert.Empty(db.Scan(ReadOnlySpan<byte>.Empty));
        Assert.Equal("Md5OfA", Assert.Single(db.Scan("a"u8)).SignatureName);
        Assert.Equal(0, db.MaxPatternLength);
    }

    [Fact]
    public void Load_PartWithoutFixedByte_ReportedUnsupported()
    {
        SignatureDatabase db = SignatureDatabase.LoadFromText(("u.ndb", "A:0:*:41424344*??{2}a?\n"));
        SignatureIssue issue = Assert.Single(db.Issues);
        Assert.Equal(1, issue.LineNumber);
        Assert.Contains("no fixed byte", issue.Reason, StringComparison.Ordinal);
        Assert.Equal(0, db.BodySignatureCount);
    }
}
