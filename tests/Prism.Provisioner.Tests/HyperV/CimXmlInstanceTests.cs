using Prism.Provisioner.HyperV;

namespace Prism.Provisioner.Tests.HyperV;

public sealed class CimXmlInstanceTests
{
    [Fact]
    public void ToXml_AllTypes_ParseBackWithNamesTypesAndValues()
    {
        string xml = new CimXmlInstance("Msvm_Test")
            .Set("S", "text")
            .Set("B", true)
            .Set("U16", (ushort)65535)
            .Set("U32", 4_000_000_000u)
            .Set("U64", ulong.MaxValue)
            .SetArray("A", ["x", "y"])
            .ToXml();

        var root = CimXml.Parse(xml);
        Assert.Equal("Msvm_Test", (string)root.Attribute("CLASSNAME")!);
        var p = CimXml.Properties(root);
        CimXml.AssertProperty(p, "S", "PROPERTY", "string", new[] { "text" });
        CimXml.AssertProperty(p, "B", "PROPERTY", "boolean", new[] { "true" });
        CimXml.AssertProperty(p, "U16", "PROPERTY", "uint16", new[] { "65535" });
        CimXml.AssertProperty(p, "U32", "PROPERTY", "uint32", new[] { "4000000000" });
        CimXml.AssertProperty(p, "U64", "PROPERTY", "uint64", new[] { "18446744073709551615" });
        CimXml.AssertProperty(p, "A", "PROPERTY.ARRAY", "string", new[] { "x", "y" });
    }

    [Fact]
    public void ToXml_KnownBytes()
    {
        string xml = new CimXmlInstance("C").Set("N", (ushort)3).SetArray("H", ["a"]).Set("Z", (string?)null).ToXml();

        Assert.Equal(
            "<INSTANCE CLASSNAME=\"C\"><PROPERTY NAME=\"N\" TYPE=\"uint16\"><VALUE>3</VALUE></PROPERTY>"
            + "<PROPERTY.ARRAY NAME=\"H\" TYPE=\"string\"><VALUE.ARRAY><VALUE>a</VALUE></VALUE.ARRAY></PROPERTY.ARRAY>"
            + "<PROPERTY NAME=\"Z\" TYPE=\"string\"/></INSTANCE>",
            xml);
    }

    [Fact]
    public void ToXml_NullValues_AreEmptyPropertiesWithoutValue()
    {
        var root = CimXml.Parse(new CimXmlInstance("C").Set("S", (string?)null).Set("N", (uint?)null).SetArray("A", null).ToXml());

        var p = CimXml.Properties(root);
        Assert.Null(p["S"].Values);
        Assert.Equal("uint32", p["N"].Type);
        Assert.Null(p["N"].Values);
        Assert.Equal("PROPERTY.ARRAY", p["A"].Element);
        Assert.Null(p["A"].Values);
        Assert.All(root.Elements(), e => Assert.Empty(e.Nodes()));
    }

    [Fact]
    public void Set_SameNameTwice_ReplacesInPlace()
    {
        var instance = new CimXmlInstance("C").Set("A", "1").Set("B", "2").Set("a", "3");

        var root = CimXml.Parse(instance.ToXml());
        Assert.Equal(2, instance.Count);
        Assert.Equal(["a", "B"], root.Elements().Select(e => (string)e.Attribute("NAME")!));
        Assert.Equal("3", root.Elements().First().Value);
    }

    public static TheoryData<string> Paths => new()
    {
        @"C:\VMs\a&b <x>.vhdx",
        "C:\\VMs\\\"quoted\" 'single'.vhdx",
        @"\\server\share\clone;1 & 2 >> 3.vhdx",
        "C:\\VMs\\tab\there\r\nnew line.vhdx",
        "C:\\VMs\\unicode \u00e9\u4e2d\U0001F600.vhdx",
        "]]> <![CDATA[ &amp; &#x41;",
    };

    [Theory]
    [MemberData(nameof(Paths))]
    public void ToXml_SpecialCharacters_RoundTripThroughXmlParser(string path)
    {
        string xml = new CimXmlInstance("Msvm_StorageAllocationSettingData").Set("Parent", path).SetArray("HostResource", [path]).ToXml();

        var p = CimXml.Properties(CimXml.Parse(xml));
        Assert.Equal(path, p["Parent"].Values![0]);
        Assert.Equal(path, p["HostResource"].Values![0]);
        Assert.DoesNotContain('\r', xml);
        Assert.DoesNotContain('\n', xml);
    }

    [Fact]
    public void ToXml_Escapes_AllFiveMarkupCharacters()
    {
        string xml = new CimXmlInstance("C").Set("P", "&<>\"'").ToXml();

        Assert.Contains("<VALUE>&amp;&lt;&gt;&quot;&apos;</VALUE>", xml, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a\u0001b", 0x0001)]
    [InlineData("a\u001Fb", 0x001F)]
    [InlineData("a\uFFFEb", 0xFFFE)]
    public void ToXml_CharacterXmlCannotCarry_ThrowsNamingProperty(string value, int code)
    {
        var instance = new CimXmlInstance("C").Set("Path", value);

        var e = Assert.Throws<ArgumentException>(() => instance.ToXml());
        Assert.Contains("Path", e.Message, StringComparison.Ordinal);
        Assert.Contains($"U+{code:X4}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToXml_LoneSurrogate_Throws()
    {
        var instance = new CimXmlInstance("C").Set("Path", "a" + (char)0xD800 + "b");

        var e = Assert.Throws<ArgumentException>(() => instance.ToXml());
        Assert.Contains("U+D800", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SetArray_NullElement_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => new CimXmlInstance("C").SetArray("A", ["a", null!]));
    }
}
