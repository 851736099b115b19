using System.Diagnostics.CodeAnalysis;
using System.IO.Hashing;
using System.Text;

namespace Prism.Scanner.Signatures;

/// <summary>
/// The compiled signature cache of one database folder: <c>DIR/.prism-sigs.cache</c>, or, when DIR is not writable,
/// <c>$XDG_CACHE_HOME/prism/sigs-HASH.cache</c> (HASH of DIR's full path). A versioned binary file:
/// <code>
/// "PRISMSIG" | format version | build id of Prism.Scanner (16 bytes)
/// sources: count, then per file: name, length, last write time (UTC ticks)      -- checked first (cheap)
/// content: XxHash128 of each source file                                     -- checked second (reads the sources)
/// signature set hash | counts per type | issues | six hash sets (arrays)
/// signature names | body, logical, PCRE and byte-compare signatures (binary, see SignatureCache.Bodies.cs)
/// keyword count | anchor automaton (DFA table, outputs) | quad anchor filter (bitmap, key slots)
/// XxHash128 of everything above
/// </code>
/// A cached load parses no signature text (only PCRE and byte-compare subsignatures are stored as text, since a
/// compiled Regex cannot be stored) and builds no matcher: the arrays are read as they are in memory, checked, and
/// the structures decoded only after the closing checksum holds.
/// It is used only when it was written by the same build and every source file of the folder has the same name,
/// length, modification time and content hash; otherwise (or when it is damaged) it is ignored with a note and the
/// database is loaded from its sources. It is written to a temporary file and renamed over the old one.
/// </summary>
internal static partial class SignatureCache
{
    public const string FileName = ".prism-sigs.cache";
    private const int FormatVersion = 2;
    private static readonly byte[] s_magic = "PRISMSIG"u8.ToArray();

    /// <summary>The folder whose complete set of database files <paramref name="files"/> is, or null.</summary>
    public static string? FolderOf(IReadOnlyList<string> files)
    {
        if (files.Count == 0)
        {
            return null;
        }

        string? dir = Path.GetDirectoryName(Path.GetFullPath(files[0]));
        if (dir is null || files.Any(f => Path.GetDirectoryName(Path.GetFullPath(f)) != dir))
        {
            return null;
        }

        string[] all = [.. DatabaseFiles(dir)];
        return all.SequenceEqual(files.Select(Path.GetFullPath), StringComparer.Ordinal) ? dir : null;
    }

    /// <summary>The database files of a folder, as a load of the folder reads them (by name, ordinal order).</summary>
    public static IEnumerable<string> DatabaseFiles(string dir) =>
        Directory.GetFiles(Path.GetFullPath(dir)).Where(f => SignatureLoader.IsDatabaseExtension(Path.GetExtension(f))).Order(StringComparer.Ordinal);

    /// <summary>Where the cache of <paramref name="dir"/> is looked for: next to the sources, then in the user's cache folder.</summary>
    public static IEnumerable<string> Locations(string dir)
    {
        string full = Path.GetFullPath(dir);
        yield return Path.Combine(full, FileName);
        string? user = UserCacheFolder();
        if (user is not null)
        {
            ulong id = XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(full));
            yield return Path.Combine(user, $"sigs-{id:x16}.cache");
        }
    }

    /// <summary>
    /// Reads the first cache of <paramref name="dir"/> that matches its sources. Returns null when there is none;
    /// <paramref name="found"/> tells whether a cache existed (stale or damaged ones are reported to <paramref name="notice"/>).
    /// </summary>
    public static SignatureLoader? TryRead(
        string dir, IReadOnlyList<string> files, Action<string>? notice, out string? setHash, out CachedMatchers? matchers, out string? usedPath, out bool found)
    {
        found = false;
        matchers = null;
        setHash = null;
        usedPath = null;
        foreach (string path in Locations(dir))
        {
            if (!File.Exists(path))
            {
                continue;
            }

            found = true;
            try
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
                var r = new SignatureCacheReader(stream, stream.Length);
                if (!TryReadKey(r, files, out string? stale))
                {
                    notice?.Invoke($"signature cache {path} is stale ({stale}); loading from the sources");
                    continue;
                }

                SignatureLoader loader = ReadBody(r, out setHash, out matchers);
                usedPath = path;
                return loader;
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException or UnauthorizedAccessException)
            {
                notice?.Invoke($"signature cache {path} is unusable ({e.Message}); loading from the sources");
            }
        }

        return null;
    }

    /// <summary>
    /// Writes the cache of a finished load and the database built from it next to the sources, or in the user's cache
    /// folder when the folder is not writable. Returns the path written.
    /// </summary>
    public static string Write(string dir, IReadOnlyList<string> files, SignatureLoader loader, SignatureDatabase db)
    {
        Exception? first = null;
        foreach (string path in Locations(dir))
        {
            string temp = $"{path}.{Environment.ProcessId}.tmp";
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
                {
                    var w = new SignatureCacheWriter(stream);
                    WriteKey(w, files);
                    WriteBody(w, loader, db);
                    w.WriteChecksum();
                    stream.Flush(flushToDisk: true);
                }

                File.Move(temp, path, overwrite: true);
                return path;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                first ??= e;
                TryDelete(temp);
            }
        }

        throw new IOException($"cannot write the signature cache of {dir}: {first?.Message}", first);
    }

    private static string? UserCacheFolder()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string? root = !string.IsNullOrEmpty(xdg) ? xdg
            : OperatingSystem.IsWindows() ? Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData)
            : home.Length > 0 ? Path.Combine(home, ".cache") : null;
        return root is null ? null : Path.Combine(root, "prism");
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover temporary file is never read.
        }
    }

    private static byte[] BuildId() => typeof(SignatureCache).Assembly.ManifestModule.ModuleVersionId.ToByteArray();

    private static void WriteKey(SignatureCacheWriter w, IReadOnlyList<string> files)
    {
        w.WriteBytes(s_magic);
        w.WriteInt32(FormatVersion);
        w.WriteBytes(BuildId());
        w.WriteInt32(files.Count);
        foreach (string f in files)
        {
            var info = new FileInfo(f);
            w.WriteString(info.Name);
            w.WriteInt64(info.Length);
            w.WriteInt64(info.LastWriteTimeUtc.Ticks);
        }

        foreach (byte[] h in ContentHashes(files))
        {
            w.WriteBytes(h);
        }
    }

    /// <summary>False (with the reason) when the cache was written by another build or for other source files.</summary>
    private static bool TryReadKey(SignatureCacheReader r, IReadOnlyList<string> files, [NotNullWhen(false)] out string? stale)
    {
        Span<byte> magic = stackalloc byte[8];
        r.ReadBytes(magic);
        if (!magic.SequenceEqual(s_magic))
        {
            throw new InvalidDataException("no PRISMSIG magic at 0x0");
        }

        int version = r.ReadInt32();
        if (version != FormatVersion)
        {
            stale = $"format version {version}, this build writes {FormatVersion}";
            return false;
        }

        Span<byte> build = stackalloc byte[16];
        r.ReadBytes(build);
        if (!build.SequenceEqual(BuildId()))
        {
            stale = "written by another build of Prism";
            return false;
        }

        int count = r.ReadCount(100_000, "source count");
        if (count != files.Count)
        {
            stale = $"{count} source file(s) then, {files.Count} now";
            return false;
        }

        for (int i = 0; i < count; i++)
        {
            var info = new FileInfo(files[i]);
            string name = r.ReadString();
            long length = r.ReadInt64(), ticks = r.ReadInt64();
            if (name != info.Name || length != info.Length || ticks != info.LastWriteTimeUtc.Ticks)
            {
                stale = $"{info.Name} changed";
                return false;
            }
        }

        Span<byte> stored = stackalloc byte[16];
        byte[][] now = ContentHashes(files);
        for (int i = 0; i < count; i++)
        {
            r.ReadBytes(stored);
            if (!stored.SequenceEqual(now[i]))
            {
                stale = $"{Path.GetFileName(files[i])} content changed";
                return false;
            }
        }

        stale = null;
        return true;
    }

    /// <summary>XxHash128 of each file's content (files hashed in parallel).</summary>
    private static byte[][] ContentHashes(IReadOnlyList<string> files)
    {
        var hashes = new byte[files.Count][];
        Parallel.For(0, files.Count, i =>
        {
            using var stream = new FileStream(files[i], FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            var digest = new XxHash128();
            digest.Append(stream);
            hashes[i] = digest.GetHashAndReset();
        });
        return hashes;
    }

    private static void WriteBody(SignatureCacheWriter w, SignatureLoader loader, SignatureDatabase db)
    {
        w.WriteString(db.SignatureSetHash);
        IReadOnlyList<SignatureTypeCount> counts = loader.TypeCounts;
        w.WriteInt32(counts.Count);
        foreach (SignatureTypeCount c in counts)
        {
            w.WriteString(c.Type);
            w.WriteInt32(c.Loaded);
            w.WriteInt32(c.NotLoaded);
            w.WriteInt32(c.Ignored);
        }

        w.WriteInt32(loader.Issues.Count);
        foreach (SignatureIssue issue in loader.Issues)
        {
            w.WriteString(issue.Source);
            w.WriteInt32(issue.LineNumber);
            w.WriteString(issue.Reason);
        }

        foreach (HashSignatureSet set in loader.HashSets)
        {
            set.WriteTo(w);
        }

        WriteSignatures(w, loader);
        w.WriteInt32(db.KeywordLength.Length);
        db.Automaton.WriteTo(w);
        w.WriteInt32(db.Quad is null ? 0 : 1);
        db.Quad?.WriteTo(w);
    }

    private static SignatureLoader ReadBody(SignatureCacheReader r, out string setHash, out CachedMatchers matchers)
    {
        setHash = r.ReadString();
        if (setHash.Length != 64 || !setHash.All(char.IsAsciiHexDigitLower))
        {
            throw new InvalidDataException("malformed signature set hash");
        }

        int countTypes = r.ReadCount(10_000, "type count");
        var counts = new List<SignatureTypeCount>(countTypes);
        for (int i = 0; i < countTypes; i++)
        {
            counts.Add(new SignatureTypeCount(r.ReadString(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32()));
        }

        int issueCount = r.ReadCount(int.MaxValue, "issue count");
        var issues = new List<SignatureIssue>(Math.Min(issueCount, 1 << 16));
        for (int i = 0; i < issueCount; i++)
        {
            issues.Add(new SignatureIssue(r.ReadString(), r.ReadInt32(), r.ReadString()));
        }

        HashSignatureSet[] sets =
        [
            HashSignatureSet.ReadFrom(r, HashKind.Md5), HashSignatureSet.ReadFrom(r, HashKind.Sha1), HashSignatureSet.ReadFrom(r, HashKind.Sha256),
            HashSignatureSet.ReadFrom(r, HashKind.Md5), HashSignatureSet.ReadFrom(r, HashKind.Sha1), HashSignatureSet.ReadFrom(r, HashKind.Sha256),
        ];

        byte[] names = r.ReadByteArray("signature names"), signatureBlob = r.ReadByteArray("signatures");
        long keywordsAt = r.Position;
        int keywordCount = r.ReadCount(int.MaxValue, "keyword count");
        AnchorAutomaton automaton = AnchorAutomaton.ReadFrom(r, keywordCount);
        int quadFlag = r.ReadInt32();
        QuadAnchorFilter? quad = quadFlag switch
        {
            0 => null,
            1 => QuadAnchorFilter.ReadFrom(r, keywordCount),
            _ => throw new InvalidDataException($"quad filter flag {quadFlag} at 0x{r.Position - 4:X}"),
        };

        // Everything is read and the checksum holds before any structure is decoded or trusted.
        r.VerifyChecksum();
        CachedSignatures signatures = ReadSignatures(names, signatureBlob);
        long anchors = signatures.Bodies.Sum(b => b.Segments.Sum(s => (long)s.Anchors.Length));
        if (anchors != keywordCount)
        {
            throw new InvalidDataException($"keyword count at 0x{keywordsAt:X}: {keywordCount}, the signatures have {anchors} anchors");
        }

        matchers = new CachedMatchers(automaton, quad);
        return SignatureLoader.Restore(sets, signatures, counts, issues);
    }
}

/// <summary>The anchor matchers of a compiled cache, used instead of building them from the signatures.</summary>
internal sealed record CachedMatchers(AnchorAutomaton Automaton, QuadAnchorFilter? Quad);
