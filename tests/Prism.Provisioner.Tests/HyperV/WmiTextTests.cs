using Prism.Provisioner.HyperV;

namespace Prism.Provisioner.Tests.HyperV;

public sealed class WmiTextTests
{
    [Fact]
    public void ObjectPath_EscapesBackslashAndQuote()
    {
        string path = WmiText.ObjectPath("HOST", @"root\virtualization\v2", "Msvm_ResourceAllocationSettingData", @"Microsoft:A\B""C");

        Assert.Equal(@"\\HOST\root\virtualization\v2:Msvm_ResourceAllocationSettingData.InstanceID=""Microsoft:A\\B\""C""", path);
    }

    [Theory]
    [InlineData(@"Microsoft:83F8638B-8DCA-4152-9EDA-2CA8B33039B4\0\0\D")]
    [InlineData(@"odd ""quote"" and \\ double")]
    [InlineData("")]
    public void TryParseObjectPath_RoundTripsObjectPath(string instanceId)
    {
        string path = WmiText.ObjectPath("HOST", @"root\virtualization\v2", "Msvm_StorageAllocationSettingData", instanceId);

        Assert.True(WmiText.TryParseObjectPath(path, out string cls, out string id));
        Assert.Equal("Msvm_StorageAllocationSettingData", cls);
        Assert.Equal(instanceId, id);
    }

    [Fact]
    public void TryParseObjectPath_WithoutServerOrNamespace()
    {
        Assert.True(WmiText.TryParseObjectPath(@"Msvm_ConcreteJob.InstanceID=""Microsoft:1""", out string cls, out string id));
        Assert.Equal(("Msvm_ConcreteJob", "Microsoft:1"), (cls, id));
    }

    [Theory]
    [InlineData("no path")]
    [InlineData(@"Msvm_X.Name=""a""")]
    [InlineData(@"Msvm_X.InstanceID=""a""b""")]
    [InlineData(@"Msvm_X.InstanceID=""a\""")]
    public void TryParseObjectPath_OtherShapes_False(string path)
    {
        Assert.False(WmiText.TryParseObjectPath(path, out _, out _));
    }

    [Fact]
    public void SameObject_IgnoresServerAndCase()
    {
        string a = WmiText.ObjectPath("HOST", @"root\virtualization\v2", "Msvm_ResourceAllocationSettingData", @"Microsoft:X\0");
        string b = WmiText.ObjectPath("host.example", @"ROOT\virtualization\v2", "msvm_resourceallocationsettingdata", @"microsoft:x\0");

        Assert.True(WmiText.SameObject(a, b));
        Assert.False(WmiText.SameObject(a, WmiText.ObjectPath("HOST", @"root\virtualization\v2", "Msvm_ResourceAllocationSettingData", @"Microsoft:X\1")));
        Assert.False(WmiText.SameObject(null, a));
    }

    [Fact]
    public void WqlString_EscapesQuoteAndBackslash()
    {
        Assert.Equal(@"'it\'s C:\\VMs'", WmiText.WqlString(@"it's C:\VMs"));
    }
}
