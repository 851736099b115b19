using System.Globalization;

namespace Prism.Cli;

/// <summary>A wrong command line: printed with usage, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>Minimal POSIX-style argument parser: positionals, --name value, --name=value, boolean flags.</summary>
internal sealed class CliArgs
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _multi = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public CliArgs(IEnumerable<string> args, IReadOnlySet<string> flags)
    {
        bool positionalOnly = false;
        using IEnumerator<string> e = args.GetEnumerator();
        while (e.MoveNext())
        {
            string a = e.Current;
            if (positionalOnly || !a.StartsWith('-') || a == "-")
            {
                Positionals.Add(a);
                continue;
            }

            if (a == "--")
            {
                positionalOnly = true;
                continue;
            }

            string name = a;
            string? value = null;
            int eq = a.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                name = a[..eq];
                value = a[(eq + 1)..];
            }
            else if (!flags.Contains(name))
            {
                if (!e.MoveNext())
                {
                    throw new UsageException($"option {name} needs a value");
                }

                value = e.Current;
            }

            _options[name] = value;
            if (value is not null)
            {
                if (!_multi.TryGetValue(name, out List<string>? list))
                {
                    _multi[name] = list = [];
                }

                list.Add(value);
            }
        }
    }

    /// <summary>Every value given for a repeatable option (<c>--signatures a.hdb --signatures b.ndb</c>).</summary>
    public IReadOnlyList<string> Options(string name)
    {
        _used.Add(name);
        return _multi.TryGetValue(name, out List<string>? list) ? list : [];
    }

    public List<string> Positionals { get; } = [];

    public bool Flag(string name)
    {
        _used.Add(name);
        return _options.ContainsKey(name);
    }

    public string? Option(string name)
    {
        _used.Add(name);
        return _options.TryGetValue(name, out string? v) ? v : null;
    }

    public long? Size(string name)
    {
        string? v = Option(name);
        return v is null ? null : ParseSize(v, name);
    }

    public long? Long(string name)
    {
        string? v = Option(name);
        if (v is null)
        {
            return null;
        }

        return ParseSize(v, name);
    }

    public int? Int(string name)
    {
        string? v = Option(name);
        if (v is null)
        {
            return null;
        }

        if (!int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n))
        {
            throw new UsageException($"{name}: '{v}' is not a whole number");
        }

        return n;
    }

    /// <summary>Fails on options nobody asked for (typos).</summary>
    public void RejectUnknown()
    {
        foreach (string k in _options.Keys)
        {
            if (!_used.Contains(k))
            {
                throw new UsageException($"unknown option {k}");
            }
        }
    }

    public string Positional(int index, string what) =>
        index < Positionals.Count ? Positionals[index] : throw new UsageException($"missing {what}");

    /// <summary>Parses 512, 0x200, 4K, 4KiB, 64GiB, 1.5MiB, 10MB (decimal units are powers of ten).</summary>
    public static long ParseSize(string text, string what)
    {
        string s = text.Trim();
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            && long.TryParse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out long hex))
        {
            return hex;
        }

        int i = 0;
        while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
        {
            i++;
        }

        if (i == 0 || !decimal.TryParse(s.AsSpan(0, i), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal number))
        {
            throw new UsageException($"{what}: '{text}' is not a size (examples: 512, 4KiB, 64GiB)");
        }

        string unit = s[i..].Trim().ToUpperInvariant();
        decimal multiplier = unit switch
        {
            "" or "B" => 1m,
            "K" or "KIB" => 1024m,
            "M" or "MIB" => 1024m * 1024,
            "G" or "GIB" => 1024m * 1024 * 1024,
            "T" or "TIB" => 1024m * 1024 * 1024 * 1024,
            "KB" => 1000m,
            "MB" => 1000m * 1000,
            "GB" => 1000m * 1000 * 1000,
            "TB" => 1000m * 1000 * 1000 * 1000,
            _ => throw new UsageException($"{what}: unknown unit '{s[i..]}' in '{text}' (use B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)"),
        };
        decimal bytes = number * multiplier;
        if (bytes != decimal.Truncate(bytes) || bytes > long.MaxValue)
        {
            throw new UsageException($"{what}: '{text}' is not a whole number of bytes");
        }

        return (long)bytes;
    }

    public static string FormatSize(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.Length - 1)
        {
            v /= 1024;
            u++;
        }

        return u == 0 ? $"{bytes} B" : string.Create(CultureInfo.InvariantCulture, $"{v:0.##} {units[u]}");
    }
}
