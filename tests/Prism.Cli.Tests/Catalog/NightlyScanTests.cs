using System.Text.Json;
using Prism.Cli;
using Prism.Provisioner.Catalog;
using Prism.Provisioner.Tests.Cloning;
using Prism.Testing;

namespace Prism.Cli.Tests.Catalog;

public sealed class NightlyScanTests
{
    [Fact]
    public void ThreeCatalogScansKeepTwoReportsAndRecordThreeRuns()
    {
        using var f = new ProvisionerFixture();
        f.MakeGolden("base", 8 * ProvisionerFixture.MiB);
        f.Manager.NewClones("base", ["c1", "c2"]);
        ProvisionerFixture.WriteInto(f.File("c1.vhdx"), 0, ProvisionerFixture.Pattern(65536, 3));
        string sigs = f.File("sigs.hdb");
        File.WriteAllText(sigs, "0123456789abcdef0123456789abcdef:68:Test.NotPresent\n");
        string reports = Path.Combine(f.Dir.Path, "reports");

        for (int i = 0; i < 3; i++)
        {
            var o = new StringWriter();
            var e = new StringWriter();
            int rc = Program.Run(["scan", "--catalog", f.Catalog.Path, "--signatures", sigs, "--report-dir", reports, "--keep", "2", "--quiet"], o, e);
            Assert.True(rc == 0, $"run {i}: exit {rc}: {e}{o}");
        }

        string[] files = Directory.GetFiles(reports);
        IReadOnlyList<ScanRun> runs = f.Catalog.ScanRuns();
        // Three back-to-back runs usually finish within one or two seconds: each must still get its own report.
        Assert.True(files.Length == 2 && runs.Select(r => r.ReportPath).Distinct().Count() == 3,
            $"expected 2 kept reports of 3 distinct ones; kept [{string.Join(", ", files.Select(Path.GetFileName))}], "
            + $"runs recorded [{string.Join(", ", runs.Select(r => Path.GetFileName(r.ReportPath)))}]");
        foreach (string file in files)
        {
            Assert.Matches(@"prism-scan-\d{8}T\d{6}.*Z?.*\.json$", Path.GetFileName(file));
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(file));
            Assert.Equal(JsonValueKind.Object, doc.RootElement.GetProperty("parent").ValueKind);
            Assert.Equal(2, doc.RootElement.GetProperty("clones").GetArrayLength());
        }

        Assert.Equal(3, runs.Count);
        Assert.All(runs, r => Assert.Equal(2, r.Clones));
        Assert.All(runs, r => Assert.Equal(0, r.Findings));
        Assert.All(runs, r => Assert.True(r.Finished >= r.Started));
        // The newest two runs' reports are the ones kept.
        Assert.Equal(files.Order(StringComparer.Ordinal), runs.Take(2).Select(r => r.ReportPath!).Order(StringComparer.Ordinal));
    }

    private static string Installer => Path.Combine(CliRunner.RepoRoot, "scripts", "install-nightly-scan.sh");

    [SkippableFact]
    public void InstalledUnitsPassSystemdAnalyzeVerify()
    {
        string analyze = Oracle.Require("systemd-analyze", "systemd");
        using var dir = new TempDir();
        // systemd-analyze verify checks that ExecStart's binary exists and is executable: a placeholder stands in for
        // prism. This checks the unit syntax (and the paths it names), not that a real prism runs.
        string prism = dir.File("prism");
        File.WriteAllText(prism, "#!/bin/sh\nexit 0\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(prism, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        string units = dir.File("units");
        ProcessResult r = Oracle.Run("/bin/bash", [Installer, "--prism", prism, "--signatures", dir.File("sigs"), "--catalog", dir.File("catalog.db"),
            "--reports", dir.File("reports"), "--keep", "5", "--at", "03:30", "--unit-dir", units]);
        Assert.Contains("wrote", r.StdOut, StringComparison.Ordinal);
        string service = Path.Combine(units, "prism-fleet-scan.service");
        string timer = Path.Combine(units, "prism-fleet-scan.timer");
        Assert.True(File.Exists(service) && File.Exists(timer));
        Assert.Contains("OnCalendar=*-*-* 03:30:00", File.ReadAllText(timer), StringComparison.Ordinal);

        ProcessResult v = Oracle.Run(analyze, ["verify", service, timer], check: false);
        Assert.True(v.ExitCode == 0, $"systemd-analyze verify exited {v.ExitCode}: {v.StdErr}{v.StdOut}");
        Assert.DoesNotContain("prism-fleet-scan", v.StdErr, StringComparison.Ordinal);

        // And a broken unit is caught (the check can fail): point ExecStart at a file that does not exist.
        File.WriteAllText(service, File.ReadAllText(service).Replace(prism, dir.File("no-such-prism"), StringComparison.Ordinal));
        ProcessResult bad = Oracle.Run(analyze, ["verify", service, timer], check: false);
        Assert.True(bad.ExitCode != 0 || bad.StdErr.Contains("no-such-prism", StringComparison.Ordinal), bad.StdErr);
    }

    [Fact]
    public void DryRunPrintsAScanCatalogExecStart()
    {
        ProcessResult r = Oracle.Run("/bin/bash", [Installer, "--prism", "/opt/prism/prism", "--signatures", "/var/lib/prism/sigs", "--catalog", "/srv/cat.db", "--dry-run"]);
        Assert.Contains("# prism-fleet-scan.service", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("# prism-fleet-scan.timer", r.StdOut, StringComparison.Ordinal);
        string exec = r.StdOut.Split('\n').Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal));
        Assert.StartsWith("ExecStart=/opt/prism/prism scan --catalog /srv/cat.db --signatures /var/lib/prism/sigs", exec, StringComparison.Ordinal);
        Assert.Contains("--keep 14", exec, StringComparison.Ordinal);

        ProcessResult missing = Oracle.Run("/bin/bash", [Installer, "--dry-run"], check: false);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--prism", missing.StdErr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void FleetScanRegistrationScriptParses()
    {
        string script = Path.Combine(CliRunner.RepoRoot, "scripts", "Register-PrismFleetScan.ps1");
        Assert.True(File.Exists(script));
        string? pwsh = Oracle.Find("pwsh");
        bool toolManifest = File.Exists(Path.Combine(CliRunner.RepoRoot, ".config", "dotnet-tools.json"))
            && File.ReadAllText(Path.Combine(CliRunner.RepoRoot, ".config", "dotnet-tools.json")).Contains("powershell", StringComparison.OrdinalIgnoreCase);
        Skip.If(pwsh is null && !toolManifest,
            "no PowerShell: pwsh is not on PATH and the repository has no dotnet tool manifest (.config/dotnet-tools.json) providing it, "
            + "and System.Management.Automation is not referenced by this test project, so the script cannot be parsed here");
        string command = "$e=$null; $t=$null; [System.Management.Automation.Language.Parser]::ParseFile('" + script.Replace("'", "''", StringComparison.Ordinal)
            + "', [ref]$t, [ref]$e) | Out-Null; if ($e.Count) { $e | ForEach-Object { Write-Output $_.ToString() }; exit 1 }; 'parsed'";
        ProcessResult r;
        if (pwsh is not null)
        {
            r = Oracle.Run(pwsh, ["-NoProfile", "-NonInteractive", "-Command", command], check: false);
        }
        else
        {
            Oracle.Run(CliRunner.Dotnet, ["tool", "restore"], workingDirectory: CliRunner.RepoRoot);
            r = Oracle.Run(CliRunner.Dotnet, ["tool", "run", "pwsh", "-NoProfile", "-NonInteractive", "-Command", command], check: false, workingDirectory: CliRunner.RepoRoot);
        }

        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        Assert.Contains("parsed", r.StdOut, StringComparison.Ordinal);
    }
}
