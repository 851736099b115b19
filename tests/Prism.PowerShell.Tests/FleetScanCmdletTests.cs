using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Text;
using System.Text.Json;
using Prism.Disks.Vhdx;
using Prism.Fleet.Reports;
using Prism.Testing;

namespace Prism.PowerShell.Tests;

public sealed class FleetScanCmdletTests : IDisposable
{
    private static readonly byte[] s_marker = Encoding.ASCII.GetBytes("PRISM-POWERSHELL-TEST-MARKER-7f3a9c");

    private readonly TempDir _dir = new();
    private readonly PrismShell _shell;

    public FleetScanCmdletTests()
    {
        _shell = new PrismShell(_dir);
        string parent = PrismShell.CreateDisk(_dir.File("parent.vhdx"), 16L << 20);
        PrismShell.WriteDisk(parent, 0, PrismShell.Pattern(1 << 20, 20));
        VhdxDisk.CreateDifferencing(_dir.File("clean.vhdx"), parent);
        VhdxDisk.CreateDifferencing(_dir.File("infected.vhdx"), parent);
        byte[] block = PrismShell.Pattern(64 * 1024, 21);
        s_marker.CopyTo(block, 1000);
        PrismShell.WriteDisk(_dir.File("infected.vhdx"), 4L << 20, block);
        File.WriteAllText(_dir.File("test.ndb"), $"Prism.Test.Marker:0:*:{Convert.ToHexString(s_marker).ToLowerInvariant()}\n");
    }

    public void Dispose()
    {
        _shell.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void InvokePrismFleetScan_FindsTheMarkerOnlyInTheInfectedClone_WritesJsonAndProgress()
    {
        FleetScanReport report = _shell.Single<FleetScanReport>(
            "Invoke-PrismFleetScan -Parent parent.vhdx -Clone clean.vhdx, infected.vhdx -Signatures test.ndb -JsonPath report.json");

        Assert.Empty(report.Parent.Findings);
        DiskScanReport infected = report.Clones.Single(c => c.Path == _dir.File("infected.vhdx"));
        DiskScanReport clean = report.Clones.Single(c => c.Path == _dir.File("clean.vhdx"));
        Assert.Equal("Prism.Test.Marker", Assert.Single(infected.Findings).Signature);
        Assert.Empty(clean.Findings);
        Assert.Empty(infected.Errors);
        Assert.True(report.Clones.Sum(c => c.BytesInherited) > 0, "fleet mode inherits the parent's unchanged content");
        Assert.NotEmpty(_shell.Progress);
        Assert.Equal(ProgressRecordType.Completed, _shell.Progress[^1].RecordType);

        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(_dir.File("report.json")));
        JsonElement clones = json.RootElement.GetProperty("clones");
        Assert.Equal(2, clones.GetArrayLength());
        Assert.Contains(clones.EnumerateArray(), c => c.GetProperty("findings").GetArrayLength() == 1
            && c.GetProperty("findings")[0].GetProperty("signature").GetString() == "Prism.Test.Marker");
    }

    [Fact]
    public void InvokePrismFleetScan_FullMode_SameFindings()
    {
        FleetScanReport report = _shell.Single<FleetScanReport>(
            "[IO.DirectoryInfo]::new($dir).GetFiles('*ed.vhdx') | Invoke-PrismFleetScan -Parent parent.vhdx -Signatures $dir -Full");

        Assert.Equal("Prism.Test.Marker", Assert.Single(Assert.Single(report.Clones).Findings).Signature);
        Assert.Equal(0, report.Clones.Sum(c => c.BytesInherited));
    }

    [Fact]
    public void InvokePrismFleetScan_Store_SecondRunSkipsUnchangedCleanClone()
    {
        const string Scan = "Invoke-PrismFleetScan parent.vhdx clean.vhdx, infected.vhdx -Signatures test.ndb -Store verdicts.db";
        FleetScanReport first = _shell.Single<FleetScanReport>(Scan);
        FleetScanReport second = _shell.Single<FleetScanReport>(Scan);

        Assert.False(first.Parent.Cached);
        Assert.True(second.Parent.Cached);
        Assert.True(second.Clones.Single(c => c.Path == _dir.File("clean.vhdx")).Cached);
        Assert.Equal("Prism.Test.Marker", Assert.Single(second.Clones.Single(c => c.Path == _dir.File("infected.vhdx")).Findings).Signature);
        Assert.True(File.Exists(_dir.File("verdicts.db")));
    }

    [Fact]
    public void InvokePrismFleetScan_MissingSignatures_TerminatingObjectNotFound()
    {
        ErrorRecord e = _shell.RunTerminating("Invoke-PrismFleetScan parent.vhdx infected.vhdx -Signatures none.ndb");

        PrismShell.AssertError(e, "PrismFileNotFound", ErrorCategory.ObjectNotFound);
    }

    [Fact]
    public void InvokePrismFleetScan_StoreThatIsNotAStore_TerminatingAndUntouched_OrWarningWithStoreOptional()
    {
        File.WriteAllText(_dir.File("notes.txt"), "my notes, not a database\n");
        string before = PrismShell.Sha256(_dir.File("notes.txt"));

        ErrorRecord e = _shell.RunTerminating("Invoke-PrismFleetScan parent.vhdx infected.vhdx -Signatures test.ndb -Store notes.txt -JsonPath r.json");
        PrismShell.AssertError(e, "PrismVerdictStore", ErrorCategory.InvalidData);
        Assert.Contains(_dir.File("notes.txt"), e.Exception.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("r.json")));

        Collection<PSObject> output = _shell.Run(
            "Invoke-PrismFleetScan parent.vhdx infected.vhdx -Signatures test.ndb -Store notes.txt -StoreOptional -JsonPath r.json -WarningVariable w -WarningAction SilentlyContinue; $w | ForEach-Object { \"$_\" }");
        Assert.Empty(_shell.Errors);
        FleetScanReport report = Assert.IsType<FleetScanReport>(output[0].BaseObject);
        Assert.Equal("Prism.Test.Marker", Assert.Single(Assert.Single(report.Clones).Findings).Signature);
        Assert.Contains(output.Skip(1), w => w.BaseObject is string text && text.Contains("-StoreOptional", StringComparison.Ordinal)
            && text.Contains(_dir.File("notes.txt"), StringComparison.Ordinal));
        Assert.True(File.Exists(_dir.File("r.json")));
        Assert.Equal(before, PrismShell.Sha256(_dir.File("notes.txt")));
        Assert.False(File.Exists(_dir.File("notes.txt-wal")));
    }

    [Fact]
    public void InvokePrismFleetScan_JsonPathOrStoreOnASealedVhdx_IsRefusedAndUnchanged()
    {
        string golden = _dir.File("parent.vhdx");
        File.SetAttributes(golden, FileAttributes.ReadOnly);
        string before = PrismShell.Sha256(golden);
        foreach (string option in new[] { "-JsonPath", "-Store" })
        {
            ErrorRecord e = _shell.RunTerminating($"Invoke-PrismFleetScan parent.vhdx infected.vhdx -Signatures test.ndb {option} parent.vhdx");
            PrismShell.AssertError(e, "PrismProtectedPath", ErrorCategory.PermissionDenied);
            Assert.Contains("sealed", e.Exception.Message, StringComparison.Ordinal);
        }

        Assert.Equal(before, PrismShell.Sha256(golden));
    }
}
