using System.Xml.Linq;

namespace Prism.Provisioner.Tests.HyperV;

/// <summary>Reads our CIM-XML back with System.Xml so tests assert on parsed names, types and values.</summary>
internal static class CimXml
{
    public static XElement Parse(string xml)
    {
        XElement root = XElement.Parse(xml, LoadOptions.PreserveWhitespace);
        Assert.Equal("INSTANCE", root.Name.LocalName);
        return root;
    }

    /// <summary>NAME -> (element, TYPE, values or null for a NULL property).</summary>
    public static Dictionary<string, (string Element, string Type, string[]? Values)> Properties(XElement instance) =>
        instance.Elements().ToDictionary(
            e => (string)e.Attribute("NAME")!,
            e => (e.Name.LocalName, (string)e.Attribute("TYPE")!,
                e.Name.LocalName == "PROPERTY.ARRAY"
                    ? e.Element("VALUE.ARRAY")?.Elements("VALUE").Select(v => v.Value).ToArray()
                    : e.Element("VALUE") is { } v ? [v.Value] : null));

    public static void AssertProperty(
        Dictionary<string, (string Element, string Type, string[]? Values)> properties, string name, string element, string type, string[] values)
    {
        Assert.True(properties.TryGetValue(name, out var p), $"property {name} missing");
        Assert.Equal(element, p.Element);
        Assert.Equal(type, p.Type);
        Assert.Equal(values, p.Values);
    }
}
