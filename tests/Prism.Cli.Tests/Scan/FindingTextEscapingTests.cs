using Prism.Disks.Errors;
using Prism.Scanner.Signatures;
using Prism.Scanner.Tests.Fleet;
using Prism.Scanner.Tests.Signatures;
using Prism.Testing;

namespace Prism.Cli.Tests.Scan;

/// <summary>Signature names with terminal escapes reach scan output escaped (issue 10, item 8).</summary>
[Collection(GoldenFleetCollection.Name)]
public sealed class FindingTextEscapingTests(GoldenFleetFixture fixture)
{
    [Fact]
    public void Database_SignatureNameWithEscapes_MatchesAndIsNamedEscaped()
    {
        SignatureDatabase db = SignatureDatabase.LoadFromText(("x.ndb", "Evil\u001b[2J\u202e.Name:0:*:41424344\n"));
        Detection d = Assert.Single(db.Scan("xxABCDyy"u8));
        Assert.Equal(@"Evil\u001b[2J\u202e.Name", d.SignatureName);
    }

    [SkippableFact]
    public void ScanText_SignatureNamesWithEscapes_PrintedEscaped()
    {
        fixture.Require();
        using var dir = new TempDir();
        string ndb = dir.File("evil.ndb");
        string original = File.ReadAllText(fixture.Databases.Single(d => d.EndsWith(".ndb", StringComparison.Ordinal)));
        File.WriteAllText(ndb, original.Replace("Prism.Fleet.", "Prism\u001b[2J\u001b]0;owned\u0007.Fleet.", StringComparison.Ordinal));

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = global::Prism.Cli.Program.Run(["scan", fixture.GoldenPath, .. fixture.ClonePaths, "--signatures", ndb, "--quiet"], stdout, stderr);
        Assert.True(exit == 1, $"exit {exit}: {stderr}{stdout}");
        string text = stdout.ToString();
        Assert.Contains(@"FOUND Prism\u001b[2J\u001b]0;owned\u0007.Fleet.", text, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', text);
        Assert.DoesNotContain('\u0007', text);
    }
}
