using Prism.Scanner.Clamd;
using Prism.Scanner.Fleet;
using Prism.Scanner.Signatures;
using Prism.Scanner.Tests.Clamd;
using Xunit.Abstractions;

namespace Prism.Scanner.Tests.Fleet;

/// <summary>
/// Fleet scans of an ext4 golden and clones changed like Linux guests: findings by path, equal to --full and to
/// clamscan over each clone's mounted files; unchanged files inherit the golden's verdict, a journal left dirty is
/// honoured.
/// </summary>
public sealed class Ext4FleetTests(Ext4FleetFixture fixture, ITestOutputHelper output) : IClassFixture<Ext4FleetFixture>
{
    [SkippableFact]
    public async Task FleetFindingsEqualFullScanAndClamscanOverTheMountedClones()
    {
        fixture.Require();
        var engine = new BuiltinEngine(SignatureDatabase.Load(fixture.Databases));
        (FleetReport fleet, FleetReport full) = await fixture.ScanFleetAndFullAsync(engine);

        Assert.Empty(fleet.Parent.Errors);
        Assert.Contains(fleet.Parent.Volumes, v => v.StartsWith("partition 1: ext4", StringComparison.Ordinal));
        HashSet<Hit> golden = fixture.ClamscanOf(fixture.GoldenPath);
        FleetDisks.AssertSame(golden, FleetDisks.Hits(fleet.Parent), "golden vs clamscan");

        // The golden's findings name files (hard links by both paths), not raw regions.
        Assert.Contains(new Hit("/usr/bin/dropper", null, "Prism.Linux.Wild"), FleetDisks.Hits(fleet.Parent));
        Assert.Contains(new Hit("/usr/lib/dropper-hardlink", null, "Prism.Linux.Wild"), FleetDisks.Hits(fleet.Parent));
        Assert.Contains(new Hit("/home/user/md5.bin", null, "Prism.Linux.Md5"), FleetDisks.Hits(fleet.Parent));
        Assert.DoesNotContain(fleet.Parent.Findings, f => f.Path.StartsWith("$raw", StringComparison.Ordinal));

        List<HashSet<Hit>> oracles = fixture.AssertClonesMatchOracle(fleet, full, path => fixture.ClamscanOf(path), output);
        for (int i = 0; i < fixture.Clones.Count; i++)
        {
            string name = fixture.Clones[i].Name;
            Assert.True((name == "untouched") == oracles[i].SetEquals(golden), $"{name}: clamscan sees {(name == "untouched" ? "a change" : "no change")}");
        }

        DiskReport Clone(string name) => fleet.Clones[fixture.Clones.FindIndex(c => c.Name == name)];
        HashSet<Hit> Of(string name) => fixture.ClamscanOf(fixture.Clones.Single(c => c.Name == name).Path);

        // What each divergence was built to show, as the oracle sees it.
        Assert.Contains(new Hit("/var/www/html/shell.php", null, "Prism.Linux.Eicar"), Of("webshell"));
        Assert.Contains(new Hit("/usr/bin/tool2", null, "Prism.Linux.Wild"), Of("upgrade"));
        Assert.Contains(new Hit("/var/log/app.log", null, "Prism.Linux.Plain"), Of("logappend"));
        Assert.Contains(new Hit("/home/user/new.bin", null, "Prism.Linux.Sha256"), Of("delete-reuse"));
        Assert.DoesNotContain(Of("delete-reuse"), h => h.Path == "/home/user/old.bin");
        Assert.Contains(new Hit("/tmp/renamed.txt", null, "Prism.Linux.Eicar"), Of("rename"));
        Assert.Contains(Of("rename"), h => h.Path.StartsWith("/opt/moved/", StringComparison.Ordinal));
        Assert.Contains(new Hit("/srv/cache/entry-0321-" + new string('c', 321 % 40) + ".dat", null, "Prism.Linux.Md5"), Of("many-files"));
        Assert.Contains(new Hit("/usr/share/doc/readme.txt", null, "Prism.Linux.Plain"), Of("dirty-journal"));

        // Inheritance: the untouched clone reads no file and skips the walk. A rename re-reads at most the renamed file
        // (the kernel/fuse2fs rewrites its inode's ctime, and a changed inode is never trusted), not the files of a moved
        // directory nor the others.
        Assert.Equal(0, Clone("untouched").StreamsScanned);
        Assert.Contains(Clone("untouched").Volumes, v => v.Contains("walk reused", StringComparison.Ordinal));
        Assert.True(Clone("rename").StreamsScanned <= 1, $"rename scanned {Clone("rename").StreamsScanned} streams");
        Assert.True(Clone("rename").StreamsInherited >= 18, $"rename inherited {Clone("rename").StreamsInherited} streams");
        Assert.True(Clone("webshell").StreamsScanned <= 2, $"webshell scanned {Clone("webshell").StreamsScanned} streams");
        Assert.True(Clone("webshell").StreamsInherited >= 15);

        // The journal rewrote one block in memory: that file (only) is read again although its disk bytes did not change.
        Assert.True(Clone("dirty-journal").StreamsScanned >= 1);
    }

    [SkippableFact]
    public async Task ClamdFleetFindingsEqualFullScanAndClamscanFirstMatch()
    {
        fixture.Require();
        using var clamd = new ClamdFixture(fixture.DatabaseDirectory);
        clamd.Require();
        var client = new ClamdClient(ClamdEndpoint.Parse(clamd.SocketPath));
        var engine = new ClamdEngine(client, await client.GetVersionAsync());
        (FleetReport fleet, FleetReport full) = await fixture.ScanFleetAndFullAsync(engine);
        for (int i = 0; i < fixture.Clones.Count; i++)
        {
            (string name, string path) = fixture.Clones[i];
            Assert.Empty(fleet.Clones[i].Errors);
            FleetDisks.AssertSame(FleetDisks.Hits(full.Clones[i]), FleetDisks.Hits(fleet.Clones[i]), $"{name}: clamd fleet vs --full");

            // clamd names one signature per file: compare the infected paths with clamscan's.
            Assert.Equal(fixture.ClamscanOf(path, allMatch: false).Select(h => h.Path).Order(StringComparer.Ordinal),
                FleetDisks.Hits(fleet.Clones[i]).Select(h => h.Path).Order(StringComparer.Ordinal));
        }
    }
}
