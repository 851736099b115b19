using System.Security.Cryptography;
using System.Text;

namespace Prism.Scanner.Signatures;

/// <summary>
/// A loaded set of ClamAV signatures (hdb, hsb, mdb, msb, ndb, fp/sfp allow-lists and ign/ign2 ignore lists, or cvd/cld archives
/// holding them) with its compiled matcher.
/// Immutable and thread-safe: create one <see cref="ScanSession"/> per file.
/// </summary>
public sealed partial class SignatureDatabase
{
    private const int StreamChunkSize = 1 << 20;

    private SignatureDatabase(SignatureLoader loaded, AnchorStrategy strategy = AnchorStrategy.Auto, string? setHash = null, CachedMatchers? matchers = null)
    {
        Bodies = [.. loaded.Bodies];
        Logicals = [.. loaded.Logicals];
        LogicalsWithoutHits = [.. Enumerable.Range(0, Logicals.Length).Where(i => Logicals[i].MatchesWithoutHits)];
        BodySignatureCount = Bodies.Count(b => b.Logical < 0 || loaded.Logicals[b.Logical].MacroGroup >= 0);
        Md5 = loaded.Md5;
        Sha1 = loaded.Sha1;
        Sha256 = loaded.Sha256;
        SectionMd5 = loaded.SectionMd5;
        SectionSha1 = loaded.SectionSha1;
        SectionSha256 = loaded.SectionSha256;
        Issues = loaded.Issues.AsReadOnly();
        TypeCounts = loaded.TypeCounts;
        Pcres = [.. loaded.Pcres];
        ByteCompares = [.. loaded.ByteCompares];
        ByteCompareReferences = [.. ByteCompares.Select(b => (b.Logical * 64) + b.Reference)];
        HasUnboundedSignatures = NeedsWholeFile;
        HasTypedTargetSignatures = Logicals.Any(l => l.Target >= 2);
        // A macro is decided from the order of matches over the whole file: no window can be scanned alone.
        HasUnboundedSignatures |= Logicals.Any(l => l.Macros.Count > 0);
        for (int i = 0; i < Logicals.Length; i++)
        {
            if (Logicals[i].MacroGroup >= 0)
            {
                MacroGroupEntries[(Logicals[i].MacroGroup, Logicals[i].Target)] = i;
            }
        }

        HasPeTargetSignatures = Logicals.Any(l => l.Target is 1 or 6 or 9);

        var keywords = new List<byte[]>();
        var keywordSignature = new List<int>();
        var keywordSegment = new List<int>();
        int maxSpan = 0;
        int retain = 0;
        for (int b = 0; b < Bodies.Length; b++)
        {
            BodySignature body = Bodies[b];
            HasUnboundedSignatures |= body.IsUnbounded;
            HasEofAnchoredSignatures |= body.Offset.Kind == SignatureOffsetKind.FromEnd;
            HasStartAnchoredSignatures |= body.Offset.Kind == SignatureOffsetKind.Absolute || body.Target != 0;
            HasPeTargetSignatures |= body.Target is 1 or 6 or 9;
            HasTypedTargetSignatures |= body.Target >= 2;
            maxSpan = Math.Max(maxSpan, body.MaxSegmentSpan);
            for (int s = 0; s < body.Segments.Length; s++)
            {
                PatternSegment segment = body.Segments[s];
                retain = Math.Max(retain, segment.MaxSpan);
                if (body.Offset.Kind == SignatureOffsetKind.FromEnd)
                {
                    retain = (int)Math.Min(int.MaxValue / 2, Math.Max(retain, body.Offset.Value + segment.ContextBefore + segment.MaxBefore + segment.AnchorMaxLength));
                }

                foreach (byte[] anchor in segment.Anchors)
                {
                    keywords.Add(anchor);
                    keywordSignature.Add(b);
                    keywordSegment.Add(s);
                }
            }
        }

        MaxPatternLength = maxSpan;
        RetainLength = retain + 1;
        KeywordSignature = [.. keywordSignature];
        KeywordSegment = [.. keywordSegment];
        KeywordLength = keywords.Select(k => k.Length).ToArray();
        // The matchers and the set hash are independent: on a first load they are built side by side.
        Task<(AnchorAutomaton, QuadAnchorFilter?)>? built = matchers is null ? Task.Run(() => BuildMatchers(keywords, strategy)) : null;
        SignatureSetHash = setHash ?? ComputeSetHash();
        (Automaton, Quad) = built is null ? (matchers!.Automaton, matchers.Quad) : built.GetAwaiter().GetResult();
    }

    /// <summary>Number of signatures loaded (hash, body and logical).</summary>
    public int SignatureCount => HashSignatureCount + BodySignatureCount + LogicalSignatureCount;

    /// <summary>Number of hash signatures loaded: whole-file (hdb/hsb) and PE section (mdb/msb), MD5, SHA-1 and SHA-256.</summary>
    public int HashSignatureCount => Md5.Count + Sha1.Count + Sha256.Count + SectionHashSignatureCount;

    /// <summary>Number of PE section hash signatures loaded (mdb/msb).</summary>
    public int SectionHashSignatureCount => SectionMd5.Count + SectionSha1.Count + SectionSha256.Count;

    /// <summary>Number of body (ndb) signatures loaded.</summary>
    public int BodySignatureCount { get; }

    /// <summary>Number of logical (ldb) signatures loaded.</summary>
    public int LogicalSignatureCount => Logicals.Length - MacroGroupEntries.Count;

    /// <summary>Lines, files and archive members not loaded (unsupported features, out-of-range functionality levels).</summary>
    public IReadOnlyList<SignatureIssue> Issues { get; }

    /// <summary>
    /// Entries read per database type (hdb, ndb, fp, ign2, ldb, info, ...): loaded, not loaded (unsupported types and
    /// features, with the reasons in <see cref="Issues"/>), and dropped by ignore lists. Like <c>sigtool --info</c>.
    /// </summary>
    public IReadOnlyList<SignatureTypeCount> TypeCounts { get; }

    /// <summary>The compiled cache this database was read from (see <see cref="Compile"/>); null when it was loaded from its sources.</summary>
    public string? CachePath { get; private init; }

    /// <summary>Lower-case hex SHA-256 over the sorted canonical form of the loaded signatures; a cache key for results.</summary>
    public string SignatureSetHash { get; }

    /// <summary>
    /// Longest byte span one match of a bounded signature (or one '*'-separated part) can cover. A chunked scanner
    /// that overlaps chunks by this many bytes sees every bounded match whole.
    /// </summary>
    public int MaxPatternLength { get; }

    /// <summary>
    /// True when some signature has '*' or {n-} gaps (its parts may lie arbitrarily far apart) or needs the whole file
    /// (<see cref="NeedsWholeFile"/>).
    /// </summary>
    public bool HasUnboundedSignatures { get; }

    /// <summary>True when some signature is anchored to the end of the file (EOF-n): it needs the file's true length.</summary>
    public bool HasEofAnchoredSignatures { get; }

    /// <summary>
    /// True when some signature is anchored at a fixed offset from the file's start or depends on the file's start
    /// (target type 1: the "MZ" magic and the PE headers), so a window cut from a file cannot be scanned alone.
    /// </summary>
    public bool HasStartAnchoredSignatures { get; }

    /// <summary>
    /// True when some body signature has an executable target type (1 PE, 6 ELF, 9 Mach-O): ClamAV then parses every
    /// "MZ", ELF and Mach-O file's headers.
    /// </summary>
    public bool HasPeTargetSignatures { get; }

    /// <summary>
    /// True when some body or logical signature has a target type typed by magic other than PE (2 OLE2 and above,
    /// <see cref="FileTyping"/>): a session then waits for a file's first bytes before matching.
    /// </summary>
    public bool HasTypedTargetSignatures { get; }

    /// <summary>
    /// True when scanning needs a file's PE headers before its body: target type 1 signatures, section hashes, or
    /// EOF-relative or PCRE offsets (clamscan matches none of those on an "MZ" file whose headers do not parse). A
    /// session then holds back a file starting with "MZ" until its headers (and, without a known length, its end)
    /// arrive.
    /// </summary>
    public bool NeedsPeLayout => HasPeTargetSignatures || SectionHashSignatureCount > 0 || HasEofAnchoredSignatures || NeedsWholeFile;

    /// <summary>True when some logical signature has PCRE or byte-compare subsignatures: a session keeps the whole file.</summary>
    internal bool NeedsWholeFile => Pcres.Length > 0 || ByteCompares.Length > 0;

    /// <summary>PCRE subsignatures of <see cref="Logicals"/>, in database order.</summary>
    internal PcreSubsignature[] Pcres { get; }

    /// <summary>Index in <see cref="Logicals"/> of the entry collecting macro group n's members of target type t, by (n, t).</summary>
    internal Dictionary<(int Group, int Target), int> MacroGroupEntries { get; } = [];

    /// <summary>Byte-compare subsignatures of <see cref="Logicals"/>.</summary>
    internal ByteCompareSubsignature[] ByteCompares { get; }

    /// <summary>Subsignatures (logical * 64 + index) a byte compare reads from: their last match start is tracked.</summary>
    internal HashSet<int> ByteCompareReferences { get; }

    /// <summary>Body patterns: .ndb signatures and the subsignatures of <see cref="Logicals"/>.</summary>
    internal BodySignature[] Bodies { get; }

    internal LogicalSignature[] Logicals { get; }

    /// <summary>Indices of logical signatures whose expression holds with nothing matched: evaluated on every file.</summary>
    internal int[] LogicalsWithoutHits { get; }

    internal HashSignatureSet Md5 { get; }

    internal HashSignatureSet Sha1 { get; }

    internal HashSignatureSet Sha256 { get; }

    internal HashSignatureSet SectionMd5 { get; }

    internal HashSignatureSet SectionSha1 { get; }

    internal HashSignatureSet SectionSha256 { get; }

    /// <summary>The DFA over anchors that <see cref="Quad"/> does not take (all of them for small sets).</summary>
    internal AnchorAutomaton Automaton { get; }

    /// <summary>The hashed 4-byte anchor filter for large sets; null when the DFA takes every anchor.</summary>
    internal QuadAnchorFilter? Quad { get; }

    internal int[] KeywordSignature { get; }

    internal int[] KeywordSegment { get; }

    internal int[] KeywordLength { get; }

    /// <summary>Bytes of history a session keeps so that pending and EOF-relative matches can be verified.</summary>
    internal int RetainLength { get; }

    /// <summary>
    /// Loads ClamAV database files (.hdb, .hsb, .mdb, .msb, .ndb, .ldb, .fp, .sfp, .ign, .ign2, .cvd, .cld; other ClamAV
    /// types are counted and reported) or directories of them (like clamscan -d).
    /// Unsupported lines and files are listed in <see cref="Issues"/> and counted in <see cref="TypeCounts"/>.
    /// </summary>
    /// <exception cref="SignatureFormatException">A malformed line (the message names file and line) or a corrupt archive.</exception>
    /// <exception cref="FileNotFoundException">A path does not exist.</exception>
    public static SignatureDatabase Load(params string[] paths) => Load(paths, notice: null);

    /// <summary>
    /// As <see cref="Load(string[])"/>. When the paths are one folder's database files (the folder itself, or all of
    /// its database files), the folder's compiled cache (<see cref="Compile"/>) is used while it matches the sources;
    /// a stale or damaged cache is reported to <paramref name="notice"/>, ignored, and rewritten from the sources.
    /// </summary>
    /// <exception cref="SignatureFormatException">A malformed line (the message names file and line) or a corrupt archive.</exception>
    /// <exception cref="FileNotFoundException">A path does not exist.</exception>
    public static SignatureDatabase Load(IReadOnlyList<string> paths, Action<string>? notice)
    {
        ArgumentNullException.ThrowIfNull(paths);
        IReadOnlyList<string> files = SignatureLoader.ExpandPaths(paths);
        string? folder = SignatureCache.FolderOf(files);
        if (folder is null)
        {
            return Load(AnchorStrategy.Auto, [.. paths]);
        }

        SignatureLoader? cached = SignatureCache.TryRead(folder, files, notice, out string? setHash, out CachedMatchers? matchers, out string? cachePath, out bool found);
        if (cached is not null)
        {
            return new SignatureDatabase(cached, AnchorStrategy.Auto, setHash, matchers) { CachePath = cachePath };
        }

        if (!found)
        {
            return Load(AnchorStrategy.Auto, [.. files]);
        }

        SignatureDatabase rebuilt = CompileFiles(folder, files, out string path);
        notice?.Invoke($"signature cache rebuilt: {path}");
        return rebuilt;
    }

    /// <summary>
    /// Loads every database file of <paramref name="directory"/> from its sources and writes the folder's compiled cache
    /// (next to the sources, or in the user's cache folder when the folder is not writable), which later loads of the
    /// folder use while its files keep their names, sizes, modification times and contents.
    /// </summary>
    /// <param name="directory">A folder of ClamAV database files.</param>
    /// <param name="cachePath">The cache file written.</param>
    /// <exception cref="SignatureFormatException">A malformed line or a corrupt archive.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="IOException">Neither cache location can be written.</exception>
    public static SignatureDatabase Compile(string directory, out string cachePath)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"signature folder {directory} not found");
        }

        return CompileFiles(Path.GetFullPath(directory), [.. SignatureCache.DatabaseFiles(directory)], out cachePath);
    }

    /// <summary>Where the compiled cache of <paramref name="directory"/> is looked for, in order (next to the sources, then the user's cache folder).</summary>
    public static IReadOnlyList<string> CacheLocations(string directory) => [.. SignatureCache.Locations(directory)];

    private static SignatureDatabase CompileFiles(string folder, IReadOnlyList<string> files, out string cachePath)
    {
        var loader = new SignatureLoader();
        loader.LoadPaths(files);
        loader.Finish();
        var db = new SignatureDatabase(loader, AnchorStrategy.Auto);
        cachePath = SignatureCache.Write(folder, files, loader, db);
        return db;
    }

    /// <summary>
    /// True when <paramref name="path"/>'s extension names a ClamAV database type, read or only reported
    /// (.hdb ... .ldb, .cbc, .info, .cvd): what a directory given to <see cref="Load(string[])"/> contributes.
    /// </summary>
    public static bool IsDatabaseFile(string path) => SignatureLoader.IsDatabaseExtension(Path.GetExtension(path));

    /// <summary>As <see cref="Load(string[])"/>, with the anchor matcher chosen by the caller (tests, benchmarks).</summary>
    internal static SignatureDatabase Load(AnchorStrategy strategy, params string[] paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var loader = new SignatureLoader();
        loader.LoadPaths(paths);
        loader.Finish();
        return new SignatureDatabase(loader, strategy);
    }

    /// <summary>Loads database texts keyed by file name (the extension picks the format); for tests and embedded sets.</summary>
    internal static SignatureDatabase LoadFromText(params (string FileName, string Text)[] files) =>
        LoadFromText(AnchorStrategy.Auto, files);

    /// <summary>As <see cref="LoadFromText(ValueTuple{string, string}[])"/>, with the anchor matcher chosen by the caller.</summary>
    internal static SignatureDatabase LoadFromText(AnchorStrategy strategy, params (string FileName, string Text)[] files)
    {
        var loader = new SignatureLoader();
        foreach ((string fileName, string text) in files)
        {
            loader.LoadString(fileName, text);
        }

        loader.Finish();
        return new SignatureDatabase(loader, strategy);
    }

    /// <summary>Starts scanning one file fed in consecutive chunks.</summary>
    /// <param name="expectedLength">The file's length when known: hashing is then skipped unless some hash signature has that size.</param>
    public ScanSession CreateSession(long? expectedLength = null) => new(this, expectedLength);

    /// <summary>Scans one whole file held in memory.</summary>
    public IReadOnlyList<Detection> Scan(ReadOnlySpan<byte> data)
    {
        var session = new ScanSession(this, data.Length);
        return session.ScanWhole(data);
    }

    /// <summary>Scans a stream from its current position to its end.</summary>
    public IReadOnlyList<Detection> Scan(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ScanSession session = CreateSession(stream.CanSeek ? stream.Length - stream.Position : null);
        while (true)
        {
            Span<byte> space = session.GetAppendSpace(StreamChunkSize);
            int read = stream.Read(space);
            if (read == 0)
            {
                return session.Complete();
            }

            session.CommitAppend(read);
        }
    }

    /// <summary>Scans a stream from its current position to its end, reading asynchronously.</summary>
    public async Task<IReadOnlyList<Detection>> ScanAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ScanSession session = CreateSession(stream.CanSeek ? stream.Length - stream.Position : null);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Memory<byte> space = session.GetAppendMemory(StreamChunkSize);
            int read = await stream.ReadAsync(space, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return session.Complete();
            }

            session.CommitAppend(read);
        }
    }

    /// <summary>
    /// Small anchor sets (few distinct first bytes) get one DFA with vectorised root skipping; larger sets send their
    /// 4-byte anchors to the cache-friendly <see cref="QuadAnchorFilter"/> and only shorter anchors to the DFA.
    /// </summary>
    private static (AnchorAutomaton Automaton, QuadAnchorFilter? Quad) BuildMatchers(List<byte[]> keywords, AnchorStrategy strategy)
    {
        int distinctFirstBytes = keywords.Select(k => k[0]).Distinct().Count();
        bool useQuad = strategy == AnchorStrategy.QuadWherePossible
            || (strategy == AnchorStrategy.Auto && distinctFirstBytes > AnchorAutomaton.MaxSkipFirstBytes);
        var dfaKeywords = new List<byte[]>();
        var dfaIds = new List<int>();
        var quadKeywords = new List<byte[]>();
        var quadIds = new List<int>();
        for (int i = 0; i < keywords.Count; i++)
        {
            bool quad = useQuad && keywords[i].Length == QuadAnchorFilter.KeyLength;
            (quad ? quadKeywords : dfaKeywords).Add(keywords[i]);
            (quad ? quadIds : dfaIds).Add(i);
        }

        return (AnchorAutomaton.Build(dfaKeywords, dfaIds), quadKeywords.Count > 0 ? new QuadAnchorFilter(quadKeywords, quadIds) : null);
    }

    /// <summary>
    /// SHA-256 over a version tag, the digest of the sorted canonical body lines, then each hash set's kind and the
    /// digest of its records in their sorted order. The seven digests are computed side by side (largest first).
    /// </summary>
    private string ComputeSetHash()
    {
        HashSignatureSet[] sets = [Md5, Sha1, Sha256, SectionMd5, SectionSha1, SectionSha256];
        var digests = new byte[sets.Length + 1][];
        int[] work = [0, .. Enumerable.Range(1, sets.Length).OrderByDescending(i => (long)sets[i - 1].Count + sets[i - 1].AllowedCount)];
        Parallel.ForEach(
            System.Collections.Concurrent.Partitioner.Create(work, loadBalance: true),
            i => digests[i] = i == 0 ? BodyDigest() : sets[i - 1].CanonicalDigest());
        using var digest = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        digest.AppendData("prism signature set 2\n"u8);
        digest.AppendData(digests[0]);
        for (int i = 0; i < sets.Length; i++)
        {
            digest.AppendData([(byte)sets[i].Kind]);
            digest.AppendData(digests[i + 1]);
        }

        return Convert.ToHexStringLower(digest.GetHashAndReset());
    }

    /// <summary>SHA-256 over the sorted canonical lines of the body, logical, PCRE and byte-compare signatures.</summary>
    private byte[] BodyDigest()
    {
        // A logical signature's line prefixes each of its subsignatures' lines: built once.
        string[] logicals = [.. Logicals.Select(l => l.ToCanonical())];
        var lines = new List<string>(Bodies.Length + logicals.Length);
        foreach (BodySignature b in Bodies)
        {
            lines.Add(b.Logical < 0 ? b.ToCanonical() : $"{logicals[b.Logical]}/{b.Subsignature}/{b.ToCanonical()}");
        }

        lines.AddRange(logicals);
        lines.AddRange(Pcres.Select(p => $"{logicals[p.Logical]}/{p.Subsignature}/{p.ToCanonical()}"));
        lines.AddRange(ByteCompares.Select(b => $"{logicals[b.Logical]}/{b.Subsignature}/{b.ToCanonical()}"));

        lines.Sort(StringComparer.Ordinal);
        using var digest = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] batch = new byte[1 << 16];
        int used = 0;
        foreach (string line in lines)
        {
            // Each line and its "\n", fed in batches of up to 64 KiB (one call per line cost more than the hashing).
            int length = Encoding.UTF8.GetMaxByteCount(line.Length) + 1;
            if (used + length > batch.Length)
            {
                digest.AppendData(batch, 0, used);
                used = 0;
                if (length > batch.Length)
                {
                    batch = new byte[length];
                }
            }

            used += Encoding.UTF8.GetBytes(line, batch.AsSpan(used));
            batch[used++] = (byte)'\n';
        }

        digest.AppendData(batch, 0, used);
        return digest.GetHashAndReset();
    }
}

/// <summary>How anchors are split between <see cref="AnchorAutomaton"/> and <see cref="QuadAnchorFilter"/>.</summary>
internal enum AnchorStrategy
{
    /// <summary>Chosen from the anchor set (see <c>BuildMatchers</c>).</summary>
    Auto,

    /// <summary>Every anchor in the DFA.</summary>
    AutomatonOnly,

    /// <summary>Every 4-byte anchor in the quad filter.</summary>
    QuadWherePossible,
}
