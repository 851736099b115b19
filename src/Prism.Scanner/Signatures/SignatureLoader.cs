using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Prism.Disks.Errors;

namespace Prism.Scanner.Signatures;

/// <summary>
/// Reads ClamAV database files (hdb, hsb, ndb, fp, sfp, ign, ign2, and cvd/cld archives) into lists of signatures,
/// counting every entry per database type and recording every line or file it does not use. Lines ClamAV rejects
/// throw <see cref="SignatureFormatException"/> with the line number; lines ClamAV accepts are never refused.
/// </summary>
internal sealed partial class SignatureLoader
{
    /// <summary>ClamAV's functionality level we mirror (ClamAV 1.4.6): MinFL/MaxFL fields are checked against it.</summary>
    public const int FunctionalityLevel = 216;

    /// <summary>Minimum functionality level ClamAV demands on hash signatures with size "*".</summary>
    private const int AnySizeMinimumLevel = 73;

    /// <summary>Highest ndb target type ClamAV defines (ExtendedSignatures.md); higher numbers are skipped, as clamscan does.</summary>
    private const int MaxTargetType = 14;

    private static readonly string[] s_targetNames =
    [
        "any file", "PE", "OLE2", "HTML (normalized)", "mail", "graphics", "ELF", "ASCII text (normalized)", "unused",
        "Mach-O", "PDF", "Flash", "Java class", "internal", "other",
    ];

    /// <summary>Database types this engine reads.</summary>
    private static readonly HashSet<string> s_readTypes = new(StringComparer.Ordinal)
    {
        "hdb", "hsb", "mdb", "msb", "ndb", "ldb", "fp", "sfp", "ign", "ign2",
    };

    /// <summary>ClamAV database types this engine does not use, with the reason given in the load report.</summary>
    private static readonly Dictionary<string, string> s_otherTypes = new(StringComparer.Ordinal)
    {
        ["hdu"] = "PUA signatures (clamscan loads them only with --detect-pua)",
        ["hsu"] = "PUA signatures (clamscan loads them only with --detect-pua)",
        ["ndu"] = "PUA signatures (clamscan loads them only with --detect-pua)",
        ["mdu"] = "PUA signatures (clamscan loads them only with --detect-pua)",
        ["msu"] = "PUA signatures (clamscan loads them only with --detect-pua)",
        ["ldu"] = "PUA signatures (clamscan loads them only with --detect-pua)",
        ["imp"] = "PE import table hash signatures are not supported",
        ["cbc"] = "bytecode signatures need ClamAV's bytecode VM",
        ["idb"] = "icon signatures need ClamAV's icon matcher",
        ["pdb"] = "phishing signatures need ClamAV's phishing engine",
        ["gdb"] = "phishing signatures need ClamAV's phishing engine",
        ["wdb"] = "phishing allow-list signatures need ClamAV's phishing engine",
        ["crb"] = "Authenticode certificate rules need ClamAV's PE certificate checks",
        ["cat"] = "Authenticode catalogs need ClamAV's PE certificate checks",
        ["cdb"] = "container metadata signatures need ClamAV's archive unpackers",
        ["ftm"] = "file type magic (ClamAV's file typing) is not used",
        ["pwdb"] = "encrypted archive passwords are not used",
        ["yar"] = "YARA rules are not supported",
        ["yara"] = "YARA rules are not supported",
        ["info"] = "database metadata (not signatures)",
        ["cfg"] = "dynamic configuration (not signatures)",
        ["sign"] = "database digital signatures are not checked",
        ["cud"] = "compressed unsigned databases are not supported",
        ["db"] = "legacy database format is not supported",
        ["zmd"] = "legacy archive metadata signatures are not supported",
        ["rmd"] = "legacy archive metadata signatures are not supported",
        ["sdb"] = "legacy database format is not supported",
    };

    private readonly Dictionary<string, int[]> _counts = new(StringComparer.Ordinal);
    private readonly HashSet<string> _ignoredNames = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _ignoredNameLineMd5 = new(StringComparer.Ordinal);

    public SignatureLoader()
    {
    }

    private SignatureLoader(HashSet<string> ignoredNames, Dictionary<string, HashSet<string>> ignoredNameLineMd5)
    {
        _ignoredNames = ignoredNames;
        _ignoredNameLineMd5 = ignoredNameLineMd5;
    }

    public List<BodySignature> Bodies { get; } = [];

    /// <summary>Logical (.ldb) signatures; their subsignature patterns are in <see cref="Bodies"/>.</summary>
    public List<LogicalSignature> Logicals { get; } = [];

    public HashSignatureSet Md5 { get; private set; } = new(HashKind.Md5);

    public HashSignatureSet Sha1 { get; private set; } = new(HashKind.Sha1);

    public HashSignatureSet Sha256 { get; private set; } = new(HashKind.Sha256);

    /// <summary>PE section hash signatures (.mdb/.msb), by algorithm.</summary>
    public HashSignatureSet SectionMd5 { get; private set; } = new(HashKind.Md5);

    public HashSignatureSet SectionSha1 { get; private set; } = new(HashKind.Sha1);

    public HashSignatureSet SectionSha256 { get; private set; } = new(HashKind.Sha256);

    private IEnumerable<HashSignatureSet> AllHashSets => [Md5, Sha1, Sha256, SectionMd5, SectionSha1, SectionSha256];

    public List<SignatureIssue> Issues { get; } = [];

    /// <summary>Signature names an .ign/.ign2 list drops whatever their database line.</summary>
    public IReadOnlySet<string> IgnoredNames => _ignoredNames;

    /// <summary>Entries per database type, sorted by type.</summary>
    public IReadOnlyList<SignatureTypeCount> TypeCounts =>
        [.. _counts.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new SignatureTypeCount(kv.Key, kv.Value[0], kv.Value[1], kv.Value[2]))];

    /// <summary>True for the extension (with or without dot) of any database file ClamAV knows, read or not.</summary>
    public static bool IsDatabaseExtension(string extension)
    {
        string type = extension.TrimStart('.').ToLowerInvariant();
        return type is "cvd" or "cld" || s_readTypes.Contains(type) || s_otherTypes.ContainsKey(type);
    }

    /// <summary>
    /// Loads files and directories (every ClamAV database file in a directory, sorted by name). Ignore lists
    /// (.ign, .ign2) given as files are read first, so they apply whatever their position. Plain hash databases are
    /// parsed on several cores when there are (SignatureLoader.Parallel.cs), with the same result.
    /// </summary>
    public void LoadPaths(IEnumerable<string> paths)
    {
        IReadOnlyList<string> files = ExpandPaths(paths);
        foreach (string file in files.Where(IsIgnoreList))
        {
            LoadFile(file);
        }

        List<string> rest = [.. files.Where(f => !IsIgnoreList(f))];
        if (CanLoadInParallel(rest))
        {
            LoadInParallel(rest);
            return;
        }

        foreach (string file in rest)
        {
            LoadFile(file);
        }
    }

    /// <summary>Files as given, folders as their database files (sorted by name); throws <see cref="FileNotFoundException"/> for a missing path.</summary>
    public static IReadOnlyList<string> ExpandPaths(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (string path in paths)
        {
            if (Directory.Exists(path))
            {
                files.AddRange(Directory.GetFiles(path).Where(f => IsDatabaseExtension(Path.GetExtension(f))).Order(StringComparer.Ordinal));
            }
            else if (File.Exists(path))
            {
                files.Add(path);
            }
            else
            {
                throw new FileNotFoundException($"signature database {path} not found", path);
            }
        }

        return files;
    }

    /// <summary>Loads database text as if read from a file named <paramref name="source"/> (its extension picks the format).</summary>
    public void LoadString(string source, string text)
    {
        LoadStream(source, TypeOf(source), new MemoryStream(Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>Applies ignore lists read after the signatures they name (e.g. an .ign2 member late in a .cld).</summary>
    public void Finish()
    {
        // Each set sorts its own arrays: on several cores, the largest first.
        Parallel.ForEach(
            AllHashSets.OrderByDescending(s => (long)s.Count + s.AllowedCount),
            new ParallelOptions { MaxDegreeOfParallelism = LoadParallelism },
            set => set.Freeze());

        if (_ignoredNames.Count == 0)
        {
            return;
        }

        int removedBodies = Bodies.RemoveAll(b => (b.Logical < 0 || Logicals[b.Logical].MacroGroup >= 0) && _ignoredNames.Contains(b.Name));
        Count("ndb", 0, 0, removedBodies, -removedBodies);
        RemoveIgnoredLogicals();
        // Hash sets restored from a compiled cache were stored with the ignore lists already applied.
        foreach (HashSignatureSet set in _hashSetsRestored ? [] : AllHashSets)
        {
            set.RemoveNames(_ignoredNames, type => Count(type, 0, 0, 1, -1));
        }
    }

    private static string TypeOf(string path) => Path.GetExtension(path).TrimStart('.').ToLowerInvariant();

    private static bool IsIgnoreList(string path) => TypeOf(path) is "ign" or "ign2";

    private void LoadFile(string path)
    {
        string type = TypeOf(path);
        if (type is "cvd" or "cld")
        {
            CvdArchive.Read(path, (member, content) =>
            {
                LoadStream(path + ":" + member, TypeOf(member), content);
            });
            return;
        }

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        LoadStream(path, type, file);
    }

    /// <summary>Hash databases go through the byte-level reader, everything else through text lines.</summary>
    private void LoadStream(string source, string type, Stream content)
    {
        if (IsHashType(type))
        {
            LoadHashStream(source, type, content);
            return;
        }

        using var reader = new StreamReader(content, leaveOpen: true);
        LoadText(source, type, reader);
    }

    private void Count(string type, int loaded, int notLoaded, int ignored = 0, int loadedCorrection = 0)
    {
        if (!_counts.TryGetValue(type, out int[]? c))
        {
            c = new int[3];
            _counts.Add(type, c);
        }

        c[0] += loaded + loadedCorrection;
        c[1] += notLoaded;
        c[2] += ignored;
    }

    private void LoadText(string source, string type, StreamReader reader)
    {
        if (!s_readTypes.Contains(type))
        {
            ReportOtherType(source, type, reader);
            return;
        }

        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            ProcessLine(source, type, line.TrimEnd('\r'), lineNumber);
        }
    }

    /// <summary>Parses one database line, counting it as loaded, not loaded or ignored; a line ClamAV rejects throws.</summary>
    private void ProcessLine(string source, string type, string line, int lineNumber)
    {
        // ClamAV skips "#" comment lines in every text database; empty lines too, except in ignore lists.
        if (line.StartsWith('#') || (line.Length == 0 && type is not ("ign" or "ign2")))
        {
            return;
        }

        try
        {
            ParseLine(type, line);
            Count(type, 1, 0);
        }
        catch (FormatException e)
        {
            throw new SignatureFormatException(source, lineNumber, e.Message, e);
        }
        catch (NotSupportedException e)
        {
            Count(type, 0, 1);
            Issues.Add(new SignatureIssue(source, lineNumber, e.Message));
        }
        catch (IgnoredSignatureException)
        {
            Count(type, 0, 0, 1);
        }
    }

    /// <summary>Parses one non-comment line of a database type this engine reads.</summary>
    private void ParseLine(string type, string line)
    {
        switch (type)
        {
            case "ndb":
                ParseNdbLine(line);
                break;
            case "ldb":
                ParseLdbLine(line);
                break;
            case "ign" or "ign2":
                ParseIgnoreLine(line);
                break;
            default:
                ParseHashLine(line, type);
                break;
        }
    }

    private void ReportOtherType(string source, string type, StreamReader reader)
    {
        int lines = 0;
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0 && !line.StartsWith('#'))
            {
                lines++;
            }
        }

        string reason = s_otherTypes.TryGetValue(type, out string? r) ? r
            : type.Length == 0 ? "files without extension are not ClamAV databases" : $"'.{type}' is not a ClamAV database type";
        Count(type.Length == 0 ? "(none)" : type, 0, lines);
        Issues.Add(new SignatureIssue(source, 0, $"{reason}; {lines} line(s) not loaded"));
    }

    /// <summary>
    /// ign2: SignatureName or SignatureName:MD5 (of the whole database line naming it); ign (legacy): db:line:SignatureName.
    /// </summary>
    private void ParseIgnoreLine(string line)
    {
        string[] f = line.Split(':');
        switch (f.Length)
        {
            case 1:
            case 3:
                string name = f[^1];
                if (name.Length == 0)
                {
                    throw new FormatException("no signature name");
                }

                _ignoredNames.Add(name);
                break;
            case 2:
                if (f[0].Length == 0)
                {
                    throw new FormatException("no signature name");
                }

                if (f[1].Length != 32 || !f[1].All(char.IsAsciiHexDigit))
                {
                    throw new FormatException($"malformed MD5 '{f[1]}'");
                }

                if (!_ignoredNameLineMd5.TryGetValue(f[0], out HashSet<string>? md5s))
                {
                    md5s = new HashSet<string>(StringComparer.Ordinal);
                    _ignoredNameLineMd5.Add(f[0], md5s);
                }

                md5s.Add(f[1].ToLowerInvariant());
                break;
            default:
                throw new FormatException($"expected name, name:md5 or db:line:name, got {f.Length} fields");
        }
    }

    /// <summary>Throws <see cref="IgnoredSignatureException"/> when an ignore list already read names this signature.</summary>
    private void ThrowIfIgnored(ReadOnlySpan<char> name, string line)
    {
        if (_ignoredNames.Count == 0 && _ignoredNameLineMd5.Count == 0)
        {
            return;
        }

        if (_ignoredNames.GetAlternateLookup<ReadOnlySpan<char>>().Contains(name))
        {
            throw new IgnoredSignatureException();
        }

        if (_ignoredNameLineMd5.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name, out HashSet<string>? md5s))
        {
#pragma warning disable CA5351 // ign2 names database lines by MD5; not a security decision.
            string md5 = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(line)));
#pragma warning restore CA5351
            if (md5s.Contains(md5))
            {
                throw new IgnoredSignatureException();
            }
        }
    }

    /// <summary>
    /// HashString:FileSize:MalwareName[:MinFL[:MaxFL]] (mdb/msb: SectionSize:HashString:MalwareName...). ClamAV takes
    /// MD5, SHA-1 or SHA-256 (by length) in every hash file; fp/sfp entries allow-list the file instead of detecting
    /// it; mdb/msb entries match one PE section's data.
    /// </summary>
    private void ParseHashLine(string line, string type)
    {
        // Span parsing: a million-line hdb allocates nothing per line but the line itself.
        ReadOnlySpan<char> rest = line;
        Span<Range> fields = stackalloc Range[6];
        int count = rest.Split(fields, ':');
        if (count is < 3 or > 5)
        {
            throw new FormatException($"expected hash:size:name[:minFL[:maxFL]], got {count} field(s)");
        }

        bool section = type is "mdb" or "msb";
        ReadOnlySpan<char> hash = rest[fields[section ? 1 : 0]], sizeText = rest[fields[section ? 0 : 1]], name = rest[fields[2]];
        HashSignatureSet set = (HashSignatureSet.KindOfLength(hash.Length), section) switch
        {
            (HashKind.Md5, false) => Md5,
            (HashKind.Sha1, false) => Sha1,
            (HashKind.Sha256, false) => Sha256,
            (HashKind.Md5, true) => SectionMd5,
            (HashKind.Sha1, true) => SectionSha1,
            (HashKind.Sha256, true) => SectionSha256,
            _ => throw new FormatException($"hash '{hash}' has {hash.Length} characters; expected 32, 40 or 64"),
        };

        long size;
        if (sizeText is "*")
        {
            size = -1;
        }
        else if (!long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size == 0 || size >= uint.MaxValue)
        {
            // ClamAV: a size of 0 or of 2^32-1 and more is malformed.
            throw new FormatException($"bad {(section ? "section" : "file")} size '{sizeText}'");
        }

        if (name.IsEmpty)
        {
            throw new FormatException("empty signature name");
        }

        int? minLevel = count > 3 ? ParseLevel(rest[fields[3]], "MinFL") : null;
        int? maxLevel = count > 4 ? ParseLevel(rest[fields[4]], "MaxFL") : null;
        if (size < 0 && (minLevel ?? 0) < AnySizeMinimumLevel)
        {
            throw new FormatException($"size '*' needs a MinFL field of at least {AnySizeMinimumLevel}");
        }

        EnsureLevels(minLevel, maxLevel);
        bool added;
        if (type is "fp" or "sfp")
        {
            added = set.TryAddAllowed(hash, size, type);
        }
        else
        {
            ThrowIfIgnored(name, line);
            // Names are escaped at the trust boundary, as for body signatures (ParseName); the common clean name is not copied.
            added = name.ContainsAny(s_unsafeNameChars)
                ? set.TryAdd(hash, size, TextEscaping.Escape(name.ToString()), type)
                : set.TryAdd(hash, size, name, type);
        }

        if (!added)
        {
            throw new FormatException($"hash '{hash}' is not hexadecimal");
        }
    }

    private static int? ParseLevel(ReadOnlySpan<char> text, string what) =>
        text.IsEmpty ? null
        : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v
        : throw new FormatException($"bad {what} '{text}'");

    /// <summary>MalwareName:TargetType:Offset:HexSignature[:MinFL[:MaxFL]]; TargetType is 0-14 or "*" (any file, as 0).</summary>
    private void ParseNdbLine(string line)
    {
        string[] f = line.Split(':');
        if (f.Length is < 4 or > 6)
        {
            throw new FormatException($"expected name:target:offset:hexsig[:minFL[:maxFL]], got {f.Length} field(s)");
        }

        string name = ParseName(f[0]);
        int target = 0;
        if (f[1] != "*" && !int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out target))
        {
            throw new FormatException($"bad target type '{f[1]}'");
        }

        (int? minLevel, int? maxLevel) = ParseLevels(f, 4);
        SignatureOffset offset;
        int macroGroup = -1;
        try
        {
            offset = SignatureOffset.Parse(f[2]);
        }
        catch (MacroOffsetException)
        {
            // "$n$": a member of macro group n, matched anywhere and only seen by macro subsignatures.
            macroGroup = MacroSubsignature.ParseGroupOffset(f[2]);
            offset = SignatureOffset.Any;
        }
        catch (NotSupportedException e) when (target is not (1 or 6 or 9) && e is not MacroOffsetException)
        {
            throw new FormatException($"offset {f[2]} needs an executable target type (1, 6 or 9), not {target}");
        }

        if (offset.IsExecutableRelative && target is not (1 or 6 or 9))
        {
            // ClamAV rejects the whole database for this ("Invalid offset type for target"), so do we.
            throw new FormatException($"offset {f[2]} needs an executable target type (1, 6 or 9), not {target}");
        }

        List<HexPatternParser.RawSegment> raw = HexPatternParser.Parse(f[3]);
        EnsureLevels(minLevel, maxLevel);

        if (target > MaxTargetType)
        {
            throw new NotSupportedException($"target type {target} is unknown (skipped, as clamscan does)");
        }

        if (!IsSupportedTarget(target))
        {
            throw UnsupportedTarget(target);
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

        if (macroGroup >= 0 && raw.Count > 1)
        {
            throw new NotSupportedException("a macro group member with '*' or {n-} parts is not supported");
        }

        ThrowIfIgnored(name, line);
        if (macroGroup >= 0)
        {
            AddMacroGroupMember(name, target, macroGroup, segments);
            return;
        }

        Bodies.Add(new BodySignature(name, target, offset, segments));
    }

    /// <summary>
    /// True for the target types matched here: any file, the types <see cref="FileTyping"/> tells by magic, 3 (normalised
    /// HTML, <see cref="HtmlNormalizer"/>), 7 (normalised text, <see cref="TextNormalizer"/>) and 14 (binary data,
    /// <see cref="TextTyping"/>).
    /// </summary>
    private static bool IsSupportedTarget(int target) => target is 0 or 1 or 2 or 3 or 4 or 5 or 6 or 7 or 9 or 10 or 11 or 12 or 13 or 14;

    /// <summary>Why a target type is skipped: 8 is typed to no file.</summary>
    private static NotSupportedException UnsupportedTarget(int target) => new(target switch
    {
        8 => $"target type 8 ({s_targetNames[target]}) is not supported: ClamAV types no file for it, so it never matches",
        _ => $"target type {target} ({s_targetNames[target]}) is not supported",
    });

    /// <summary>
    /// The signature name as findings will show it: control characters and bidi controls escaped here, at the trust
    /// boundary, so a hostile database cannot put terminal escapes into scan output, reports or the verdict store
    /// (detection is unchanged; only such a name's spelling is).
    /// </summary>
    private static readonly System.Buffers.SearchValues<char> s_unsafeNameChars = System.Buffers.SearchValues.Create(
        Enumerable.Range(0, 0x10000).Select(c => (char)c).Where(c => TextEscaping.IsUnsafe(c) || char.IsSurrogate(c)).ToArray());

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

    /// <summary>Control flow for a signature an ignore list names: counted, not loaded, not an issue.</summary>
    private sealed class IgnoredSignatureException : Exception
    {
    }
}
