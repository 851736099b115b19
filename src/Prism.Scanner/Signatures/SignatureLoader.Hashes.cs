using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;

namespace Prism.Scanner.Signatures;

/// <summary>
/// Hash databases (hdb, hsb, mdb, msb, fp, sfp) read as bytes: a line of the common shape (printable ASCII, three
/// fields, a decimal size, a hex hash) goes straight into its <see cref="HashSignatureSet"/> without a string; any other
/// line (levels, "*" sizes, names to escape, errors) takes the text path, so messages and results are the same.
/// </summary>
internal sealed partial class SignatureLoader
{
    private const int HashReadBuffer = 1 << 20;
    private const int MaxFastName = 1024;

    /// <summary>The room to make in the first set a large hash file adds to (<see cref="EstimateHashLines"/>).</summary>
    private (int Records, long NameBytes) _sizeHint;

    private static bool IsHashType(string type) => type is "hdb" or "hsb" or "mdb" or "msb" or "fp" or "sfp";

    /// <summary>Splits the stream into lines as <see cref="StreamReader.ReadLine"/> does (\n, \r or \r\n) and parses each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void LoadHashStream(string source, string type, Stream content)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(HashReadBuffer);
        int filled = 0, lineNumber = 0, loaded = 0;
        bool eof = false, first = true;
        try
        {
            while (!eof)
            {
                int read = content.ReadAtLeast(buffer.AsSpan(filled), buffer.Length - filled, throwOnEndOfStream: false);
                eof = read < buffer.Length - filled;
                filled += read;
                int pos = 0;
                if (first)
                {
                    first = false;
                    pos = buffer.AsSpan(0, filled).StartsWith("\uFEFF"u8) ? 3 : 0;
                    _sizeHint = eof || !content.CanSeek ? default : EstimateHashLines(buffer.AsSpan(pos, filled - pos), content.Length - pos);
                }

                while (pos < filled)
                {
                    int end = buffer.AsSpan(pos, filled - pos).IndexOfAny((byte)'\n', (byte)'\r');
                    if (end < 0)
                    {
                        break;
                    }

                    int next = pos + end + 1;
                    if (buffer[pos + end] == '\r')
                    {
                        if (next < filled)
                        {
                            next += buffer[next] == '\n' ? 1 : 0;
                        }
                        else if (!eof)
                        {
                            break;
                        }
                    }

                    lineNumber++;
                    loaded += HashLine(source, type, buffer.AsSpan(pos, end), lineNumber);
                    pos = next;
                }

                if (eof)
                {
                    if (pos < filled)
                    {
                        lineNumber++;
                        loaded += HashLine(source, type, buffer.AsSpan(pos, filled - pos), lineNumber);
                    }

                    break;
                }

                int rest = filled - pos;
                if (rest == buffer.Length)
                {
                    byte[] larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, rest).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                else
                {
                    buffer.AsSpan(pos, rest).CopyTo(buffer);
                }

                filled = rest;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Count(type, loaded, 0);
        }
    }

    /// <summary>
    /// Lines and name bytes of a hash file of <paramref name="total"/> bytes, extrapolated from its first
    /// <paramref name="head"/> bytes (zero for a file that fits in them).
    /// </summary>
    private static (int Records, long NameBytes) EstimateHashLines(ReadOnlySpan<byte> head, long total)
    {
        int lines = 0, end = head.LastIndexOf((byte)'\n');
        long names = 0;
        for (ReadOnlySpan<byte> rest = end < 0 ? [] : head[..end]; !rest.IsEmpty;)
        {
            int eol = rest.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = (eol < 0 ? rest : rest[..eol]).TrimEnd((byte)'\r');
            rest = eol < 0 ? [] : rest[(eol + 1)..];
            int c1 = line.IndexOf((byte)':'), c2 = c1 < 0 ? -1 : line[(c1 + 1)..].IndexOf((byte)':');
            lines++;
            names += c2 < 0 ? 0 : line.Length - (c1 + c2 + 2);
        }

        if (lines == 0 || total <= end + 1)
        {
            return default;
        }

        double scale = (double)total / (end + 1) * 1.02;
        return ((int)Math.Min(int.MaxValue / 2, (lines * scale) + 64), (long)((names * scale) + 1024));
    }

    /// <summary>One hash line; returns 1 when the fast path loaded it (the text path counts its own lines).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int HashLine(string source, string type, ReadOnlySpan<byte> line, int lineNumber)
    {
        if (line.IsEmpty || line[0] == '#')
        {
            return 0;
        }

        if (TryFastHashLine(type, line))
        {
            return 1;
        }

        ProcessLine(source, type, Encoding.UTF8.GetString(line), lineNumber);
        return 0;
    }

    /// <summary>
    /// Adds hash:size:name (mdb/msb: size:hash:name) when every field has its plain form; false sends the line to the
    /// text path (which also reports every error).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryFastHashLine(string type, ReadOnlySpan<byte> line)
    {
        if (line.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E) >= 0)
        {
            return false;
        }

        int c1 = line.IndexOf((byte)':');
        if (c1 < 0)
        {
            return false;
        }

        int c2 = line[(c1 + 1)..].IndexOf((byte)':');
        if (c2 < 0)
        {
            return false;
        }

        c2 += c1 + 1;
        ReadOnlySpan<byte> name = line[(c2 + 1)..];
        if (name.IsEmpty || name.Length > MaxFastName || name.Contains((byte)':'))
        {
            return false;
        }

        bool section = type is "mdb" or "msb";
        ReadOnlySpan<byte> a = line[..c1], b = line[(c1 + 1)..c2];
        ReadOnlySpan<byte> hash = section ? b : a, sizeText = section ? a : b;
        if (sizeText.IsEmpty || sizeText.Length > 10)
        {
            return false;
        }

        long size = 0;
        foreach (byte d in sizeText)
        {
            if (d is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            size = (size * 10) + (d - '0');
        }

        if (size == 0 || size >= uint.MaxValue)
        {
            return false;
        }

        HashSignatureSet? set = (HashSignatureSet.KindOfLength(hash.Length), section) switch
        {
            (HashKind.Md5, false) => Md5,
            (HashKind.Sha1, false) => Sha1,
            (HashKind.Sha256, false) => Sha256,
            (HashKind.Md5, true) => SectionMd5,
            (HashKind.Sha1, true) => SectionSha1,
            (HashKind.Sha256, true) => SectionSha256,
            _ => null,
        };
        if (set is null)
        {
            return false;
        }

        if (_sizeHint.Records > 0)
        {
            // A large file's lines mostly go where its first one goes: room for all of them at once.
            set.EnsureCapacity(_sizeHint.Records, _sizeHint.NameBytes);
            _sizeHint = default;
        }

        if (type is "fp" or "sfp")
        {
            return set.TryAddAllowed(hash, size, type);
        }

        if (_ignoredNames.Count > 0 || _ignoredNameLineMd5.Count > 0)
        {
            Span<char> text = stackalloc char[name.Length];
            for (int i = 0; i < name.Length; i++)
            {
                text[i] = (char)name[i];
            }

            // Named by an ignore list: the text path counts it (or checks the line's MD5).
            if (_ignoredNames.GetAlternateLookup<ReadOnlySpan<char>>().Contains(text)
                || _ignoredNameLineMd5.GetAlternateLookup<ReadOnlySpan<char>>().ContainsKey(text))
            {
                return false;
            }
        }

        return set.TryAdd(hash, size, name, type);
    }
}
