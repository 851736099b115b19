using System.Text.Json;
using Prism.Provisioner.HyperV;
using Prism.Provisioner.Tests.Cloning;
using Prism.Provisioner.Tests.HyperV;

namespace Prism.Cli.Tests.Vm;

/// <summary>
/// <c>prism vm ...</c> (Prism.Cli/Vm/VmCommand.cs) against a fake Hyper-V host: the command line is checked completely
/// before the host is contacted, and every failure is one line.
/// </summary>
public sealed class VmCommandTests
{
    private static readonly HyperVRetryOptions s_fast = new()
    {
        BaseDelay = TimeSpan.Zero,
        MaxDelay = TimeSpan.Zero,
        UseJitter = false,
        JobPollInterval = TimeSpan.Zero,
    };

    [SkippableFact]
    public void Run_NoHyperVOnThisHost_Exit1WithOneLine()
    {
        Skip.If(OperatingSystem.IsWindows(), "checks the non-Windows path");

        var (code, stdout, stderr) = Run(null, "attach", @"C:\Clones\a.vhdx", "--vm", "web01");

        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        string line = Assert.Single(Lines(stderr));
        Assert.StartsWith("prism: Hyper-V is not available on this host: ", line, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData("attach", @"C:\a.vhdx")]
    [InlineData("attach", @"C:\a.vhdx", "--vm", "x", "--controller", "nvme")]
    [InlineData("attach", @"C:\a.vhdx", "--vm", "x", "--controller", "ide", "--location", "2")]
    [InlineData("attach", @"C:\a.vhdx", "--vm", "x", "--location", "-1")]
    [InlineData("attach", "--vm", "x")]
    [InlineData("attach", @"C:\a.vhdx", "--vm", "x", "--bogus", "1")]
    [InlineData("detach", @"C:\a.vhdx")]
    [InlineData("create-disk", @"C:\d.vhdx")]
    [InlineData("create-disk", @"C:\d.vhdx", "--type", "differencing", "--size", "1GiB", "--parent", @"C:\p.vhdx")]
    [InlineData("create-disk", @"C:\d.vhdx", "--size", "1GiB", "--parent", @"C:\p.vhdx")]
    [InlineData("create-disk", @"C:\d.vhdx", "--size", "1GiB", "--logical-sector", "1024")]
    [InlineData("create-disk", @"C:\d.vhdx", "--size", "lots")]
    [InlineData("frob")]
    [InlineData]
    public void Run_UsageError_Exit2WithoutConnecting(params string[] args)
    {
        bool connected = false;

        var (code, _, stderr) = Run(() =>
        {
            connected = true;
            throw new InvalidOperationException("must not connect");
        }, args);

        Assert.Equal(2, code);
        Assert.False(connected);
        Assert.NotEmpty(stderr);
    }

    [SkippableFact]
    public void Run_Attach_PrintsWhereTheDiskWent()
    {
        var host = new FakeHyperVHost();

        var (code, stdout, stderr) = Run(Connect(host), "attach", @"C:\Clones\a.vhdx", "--vm", "web01", "--location", "3");

        Assert.Equal((0, ""), (code, stderr));
        Assert.Equal([@"attached C:\Clones\a.vhdx to VM 'web01' at SCSI 0:3"], Lines(stdout));
        Assert.Equal("3", CimXml.Properties(CimXml.Parse(host.EmbeddedInstances[0]))["AddressOnParent"].Values![0]);
    }

    [SkippableFact]
    public void Run_AttachJson_WritesTheAttachment()
    {
        var host = new FakeHyperVHost();

        var (code, stdout, _) = Run(Connect(host), "attach", @"C:\Clones\a.vhdx", "--vm", "web01", "--controller", "ide", "--json");

        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(stdout);
        JsonElement root = json.RootElement;
        Assert.Equal("web01", root.GetProperty("vm").GetString());
        Assert.Equal("ide", root.GetProperty("controller").GetString());
        Assert.Equal(0, root.GetProperty("location").GetInt32());
        Assert.Equal(@"C:\Clones\a.vhdx", root.GetProperty("disk").GetString());
    }

    [SkippableFact]
    public void Run_Detach_RemovesDiskAndDrive()
    {
        var host = new FakeHyperVHost();
        HyperVResourceSetting drive = host.Add("Msvm_ResourceAllocationSettingData", HyperVNames.SubTypes.SyntheticDiskDrive, host.Scsi0.Path, "0");
        host.Add("Msvm_StorageAllocationSettingData", HyperVNames.SubTypes.VirtualHardDisk, drive.Path, null, null, @"C:\Clones\a.vhdx");

        var (code, stdout, _) = Run(Connect(host), "detach", @"C:\Clones\a.vhdx", "--vm", "web01");

        Assert.Equal(0, code);
        Assert.Equal([@"detached C:\Clones\a.vhdx from VM 'web01'"], Lines(stdout));
        Assert.Equal(2, host.Calls.Count(c => c.StartsWith("RemoveResourceSettings", StringComparison.Ordinal)));
    }

    [SkippableFact]
    public void Run_CreateDisk_SendsTheSettings()
    {
        var host = new FakeHyperVHost();

        var (code, _, _) = Run(Connect(host), "create-disk", @"C:\d.vhdx", "--type", "fixed", "--size", "1GiB", "--logical-sector", "4096");

        Assert.Equal(0, code);
        var p = CimXml.Properties(CimXml.Parse(host.EmbeddedInstances[0]));
        Assert.Equal(("2", "1073741824", "4096"), (p["Type"].Values![0], p["MaxInternalSize"].Values![0], p["LogicalSectorSize"].Values![0]));
    }

    [SkippableFact]
    public void Run_HyperVRefuses_Exit1WithOneLine()
    {
        var host = new FakeHyperVHost();

        var (code, stdout, stderr) = Run(Connect(host), "attach", @"C:\a.vhdx", "--vm", "nope");

        Assert.Equal((1, ""), (code, stdout));
        Assert.Equal(["prism: no virtual machine named 'nope'"], Lines(stderr));
        Assert.True(host.Disposed);
    }

    private static Func<HyperVDiskService> Connect(FakeHyperVHost host) => () => new HyperVDiskService(host, s_fast, TimeProvider.System);

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static (int Code, string Stdout, string Stderr) Run(Func<HyperVDiskService>? connect, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int code = global::Prism.Cli.Vm.VmCommand.Run(args, connect, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
