using Prism.Cli.Ntfs;
using Prism.Disks.IO;
using Prism.Disks.Tests.Ntfs;

namespace Prism.Cli.Tests.Disk;

public sealed class NtfsCommandStreamTests(ComplexVolumeFixture fixture) : IClassFixture<ComplexVolumeFixture>
{
    [SkippableFact]
    public void CatNamedStream_MatchesNtfscat()
    {
        string image = fixture.RequireImage();
        string output = Path.Combine(Path.GetTempPath(), "prism-ads-" + Guid.NewGuid().ToString("N"));
        try
        {
            var stderr = new StringWriter();
            int code = NtfsCommand.Run(["cat", image, "/dir0/ads.txt:side", "--output", output], p => new FileDiskSource(p), TextWriter.Null, stderr);
            Assert.True(code == 0, stderr.ToString());
            byte[] expected = NtfsImages.NtfsCat(image, "/dir0/ads.txt", "side");
            Assert.Equal(3000, expected.Length);
            Assert.Equal(expected, File.ReadAllBytes(output));
        }
        finally
        {
            File.Delete(output);
        }
    }

    [SkippableFact]
    public void LsShowsStreams_AndJsonListsThem()
    {
        string image = fixture.RequireImage();
        var stdout = new StringWriter();
        Assert.Equal(0, NtfsCommand.Run(["ls", image, "/dir0", "--json"], p => new FileDiskSource(p), stdout, TextWriter.Null));
        using var doc = System.Text.Json.JsonDocument.Parse(stdout.ToString());
        var ads = doc.RootElement.EnumerateArray().Single(e => e.GetProperty("path").GetString() == "/dir0/ads.txt");
        Assert.Equal(["", "side"], ads.GetProperty("streams").EnumerateArray().Select(s => s.GetProperty("name").GetString()));
        Assert.Equal(NtfsImages.NtfsCat(image, "/dir0/ads.txt", "side").Length, ads.GetProperty("streams")[1].GetProperty("size").GetInt64());
        var oracle = NtfsImages.NtfsLsListing(image);
        Assert.Equal(oracle.Keys.Where(k => k.StartsWith("/dir0/", StringComparison.Ordinal)).Order(StringComparer.Ordinal),
            doc.RootElement.EnumerateArray().Select(e => e.GetProperty("path").GetString()!).Order(StringComparer.Ordinal));
    }
}
