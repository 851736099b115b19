using System.Globalization;
using Prism.Disks.Errors;

namespace Prism.Scanner.Signatures;

/// <summary>
/// Reads ClamAV database files (hdb, hsb, ndb, and cvd/cld archives of them) into lists of signatures, recording
/// every line or file it does not use. Malformed lines throw <see cref="SignatureFormatException"/> with the line number.
/// </summary>
internal sealed class SignatureLoader
{
    /// <summary>ClamAV's functionality level we mirror (ClamAV 1.4.6): MinFL/MaxFL fields are checked against it.</summary>
    public const int FunctionalityLevel = 216;

    /// <summary>Minimum functionality level ClamAV demands on hash signatures with size "*".</summary>
    private const int AnySizeMinimumLevel = 73;

    /// <summary>ClamAV database extensions this engine does not read; a directory's files with them are reported.</summary>
    private static readonly HashSet<string> s_otherClamAvExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        ".hdu", ".hsu", ".ndu", ".mdb", ".mdu", ".msb", ".msu", ".ldb", ".ldu", ".idb", ".cdb", ".cfg", ".crb", ".cat",
        ".cbc", ".fp", ".sfp", ".ign", ".ign2", ".ftm", ".gdb", ".pdb", ".wdb", ".imp", ".pwdb", ".yar", ".yara", ".info",
        ".db", ".zmd", ".rmd", ".sdb", ".cud", ".sign",
    };

    public List<BodySignature> Bodies { get; } = [];

    public HashSignatureSet Md5 { get; } = new(HashKind.Md5);

    public HashSignatureSet Sha1 { get; } = new(HashKind.Sha1);

    public HashSignatureSet Sha256 { get; } = new(HashKind.Sha256);

    public List<SignatureIssue> Issues { get; } = [];

    /// <summary>Loads a file or, for a directory, every ClamAV database file in it (sorted by name).</summary>
    public void LoadPath(string path)
    {
        if (Directory.Exists(path))
        {
            foreach (string file in Directory.GetFiles(path).Order(StringComparer.Ordinal))
            {
                string ext = Path.GetExtension(file);
                if (IsSupportedExtension(ext) || s_otherClamAvExtensions.Contains(ext))
                {
                    LoadFile(file);
                }
            }

            return;
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"signature database {path} not found", path);
        }

        LoadFile(path);
    }

    /// <summary>Loads database text as if read from a file named <paramref name="source"/> (its extension picks the format).</summary>
    public void LoadString(string source, string text)
    {
        using var reader = new StreamReader(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)));
        string ext = Path.GetExtension(source).ToLowerInvariant();
        if (ext is ".hdb" or ".hsb" or ".ndb")
        {
            LoadText(source, ext, reader);
        }
        else
        {
            ReportUnsupportedFile(source, ext, reader);
        }
    }

    private static bool IsSupportedExtension(string ext) =>
        ext.ToLowerInvariant() is ".hdb" or ".hsb" or ".ndb" or ".cvd" or ".cld";

    private void LoadFile(string path)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext is ".cvd" or ".cld")
        {
            CvdArchive.Read(path, (member, content) =>
            {
                string source = path + ":" + member;
                string memberExt = Path.GetExtension(member).ToLowerInvariant();
                using var reader = new StreamReader(content);
                if (memberExt is ".hdb" or ".hsb" or ".ndb")
                {
                    LoadText(source, memberExt, reader);
                }
                else
                {
                    ReportUnsupportedFile(source, memberExt, reader);
                }
            });
            return;
        }

        using (var reader = new StreamReader(path))
        {
            if (ext is ".hdb" or ".hsb" or ".ndb")
            {
                LoadText(path, ext, reader);
            }
            else
            {
                ReportUnsupportedFile(path, ext, reader);
            }
        }
    }

    private void ReportUnsupportedFile(string source, string ext, StreamReader reader)
    {
        int lines = 0;
        while (reader.ReadLine() is not null)
        {
            lines++;
        }

        string what = ext.Length == 0 ? "files without extension" : $"'{ext}' files";
        Issues.Add(new SignatureIssue(source, 0, $"{what} are not supported; {lines} line(s) not loaded"));
    }

    private void LoadText(string source, string ext, StreamReader reader)
    {
        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            line = line.TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }

            try
            {
                if (ext == ".ndb")
                {
                    ParseNdbLine(line);
                }
                else
                {
                    ParseHashLine(line, ext == ".hsb");
                }
            }
            catch (FormatException e)
            {
                throw new SignatureFormatException(source, lineNumber, e.Message, e);
            }
            catch (NotSupportedException e)
            {
                Issues.Add(new SignatureIssue(source, lineNumber, e.Message));
            }
        }
    }

    /// <summary>HashString:FileSize:MalwareName[:MinFL[:MaxFL]] (hdb: MD5; hsb: SHA-1/SHA-256, chosen by length).</summary>
    private void ParseHashLine(string line, bool sha)
    {
        string[] f = line.Split(':');
        if (f.Length is < 3 or > 5)
        {
            throw new FormatException($"expected hash:size:name[:minFL[:maxFL]], got {f.Length} field(s)");
        }

        string hash = f[0].ToLowerInvariant();
        HashSignatureSet set = hash.Length switch
        {
            32 => Md5,
            40 when sha => Sha1,
            64 when sha => Sha256,
            _ => throw new FormatException($"hash '{f[0]}' has {hash.Length} characters; expected {(sha ? "32, 40 or 64" : "32")}"),
        };
        if (!hash.All(char.IsAsciiHexDigit))
        {
            throw new FormatException($"hash '{f[0]}' is not hexadecimal");
        }

        long size;
        if (f[1] == "*")
        {
            size = -1;
        }
        else if (!long.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out size))
        {
            throw new FormatException($"bad file size '{f[1]}'");
        }

        string name = ParseName(f[2]);
        (int? minLevel, int? maxLevel) = ParseLevels(f, 3);
        if (size < 0 && (minLevel ?? 0) < AnySizeMinimumLevel)
        {
            throw new FormatException($"size '*' needs a MinFL field of at least {AnySizeMinimumLevel}");
        }

        EnsureLevels(minLevel, maxLevel);
        set.Add(hash, size, name);
    }

    /// <summary>MalwareName:TargetType:Offset:HexSignature[:MinFL[:MaxFL]].</summary>
    private void ParseNdbLine(string line)
    {
        string[] f = line.Split(':');
        if (f.Length is < 4 or > 6)
        {
            throw new FormatException($"expected name:target:offset:hexsig[:minFL[:maxFL]], got {f.Length} field(s)");
        }

        string name = ParseName(f[0]);
        if (!int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out int target) || target > 14)
        {
            throw new FormatException($"bad target type '{f[1]}'");
        }

        (int? minLevel, int? maxLevel) = ParseLevels(f, 4);
        SignatureOffset offset;
        try
        {
            offset = SignatureOffset.Parse(f[2]);
        }
        catch (NotSupportedException) when (target == 0)
        {
            // ClamAV rejects the whole database for this ("Invalid offset type for target 0"), so do we.
            throw new FormatException($"offset {f[2]} needs an executable target type, not 0");
        }

        List<HexPatternParser.RawSegment> raw = HexPatternParser.Parse(f[3]);
        EnsureLevels(minLevel, maxLevel);

        if (target != 0)
        {
            // clamscan applies target types after file-type detection (and normalises text), so they do not match raw data.
            throw new NotSupportedException($"target type {target} is not supported (only 0, any file)");
        }

        if (offset.Kind == SignatureOffsetKind.FromEnd && raw.Count > 1)
        {
            throw new NotSupportedException("an EOF-relative offset combined with '*' or {n-} is not supported");
        }

        var segments = new PatternSegment[raw.Count];
        for (int i = 0; i < raw.Count; i++)
        {
            segments[i] = PatternSegment.Compile(raw[i]);
        }

        Bodies.Add(new BodySignature(name, offset, segments));
    }

    /// <summary>
    /// The signature name as findings will show it: control characters and bidi controls escaped here, at the trust
    /// boundary, so a hostile database cannot put terminal escapes into scan output, reports or the verdict store
    /// (detection is unchanged; only such a name's spelling is).
    /// </summary>
    private static string ParseName(string name) =>
        name.Length == 0 ? throw new FormatException("empty signature name") : TextEscaping.Escape(name);

    private static (int? Min, int? Max) ParseLevels(string[] f, int index)
    {
        int? min = null, max = null;
        if (f.Length > index && f[index].Length > 0)
        {
            min = int.TryParse(f[index], NumberStyles.None, CultureInfo.InvariantCulture, out int v)
                ? v : throw new FormatException($"bad MinFL '{f[index]}'");
        }

        if (f.Length > index + 1 && f[index + 1].Length > 0)
        {
            max = int.TryParse(f[index + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int v)
                ? v : throw new FormatException($"bad MaxFL '{f[index + 1]}'");
        }

        return (min, max);
    }

    /// <summary>Throws NotSupported (the line is skipped, as clamscan does) when the range excludes <see cref="FunctionalityLevel"/>.</summary>
    private static void EnsureLevels(int? min, int? max)
    {
        if (min > FunctionalityLevel || max < FunctionalityLevel)
        {
            throw new NotSupportedException(
                $"functionality level range {min?.ToString(CultureInfo.InvariantCulture) ?? "-"}..{max?.ToString(CultureInfo.InvariantCulture) ?? "-"} excludes {FunctionalityLevel} (skipped, as clamscan does)");
        }
    }
}
