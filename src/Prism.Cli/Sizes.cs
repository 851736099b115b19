using System.Globalization;

namespace Prism.Cli;

/// <summary>Sizes as users write them (64GiB, 4K, 0x200, 10MB) and as the CLI prints them.</summary>
internal static class Sizes
{
    /// <summary>Parses 512, 0x200, 4K, 4KiB, 64GiB, 1.5MiB, 10MB (decimal units are powers of ten).</summary>
    public static long Parse(string text, string what)
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

    public static string Format(long bytes)
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
