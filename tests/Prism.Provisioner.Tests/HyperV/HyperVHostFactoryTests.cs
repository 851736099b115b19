using Prism.Provisioner.HyperV;

namespace Prism.Provisioner.Tests.HyperV;

public sealed class HyperVHostFactoryTests
{
    [SkippableFact]
    public void Create_NotWindows_ThrowsOneClearLine()
    {
        Skip.If(OperatingSystem.IsWindows(), "checks the non-Windows message");

        var e = Assert.Throws<HyperVUnavailableException>(HyperVHostFactory.Create);

        Assert.StartsWith("Hyper-V is not available on this host: Hyper-V needs Windows, this is ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.IsAssignableFrom<NotSupportedException>(e);
    }

    [SkippableFact]
    public void Connect_NotWindows_ThrowsUnavailable()
    {
        Skip.If(OperatingSystem.IsWindows(), "checks the non-Windows path");

        Assert.Throws<HyperVUnavailableException>(() => HyperVDiskService.Connect());
    }
}
