using System.Text;

namespace Prism.Provisioner.HyperV;

/// <summary>WMI object paths and WQL string literals, built from plain strings.</summary>
internal static class WmiText
{
    /// <summary>
    /// <c>\\SERVER\NAMESPACE:CLASS.InstanceID="value"</c>, the string form Hyper-V uses in Parent properties; a
    /// backslash or double quote inside the key value is escaped with a backslash.
    /// </summary>
    public static string ObjectPath(string server, string ns, string className, string instanceId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(server);
        ArgumentException.ThrowIfNullOrWhiteSpace(ns);
        ArgumentException.ThrowIfNullOrWhiteSpace(className);
        ArgumentNullException.ThrowIfNull(instanceId);
        string key = instanceId.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
        return $"\\\\{server}\\{ns}:{className}.{HyperVNames.Properties.InstanceId}=\"{key}\"";
    }

    /// <summary>A single-quoted WQL string literal: backslash and single quote are escaped with a backslash.</summary>
    public static string WqlString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return "'" + value.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("'", @"\'", StringComparison.Ordinal) + "'";
    }

    /// <summary>
    /// Splits <c>[\\SERVER\NAMESPACE:]CLASS.InstanceID="value"</c> into class and unescaped key; false for any other
    /// shape (other keys, several keys, bad escapes).
    /// </summary>
    public static bool TryParseObjectPath(string path, out string className, out string instanceId)
    {
        ArgumentNullException.ThrowIfNull(path);
        className = "";
        instanceId = "";
        const string Marker = "." + HyperVNames.Properties.InstanceId + "=\"";
        int marker = path.IndexOf(Marker, StringComparison.OrdinalIgnoreCase);
        if (marker <= 0 || path.Length < marker + Marker.Length + 1 || path[^1] != '"')
        {
            return false;
        }

        string prefix = path[..marker];
        string cls = prefix[(prefix.LastIndexOf(':') + 1)..];
        if (cls.Length == 0 || cls.Contains('\\', StringComparison.Ordinal))
        {
            return false;
        }

        var key = new StringBuilder();
        ReadOnlySpan<char> quoted = path.AsSpan(marker + Marker.Length, path.Length - marker - Marker.Length - 1);
        for (int i = 0; i < quoted.Length; i++)
        {
            char c = quoted[i];
            if (c == '"')
            {
                return false;
            }

            if (c == '\\')
            {
                if (++i == quoted.Length)
                {
                    return false;
                }

                c = quoted[i];
            }

            key.Append(c);
        }

        className = cls;
        instanceId = key.ToString();
        return true;
    }

    /// <summary>True when two object paths name the same class and InstanceID, whatever their server prefix or case.</summary>
    public static bool SameObject(string? a, string? b) =>
        a is not null && b is not null
        && TryParseObjectPath(a, out string classA, out string idA)
        && TryParseObjectPath(b, out string classB, out string idB)
        && string.Equals(classA, classB, StringComparison.OrdinalIgnoreCase)
        && string.Equals(idA, idB, StringComparison.OrdinalIgnoreCase);
}
