using System.Globalization;
using System.Text;

namespace Prism.Provisioner.HyperV;

/// <summary>
/// An embedded instance in DSP0201 CIM-XML (<c>INSTANCE</c> with <c>PROPERTY</c> and <c>PROPERTY.ARRAY</c> children),
/// the text form the Hyper-V WMI v2 provider takes for string parameters holding embedded instances.
/// Properties keep insertion order; setting a name again replaces its value. A null value is emitted as an empty
/// <c>PROPERTY</c> (the DTD makes <c>VALUE</c> optional: a NULL property).
/// </summary>
internal sealed class CimXmlInstance
{
    private readonly List<Property> _properties = [];

    public CimXmlInstance(string className)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(className);
        ClassName = className;
    }

    public string ClassName { get; }

    public int Count => _properties.Count;

    public CimXmlInstance Set(string name, string? value) => Put(name, CimXmlType.String, false, value is null ? null : [value]);

    public CimXmlInstance Set(string name, bool? value) =>
        Put(name, CimXmlType.Boolean, false, value is null ? null : [value.Value ? "true" : "false"]);

    public CimXmlInstance Set(string name, ushort? value) => Put(name, CimXmlType.UInt16, false, Format(value));

    public CimXmlInstance Set(string name, uint? value) => Put(name, CimXmlType.UInt32, false, Format(value));

    public CimXmlInstance Set(string name, ulong? value) => Put(name, CimXmlType.UInt64, false, Format(value));

    public CimXmlInstance SetArray(string name, IReadOnlyList<string>? values)
    {
        if (values is not null)
        {
            foreach (string v in values)
            {
                ArgumentNullException.ThrowIfNull(v, nameof(values));
            }
        }

        return Put(name, CimXmlType.String, true, values?.ToArray());
    }

    /// <summary>The instance as CIM-XML text; throws ArgumentException if a value holds a character XML 1.0 cannot carry.</summary>
    public string ToXml()
    {
        var sb = new StringBuilder(256);
        sb.Append("<INSTANCE CLASSNAME=\"");
        Escape(sb, ClassName, "CLASSNAME");
        sb.Append("\">");
        foreach (Property p in _properties)
        {
            string element = p.IsArray ? "PROPERTY.ARRAY" : "PROPERTY";
            sb.Append('<').Append(element).Append(" NAME=\"");
            Escape(sb, p.Name, p.Name);
            sb.Append("\" TYPE=\"").Append(TypeName(p.Type)).Append('"');
            if (p.Values is null)
            {
                sb.Append("/>");
                continue;
            }

            sb.Append('>');
            if (p.IsArray)
            {
                sb.Append("<VALUE.ARRAY>");
            }

            foreach (string v in p.Values)
            {
                sb.Append("<VALUE>");
                Escape(sb, v, p.Name);
                sb.Append("</VALUE>");
            }

            if (p.IsArray)
            {
                sb.Append("</VALUE.ARRAY>");
            }

            sb.Append("</").Append(element).Append('>');
        }

        sb.Append("</INSTANCE>");
        return sb.ToString();
    }

    public override string ToString() => ToXml();

    public static string TypeName(CimXmlType type) => type switch
    {
        CimXmlType.String => "string",
        CimXmlType.Boolean => "boolean",
        CimXmlType.UInt16 => "uint16",
        CimXmlType.UInt32 => "uint32",
        CimXmlType.UInt64 => "uint64",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown CIM type"),
    };

    private static string[]? Format<T>(T? value)
        where T : struct, IFormattable =>
        value is null ? null : [value.Value.ToString(null, CultureInfo.InvariantCulture)];

    private CimXmlInstance Put(string name, CimXmlType type, bool isArray, string[]? values)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var property = new Property(name, type, isArray, values);
        int i = _properties.FindIndex(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
        if (i >= 0)
        {
            _properties[i] = property;
        }
        else
        {
            _properties.Add(property);
        }

        return this;
    }

    // XML 1.0 escaping for both attribute and element content. CR, LF and TAB become character references so a
    // parser's end-of-line and attribute normalization cannot change them; characters XML 1.0 forbids (other C0
    // controls, U+FFFE/U+FFFF, lone surrogates) cannot be sent at all, so they are a caller error naming the property.
    private static void Escape(StringBuilder sb, string text, string property)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&apos;"); break;
                case '\t': sb.Append("&#x9;"); break;
                case '\n': sb.Append("&#xA;"); break;
                case '\r': sb.Append("&#xD;"); break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                    {
                        sb.Append(c).Append(text[++i]);
                    }
                    else if (c < 0x20 || c is '\uFFFE' or '\uFFFF' || char.IsSurrogate(c))
                    {
                        throw new ArgumentException(
                            $"CIM property {property}: character U+{(int)c:X4} at index {i} cannot be represented in XML", nameof(text));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }
    }

    private sealed record Property(string Name, CimXmlType Type, bool IsArray, string[]? Values);
}
