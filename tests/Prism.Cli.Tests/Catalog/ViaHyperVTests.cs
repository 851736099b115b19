using Prism.Cli;
using Prism.Provisioner.Tests.Cloning;
using Prism.Testing;

namespace Prism.Cli.Tests.Catalog;

/// <summary>
/// <c>prism disk create|clone --via-hyperv</c> hands the disk to Hyper-V's image management service. Off Windows (CI)
/// that must be one clear error and no file; a bad command line is still a usage error.
/// </summary>
public sealed class ViaHyperVTests
{
    private static (int Rc, string Out, string Err) Run(params string[] args)
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        int rc = Program.Run(args, o, e);
        return (rc, o.ToString(), e.ToString());
    }

    [SkippableFact]
    public void CreateViaHyperV_NoHyperV_OneLineErrorAndNoFile()
    {
        Skip.If(OperatingSystem.IsWindows(), "this host may have Hyper-V");
        using var dir = new TempDir();
        string path = dir.File("d.vhdx");
        (int rc, _, string err) = Run("disk", "create", path, "--size", "1GiB", "--via-hyperv");
        Assert.Equal(1, rc);
        Assert.StartsWith("prism: Hyper-V is not available on this host", err, StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'));
        Assert.False(File.Exists(path));
    }

    [SkippableFact]
    public void CloneViaHyperV_NoHyperV_OneLineError()
    {
        Skip.If(OperatingSystem.IsWindows(), "this host may have Hyper-V");
        using var dir = new TempDir();
        (int rc, _, string err) = Run("disk", "clone", dir.File("p.vhdx"), dir.File("c.vhdx"), "--via-hyperv");
        Assert.Equal(1, rc);
        Assert.Contains("Hyper-V is not available", err, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("c.vhdx")));
    }

    [Fact]
    public void CreateViaHyperV_MissingSize_UsageError()
    {
        (int rc, _, string err) = Run("disk", "create", "x.vhdx", "--via-hyperv");
        Assert.Equal(2, rc);
        Assert.Contains("size", err, StringComparison.Ordinal);
    }
}
