using Prism.Provisioner.HyperV;

namespace Prism.Provisioner.Tests.HyperV;

public sealed class VirtualHardDiskSettingsTests
{
    // Msvm_VirtualHardDiskSettingData (learn.microsoft.com, hyperv_v2): Type uint16 (2 fixed, 3 dynamic,
    // 4 differencing), Format uint16 (3 = VHDX), Path string, ParentPath string, MaxInternalSize uint64,
    // BlockSize uint32, LogicalSectorSize uint32, PhysicalSectorSize uint32.
    private static readonly Dictionary<string, string> s_documentedTypes = new()
    {
        ["Type"] = "uint16",
        ["Format"] = "uint16",
        ["Path"] = "string",
        ["ParentPath"] = "string",
        ["MaxInternalSize"] = "uint64",
        ["BlockSize"] = "uint32",
        ["LogicalSectorSize"] = "uint32",
        ["PhysicalSectorSize"] = "uint32",
    };

    [Fact]
    public void ToCimInstance_DynamicWithAllOptions_MatchesDocumentedNamesAndTypes()
    {
        var settings = new VirtualHardDiskSettings
        {
            Path = @"C:\VMs\a&b <x>.vhdx",
            Type = VirtualHardDiskType.Dynamic,
            MaxInternalSize = 64L << 30,
            BlockSize = 32 << 20,
            LogicalSectorSize = 512,
            PhysicalSectorSize = 4096,
        };

        var root = CimXml.Parse(settings.ToCimInstance().ToXml());

        Assert.Equal("Msvm_VirtualHardDiskSettingData", (string)root.Attribute("CLASSNAME")!);
        var p = CimXml.Properties(root);
        Assert.All(p, kv => Assert.Equal(s_documentedTypes[kv.Key], kv.Value.Type));
        Assert.All(p, kv => Assert.Equal("PROPERTY", kv.Value.Element));
        Assert.Equal("3", p["Type"].Values![0]);
        Assert.Equal("3", p["Format"].Values![0]);
        Assert.Equal(@"C:\VMs\a&b <x>.vhdx", p["Path"].Values![0]);
        Assert.Equal("68719476736", p["MaxInternalSize"].Values![0]);
        Assert.Equal("33554432", p["BlockSize"].Values![0]);
        Assert.Equal("512", p["LogicalSectorSize"].Values![0]);
        Assert.Equal("4096", p["PhysicalSectorSize"].Values![0]);
        Assert.False(p.ContainsKey("ParentPath"));
    }

    [Fact]
    public void ToCimInstance_Fixed_TypeIs2AndOptionalValuesOmitted()
    {
        var p = CimXml.Properties(CimXml.Parse(
            new VirtualHardDiskSettings { Path = @"D:\f.vhdx", Type = VirtualHardDiskType.Fixed, MaxInternalSize = 1 << 30 }.ToCimInstance().ToXml()));

        Assert.Equal(["Type", "Format", "Path", "MaxInternalSize"], p.Keys);
        Assert.Equal("2", p["Type"].Values![0]);
    }

    [Fact]
    public void ToCimInstance_Differencing_Type4WithParentAndNoSize()
    {
        var p = CimXml.Properties(CimXml.Parse(new VirtualHardDiskSettings
        {
            Path = @"C:\VMs\clone.vhdx",
            Type = VirtualHardDiskType.Differencing,
            ParentPath = @"C:\Golden\base 'v1'.vhdx",
        }.ToCimInstance().ToXml()));

        Assert.Equal("4", p["Type"].Values![0]);
        Assert.Equal("3", p["Format"].Values![0]);
        Assert.Equal("string", p["ParentPath"].Type);
        Assert.Equal(@"C:\Golden\base 'v1'.vhdx", p["ParentPath"].Values![0]);
        Assert.False(p.ContainsKey("MaxInternalSize"));
    }

    public static TheoryData<VirtualHardDiskSettings, string> Invalid => new()
    {
        { new() { Path = "x.vhdx", Type = VirtualHardDiskType.Differencing }, "parent" },
        { new() { Path = "x.vhdx", Type = VirtualHardDiskType.Differencing, ParentPath = "p", MaxInternalSize = 512 }, "size" },
        { new() { Path = "x.vhdx", Type = VirtualHardDiskType.Dynamic }, "size" },
        { new() { Path = "x.vhdx", Type = VirtualHardDiskType.Fixed, MaxInternalSize = 0 }, "size" },
        { new() { Path = "x.vhdx", Type = VirtualHardDiskType.Dynamic, MaxInternalSize = 512, ParentPath = "p" }, "parent" },
        { new() { Path = "x.vhdx", MaxInternalSize = 512, LogicalSectorSize = 1024 }, "LogicalSectorSize" },
        { new() { Path = "x.vhdx", MaxInternalSize = 512, PhysicalSectorSize = 0 }, "PhysicalSectorSize" },
        { new() { Path = "x.vhdx", MaxInternalSize = 512, BlockSize = -1 }, "BlockSize" },
        { new() { Path = " ", MaxInternalSize = 512 }, "Path" },
        { new() { Path = "x.vhdx", MaxInternalSize = 512, Type = (VirtualHardDiskType)7 }, "type" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Validate_InvalidCombination_ThrowsArgumentException(VirtualHardDiskSettings settings, string mentions)
    {
        var e = Assert.ThrowsAny<ArgumentException>(settings.Validate);
        Assert.Contains(mentions, e.Message, StringComparison.OrdinalIgnoreCase);
    }
}
