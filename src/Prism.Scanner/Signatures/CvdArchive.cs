using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace Prism.Scanner.Signatures;

/// <summary>
/// ClamAV CVD/CLD container: a 512-byte ASCII header "ClamAV-VDB:build time:version:signatures:functionality
/// level:MD5:digital signature:builder:build time (s)" padded with spaces, then a tar archive, gzipped in a .cvd and
/// plain in a .cld. The MD5 field of a .cvd covers the gzipped tar and is checked; the RSA digital signature is not.
/// </summary>
internal static class CvdArchive
{
    public const int HeaderSize = 512;
    private const string Magic = "ClamAV-VDB:";

    private static class Fields
    {
        public const int BuildTime = 1, Version = 2, SignatureCount = 3, FunctionalityLevel = 4, Md5 = 5, Count = 6;
    }

    /// <summary>
    /// Calls <paramref name="onMember"/> with each regular file in the archive (name, content).
    /// Throws <see cref="SignatureFormatException"/> for a bad header, MD5 mismatch or corrupt archive.
    /// </summary>
    public static void Read(string path, Action<string, Stream> onMember)
    {
        bool compressed = !path.EndsWith(".cld", StringComparison.OrdinalIgnoreCase);
        using FileStream file = File.OpenRead(path);
        var header = new byte[HeaderSize];
        if (file.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false) < HeaderSize)
        {
            throw new SignatureFormatException(path, 0, $"CVD header: file shorter than {HeaderSize} bytes");
        }

        string text = Encoding.ASCII.GetString(header).TrimEnd(' ', '\0');
        if (!text.StartsWith(Magic, StringComparison.Ordinal))
        {
            throw new SignatureFormatException(path, 0, $"CVD header at 0x0: expected \"{Magic}\"");
        }

        string[] fields = text.Split(':');
        if (fields.Length < Fields.Count
            || !int.TryParse(fields[Fields.FunctionalityLevel], NumberStyles.None, CultureInfo.InvariantCulture, out _)
            || !int.TryParse(fields[Fields.Version], NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            throw new SignatureFormatException(path, 0, $"CVD header at 0x0: malformed \"{text}\"");
        }

        if (compressed)
        {
            string expected = fields[Fields.Md5].ToLowerInvariant();
#pragma warning disable CA5351 // MD5 is the CVD format's integrity field, not a security decision.
            string actual = Convert.ToHexStringLower(MD5.HashData(file));
#pragma warning restore CA5351
            if (actual != expected)
            {
                throw new SignatureFormatException(path, 0, $"CVD body at 0x200: MD5 {actual}, header says {expected}");
            }

            file.Position = HeaderSize;
        }

        try
        {
            using Stream body = compressed ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : file;
            using var tar = new TarReader(body, leaveOpen: true);
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile && entry.DataStream is { } data)
                {
                    onMember(entry.Name, data);
                }
            }
        }
        catch (InvalidDataException e)
        {
            throw new SignatureFormatException(path, 0, "CVD archive: " + e.Message, e);
        }
    }
}
