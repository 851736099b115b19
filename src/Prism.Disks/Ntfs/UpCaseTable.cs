namespace Prism.Disks.Ntfs;

/// <summary>The volume's $UpCase table (file record 10): the upper-case form of every UTF-16 code unit, used by $I30 collation.</summary>
internal sealed class UpCaseTable
{
    public const int ByteLength = 65536 * 2;
    private readonly char[] _map;

    private UpCaseTable(char[] map) => _map = map;

    /// <summary>Invariant-culture mapping, used only when the volume's $UpCase cannot be read.</summary>
    public static UpCaseTable Invariant { get; } = CreateInvariant();

    public static UpCaseTable FromBytes(ReadOnlySpan<byte> bytes)
    {
        var map = new char[65536];
        for (int i = 0; i < map.Length; i++)
        {
            map[i] = (char)(bytes[2 * i] | (bytes[(2 * i) + 1] << 8));
        }

        return new UpCaseTable(map);
    }

    public char ToUpper(char c) => _map[c];

    /// <summary>Compares like NTFS COLLATION_FILE_NAME: code unit by code unit after upcasing, then by length.</summary>
    public int Compare(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            int d = _map[a[i]] - _map[b[i]];
            if (d != 0)
            {
                return d;
            }
        }

        return a.Length - b.Length;
    }

    private static UpCaseTable CreateInvariant()
    {
        var map = new char[65536];
        for (int i = 0; i < map.Length; i++)
        {
            map[i] = char.ToUpperInvariant((char)i);
        }

        return new UpCaseTable(map);
    }
}
