using System.Text.Json;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;
using Prism.Provisioner.Catalog;
using Prism.Testing;

namespace Prism.PowerShell.Tests;

/// <summary>
/// The module in a real pwsh 7.6.9 process: the powershell dotnet tool pinned in .config/dotnet-tools.json, run from the
/// repository root. Skips when the tool cannot be restored, unless PRISM_REQUIRE_ORACLES=1.
/// </summary>
public sealed class PwshTests : IDisposable
{
    private static readonly string[] s_cmdlets =
    [
        "Add-PrismCloneToVM", "Add-PrismGolden", "Get-PrismClone", "Get-PrismDisk", "Get-PrismFile", "Get-PrismGolden", "Invoke-PrismFleetScan",
        "Merge-PrismDisk", "New-PrismClone", "New-PrismDisk", "Remove-PrismClone", "Reset-PrismClone", "Test-PrismDisk",
    ];

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static void RequirePwsh() => PwshModule.Require();

    private static ProcessResult Pwsh(string script) => PwshModule.Run(script);

    [SkippableFact]
    public void Pwsh769_ImportsModule_GetCommandListsEveryCmdlet()
    {
        RequirePwsh();

        ProcessResult r = Pwsh("""
            [pscustomobject]@{
                Version = $PSVersionTable.PSVersion.ToString()
                Module = (Get-Module Prism).Version.ToString()
                Commands = @(Get-Command -Module Prism | Sort-Object Name | ForEach-Object Name)
            } | ConvertTo-Json -Compress
            """);

        using JsonDocument json = JsonDocument.Parse(r.StdOut);
        Assert.Equal("7.6.9", json.RootElement.GetProperty("Version").GetString());
        Assert.Equal("0.1.0", json.RootElement.GetProperty("Module").GetString());
        Assert.Equal(s_cmdlets, json.RootElement.GetProperty("Commands").EnumerateArray().Select(e => e.GetString()));
    }

    [SkippableFact]
    public void Pwsh769_GetPrismFile_JsonAsPrismFsLs_AndTableView()
    {
        RequirePwsh();
        string disk = FileCmdletTests.MakeDisk(_dir);

        ProcessResult r = Pwsh($$"""
            $files = @(Get-PrismFile -Path '{{disk}}' -FilePath /etc -Recurse -Partition 1)
            [pscustomobject]@{
                Files = @($files | Select-Object Path, IsDirectory, Type, Size, Inode, Streams)
                Table = $files | Format-Table | Out-String -Width 200
            } | ConvertTo-Json -Depth 4 -Compress
            """);

        using JsonDocument json = JsonDocument.Parse(r.StdOut);
        JsonElement[] ours = [.. json.RootElement.GetProperty("Files").EnumerateArray()];
        JsonElement[] cli = FileCmdletTests.Cli(disk, "/etc", "-r", "--partition", "1");
        Assert.Equal(cli.Select(e => e.GetProperty("path").GetString()), ours.Select(e => e.GetProperty("Path").GetString()));
        for (int i = 0; i < cli.Length; i++)
        {
            Assert.Equal(cli[i].GetProperty("isDirectory").GetBoolean(), ours[i].GetProperty("IsDirectory").GetBoolean());
            Assert.Equal(cli[i].GetProperty("type").GetString(), ours[i].GetProperty("Type").GetString());
            Assert.Equal(cli[i].GetProperty("size").GetInt64(), ours[i].GetProperty("Size").GetInt64());
            Assert.Equal(cli[i].GetProperty("inode").GetInt64(), ours[i].GetProperty("Inode").GetInt64());
            Assert.Equal(cli[i].GetProperty("streams").EnumerateArray().Select(s => s.GetProperty("size").GetInt64()),
                ours[i].GetProperty("Streams").EnumerateArray().Select(s => s.GetProperty("Size").GetInt64()));
        }

        Assert.Equal(4, cli.Length);
        string table = json.RootElement.GetProperty("Table").GetString()!;
        Assert.Contains("/etc/nginx/sites/default", table, StringComparison.Ordinal);
        Assert.Contains(cli.Single(e => e.GetProperty("path").GetString() == "/etc/hostname").GetProperty("inode").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
            table, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Pwsh769_EndToEndPipeline_GoldenClonesDisksAndErrors()
    {
        RequirePwsh();
        string cat = _dir.File("catalog.db");

        ProcessResult r = Pwsh($$"""
            Set-Location -LiteralPath '{{_dir.Path}}'
            $PSDefaultParameterValues['*-Prism*:Catalog'] = '{{cat}}'
            New-PrismDisk -Path golden.vhdx -SizeBytes 32MB | Add-PrismGolden -Name gold | Out-Null
            New-PrismClone -Golden gold -Count 3 -Prefix web | Out-Null
            $disks = Get-ChildItem -Filter web-*.vhdx | Get-PrismDisk
            Get-PrismClone web-0003 | Remove-PrismClone -Confirm:$false
            $id = try { New-PrismClone -Golden nope -Name x; 'no error' } catch { $_.FullyQualifiedErrorId }
            $table = Get-PrismClone | Format-Table | Out-String -Width 200
            [pscustomobject]@{
                Disks = @($disks | Select-Object Path, VhdFormat, @{ n = 'VhdType'; e = { "$($_.VhdType)" } }, ParentPath, Size,
                    FileSize, BlockSize, @{ n = 'DiskIdentifier'; e = { "$($_.DiskIdentifier)" } }, AllocatedBytes)
                ErrorId = $id
                Table = $table
            } | ConvertTo-Json -Depth 4 -Compress
            """);

        using JsonDocument json = JsonDocument.Parse(r.StdOut);
        JsonElement[] disks = json.RootElement.GetProperty("Disks").EnumerateArray().ToArray();
        Assert.Equal(3, disks.Length);
        Assert.All(disks, d =>
        {
            Assert.Equal("VHDX", d.GetProperty("VhdFormat").GetString());
            Assert.Equal("Differencing", d.GetProperty("VhdType").GetString());
            Assert.Equal(_dir.File("golden.vhdx"), d.GetProperty("ParentPath").GetString());
            Assert.Equal(32L << 20, d.GetProperty("Size").GetInt64());
            string path = d.GetProperty("Path").GetString()!;
            if (File.Exists(path))
            {
                using VhdxDisk disk = VhdxDisk.Open(path);
                Assert.Equal(disk.FileSize, d.GetProperty("FileSize").GetInt64());
                Assert.Equal(disk.BlockSize, d.GetProperty("BlockSize").GetInt64());
                Assert.Equal(disk.DiskId, Guid.Parse(d.GetProperty("DiskIdentifier").GetString()!));
                Assert.Equal(disk.GetAllocatedBytes(), d.GetProperty("AllocatedBytes").GetInt64());
            }
        });
        Assert.Equal(["web-0001.vhdx", "web-0002.vhdx", "web-0003.vhdx"],
            disks.Select(d => Path.GetFileName(d.GetProperty("Path").GetString()!)).Order(StringComparer.Ordinal));
        Assert.StartsWith("PrismGoldenNotFound,", json.RootElement.GetProperty("ErrorId").GetString(), StringComparison.Ordinal);
        string table = json.RootElement.GetProperty("Table").GetString()!;
        Assert.Contains("Diverged%", table, StringComparison.Ordinal);
        Assert.Contains("web-0002", table, StringComparison.Ordinal);
        Assert.DoesNotContain("web-0003", table, StringComparison.Ordinal);

        using PrismCatalog catalog = PrismCatalog.Open(cat);
        Assert.Equal(["web-0001", "web-0002"], catalog.Clones().Select(c => c.Name).Order(StringComparer.Ordinal));
        Assert.Equal("gold", Assert.Single(catalog.Goldens()).Name);
        Assert.False(File.Exists(_dir.File("web-0003.vhdx")));
    }
    [SkippableFact]
    public void Pwsh769_RemoveAndResetHonourTheJournal_KilledMidwayThenRepaired()
    {
        RequirePwsh();
        string cat = _dir.File("catalog.db");
        string golden = _dir.File("golden.vhdx");
        VhdxDisk.Create(golden, new VhdxCreateOptions { VirtualSize = 16 << 20, BlockSize = 1 << 20 });
        using PrismCatalog catalog = PrismCatalog.Open(cat);
        var manager = new Prism.Provisioner.Cloning.CloneManager(catalog);
        manager.AddGolden(golden, "gold");
        manager.NewClones("gold", ["c1", "c2"]);
        using (VhdxDisk c1 = VhdxDisk.Open(_dir.File("c1.vhdx"), new VhdxOpenOptions { Writable = true }))
        {
            c1.Write(Enumerable.Range(0, 65536).Select(i => (byte)(i * 7)).ToArray(), 3 << 20);
            c1.Flush();
        }

        string content = Sha(_dir.File("c1.vhdx"));

        ProcessResult PwshKilledAt(string step, string command) =>
            PwshModule.RunUnchecked($"{command} -Catalog '{cat}' -Confirm:$false; 'survived'", $"$env:PRISM_TEST_KILL_AT = '{step}'; ");

        // Killed after the clone was moved aside: the journal holds it, so another cmdlet is refused until repair.
        ProcessResult killed = PwshKilledAt("remove:moved", "Remove-PrismClone c1");
        Assert.True(killed.ExitCode != 0 && !killed.StdOut.Contains("survived", StringComparison.Ordinal), killed.StdOut + killed.StdErr);
        Assert.False(File.Exists(_dir.File("c1.vhdx")));
        ProcessResult busy = Pwsh($"try {{ Reset-PrismClone c1 -Catalog '{cat}' -Confirm:$false; 'no error' }} catch {{ $_.FullyQualifiedErrorId }}");
        Assert.StartsWith("PrismCatalogBusy", busy.StdOut.Trim(), StringComparison.Ordinal);

        var problems = manager.Verify(true);
        Assert.Equal("interrupted-operation", Assert.Single(problems).Kind);
        Assert.Equal(content, Sha(_dir.File("c1.vhdx")));

        killed = PwshKilledAt("reset:created", "Reset-PrismClone c1");
        Assert.True(killed.ExitCode != 0 && !killed.StdOut.Contains("survived", StringComparison.Ordinal), killed.StdOut + killed.StdErr);
        Assert.Equal("interrupted-operation", Assert.Single(manager.Verify(true)).Kind);
        Assert.Equal(content, Sha(_dir.File("c1.vhdx")));
        Assert.Empty(manager.Verify(false));
        Assert.Equal(["c1", "c2"], catalog.Clones().Select(c => c.Name));
    }

    private static string Sha(string path)
    {
        using VhdxDisk d = VhdxDisk.Open(path);
        byte[] all = new byte[d.VirtualSize];
        d.ReadExactly(all, 0);
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(all));
    }
}
