using System.Security.Cryptography;

namespace Prism.Scanner.Signatures;

/// <summary>
/// Scans one file fed as consecutive chunks in a single pass: body signatures (matches may span chunk boundaries)
/// and, when the database has hash signatures for this file's size, MD5/SHA-1/SHA-256 of the whole file and of its PE
/// sections. When the database needs PE headers (target type 1, section hashes) a file starting with "MZ" is held
/// back until its headers have arrived (with an unknown length: until its end), then scanned as usual.
/// Not thread-safe; one session per file.
/// </summary>
public sealed partial class ScanSession : IDisposable
{
    /// <summary>Appends larger than this are processed in pieces, bounding the session's buffer.</summary>
    private const int MaxPiece = 4 << 20;

    private const int MinBufferSize = 256 << 10;

    private readonly SignatureDatabase _db;
    private readonly long? _expectedLength;
    private readonly bool[] _detected;
    private readonly List<Detection> _detections = [];
    private readonly List<Hit> _pending = [];
    private readonly List<Hit> _eofCandidates = [];
    private Dictionary<int, PartChain>? _chains;
    private Dictionary<int, HashSet<long>>? _subsignatureStarts;
    private IncrementalHash? _md5, _sha1, _sha256;
    private List<SectionHasher>? _sectionHashers;
    private PeLayout? _pe;
    private bool _layoutKnown;
    private int _fileTarget;
    private bool _eofOffsetsDisabled;
    private byte[] _buffer = [];
    private int _bufferLength;
    private long _bufferBase;
    private long _total;
    private int _state;
    private bool _completed;

    internal ScanSession(SignatureDatabase db, long? expectedLength, bool normalizedText = false)
    {
        _db = db;
        _expectedLength = expectedLength;
        _detected = new bool[db.Bodies.Length];
        _normalizedText = normalizedText;
        if (normalizedText)
        {
            // The normalised text of a file: target types 0 and 7, no hashes, no executable layout.
            _fileTarget = TextTarget;
            _layoutKnown = true;
            return;
        }

#pragma warning disable CA5351 // MD5 and SHA-1 are what ClamAV's hdb/hsb signatures name files by.
        _md5 = WantsHash(db.Md5) ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
        _sha1 = WantsHash(db.Sha1) ? IncrementalHash.CreateHash(HashAlgorithmName.SHA1) : null;
#pragma warning restore CA5351
        _sha256 = WantsHash(db.Sha256) ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;

        // Every file is typed from its first bytes: one of the types clamscan ignores matches nothing.
        _layoutKnown = false;
    }

    /// <summary>Bytes fed so far.</summary>
    public long Length => _layoutKnown ? _total : _bufferLength;

    /// <summary>Feeds the next chunk of the file.</summary>
    /// <exception cref="InvalidOperationException">The session was already completed.</exception>
    public void Append(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            int n = Math.Min(data.Length, MaxPiece);
            data[..n].CopyTo(GetAppendSpace(n));
            CommitAppend(n);
            data = data[n..];
        }
    }

    /// <summary>Ends the file and returns every signature that matched it (each signature once).</summary>
    /// <exception cref="InvalidOperationException">The session was already completed.</exception>
    public IReadOnlyList<Detection> Complete()
    {
        ThrowIfCompleted();
        if (!_layoutKnown)
        {
            ResolveLayout(_buffer.AsSpan(0, _bufferLength), final: true);
            Feed(_buffer.AsSpan(0, _bufferLength), _bufferBase, 0);
        }

        return Finish(_buffer.AsSpan(0, _bufferLength), _bufferBase);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        DisposeFileHashes();
        foreach (SectionHasher h in _sectionHashers ?? [])
        {
            h.Dispose();
        }

        _sectionHashers = null;
        DisposeTextRescan();
        ReleaseHtmlBytes();
        _completed = true;
    }

    private void DisposeFileHashes()
    {
        _md5?.Dispose();
        _sha1?.Dispose();
        _sha256?.Dispose();
        _md5 = _sha1 = _sha256 = null;
    }

    /// <summary>Scans a whole file in place, without copying it into the session.</summary>
    internal IReadOnlyList<Detection> ScanWhole(ReadOnlySpan<byte> data)
    {
        if (!_layoutKnown)
        {
            ResolveLayout(data, final: true);
        }

        Feed(data, 0, 0);
        return Finish(data, 0);
    }

    /// <summary>Space for at least <paramref name="sizeHint"/> more bytes, to be filled and then passed to <see cref="CommitAppend"/>.</summary>
    internal Span<byte> GetAppendSpace(int sizeHint) => GetAppendMemory(sizeHint).Span;

    internal Memory<byte> GetAppendMemory(int sizeHint)
    {
        ThrowIfCompleted();
        EnsureSpace(sizeHint);
        return _buffer.AsMemory(_bufferLength, sizeHint);
    }

    internal void CommitAppend(int count)
    {
        ThrowIfCompleted();
        int from = _bufferLength;
        _bufferLength += count;
        if (!_layoutKnown)
        {
            // Held back so far: everything since the file's start is still in the buffer.
            if (!ResolveLayout(_buffer.AsSpan(0, _bufferLength), final: false))
            {
                return;
            }

            from = 0;
        }

        Feed(_buffer.AsSpan(0, _bufferLength), _bufferBase, from);
    }

    /// <summary>
    /// Types the file from its first bytes as clamscan does (<see cref="FileTyping"/>) and, for an "MZ", ELF or Mach-O
    /// file when the database needs it, parses its headers, as clamscan does before matching; false while more bytes
    /// are needed (never when <paramref name="final"/>).
    /// </summary>
    private bool ResolveLayout(ReadOnlySpan<byte> start, bool final)
    {
        bool whole = final || (_expectedLength is long n && start.Length >= n);
        if (FileTyping.TargetOf(start, whole) is not int target)
        {
            return false;
        }

        _fileTarget = target;
        if (target == FileTyping.Ignored)
        {
            DisposeFileHashes();
            _layoutKnown = true;
            return true;
        }

        StartTextRescan(start, target);
        StartOtherScan();
        StartHtmlRescan(target);
        if (target is FileTyping.Pe or FileTyping.Elf or FileTyping.MachO && _db.NeedsPeLayout)
        {
            // Section sizes are truncated at the end of the file: without a known length, wait for the end.
            long? length = final ? start.Length : _expectedLength;
            if (length is not long fileLength)
            {
                return false;
            }

            PeLayout? layout;
            PeParseStatus status = target switch
            {
                FileTyping.Pe => PeLayout.TryParse(start, fileLength, out layout),
                FileTyping.Elf => ElfLayout.TryParse(start, fileLength, out layout),
                _ => MachOLayout.TryParse(start, fileLength, out layout),
            };
            if (status == PeParseStatus.NeedMoreData && !final)
            {
                return false;
            }

            _pe = layout is { OffsetsValid: true } ? layout : null;
            if (_pe is null)
            {
                // clamscan computes every relative offset of a file it types as an executable from its headers
                // (whatever signatures it has); when they cannot be parsed, EOF-n matches nothing either.
                _eofOffsetsDisabled = true;
            }

            if (target == FileTyping.Pe)
            {
                StartSectionHashes(layout);
            }
        }

        _layoutKnown = true;
        return true;
    }

    /// <summary>One hasher set per section of data whose size some .mdb/.msb signature names (or "*").</summary>
    private void StartSectionHashes(PeLayout? layout)
    {
        if (layout is not { SectionHashable: true } pe || _db.SectionHashSignatureCount == 0)
        {
            return;
        }

        foreach (PeSection section in pe.Sections)
        {
            if (section.RawSize == 0)
            {
                continue;
            }

#pragma warning disable CA5351 // ClamAV's mdb/msb signatures name sections by MD5 and SHA-1.
            IncrementalHash? md5 = WantsSection(_db.SectionMd5, section.RawSize) ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
            IncrementalHash? sha1 = WantsSection(_db.SectionSha1, section.RawSize) ? IncrementalHash.CreateHash(HashAlgorithmName.SHA1) : null;
#pragma warning restore CA5351
            IncrementalHash? sha256 = WantsSection(_db.SectionSha256, section.RawSize) ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
            if (md5 is not null || sha1 is not null || sha256 is not null)
            {
                (_sectionHashers ??= []).Add(new SectionHasher(section.RawOffset, section.RawSize, md5, sha1, sha256));
            }
        }
    }

    private static bool WantsSection(HashSignatureSet set, long size) => set.Count > 0 && set.Wants(size);

    /// <summary>Where a match of <paramref name="body"/>'s first part may start, for this file's type and layout.</summary>
    private (long Min, long Max) StartRangeOf(BodySignature body, long? fileLength) =>
        body.Offset.Kind == SignatureOffsetKind.FromEnd && (_eofOffsetsDisabled || (_normalizedText && !_db.TextPlan.Whole))
            ? (1, 0) : body.Offset.StartRange(fileLength, _pe);

    private void EnsureSpace(int count)
    {
        if (_bufferLength + count <= _buffer.Length)
        {
            return;
        }

        // Keep only the history still needed: pending look-ahead, EOF candidates, bytes before anchors; while the
        // file is held back for its PE headers, everything.
        int keep = _layoutKnown && !_db.NeedsWholeFile ? Math.Min(_bufferLength, _db.RetainLength) : _bufferLength;
        int needed = keep + count;
        byte[] target = _buffer;
        if (needed > _buffer.Length)
        {
            target = new byte[Math.Max(MinBufferSize, Math.Max(needed, 2 * _db.RetainLength) + count)];
        }

        Buffer.BlockCopy(_buffer, _bufferLength - keep, target, 0, keep);
        _bufferBase += _bufferLength - keep;
        _bufferLength = keep;
        _buffer = target;
    }

    /// <summary>Processes window[from..]: the new bytes; window[..from] is history starting at absolute <paramref name="windowBase"/>.</summary>
    private void Feed(ReadOnlySpan<byte> window, long windowBase, int from)
    {
        ReadOnlySpan<byte> fresh = window[from..];
        long freshBase = windowBase + from;
        long end = freshBase + fresh.Length;
        if (_fileTarget == FileTyping.Ignored)
        {
            _total = end;
            return;
        }

        if (_html != HtmlMode.None && FeedHtml(fresh, end))
        {
            _total = end;
            return;
        }

        if (_normalizer is not null)
        {
            FeedText(fresh, freshBase);
        }

        UpdateHashes(fresh, end);
        if (_sectionHashers is not null)
        {
            foreach (SectionHasher h in _sectionHashers)
            {
                h.Append(fresh, freshBase);
            }
        }

        var sink = new HitSink(this, window, windowBase, freshBase, end);
        if (!_db.Automaton.IsEmpty)
        {
            _state = _db.Automaton.Run(_state, fresh, ref sink);
        }

        if (_db.Quad is { } quad)
        {
            // The quad filter indexes the whole window (history included) so keys straddling the boundary are seen.
            var quadSink = new HitSink(this, window, windowBase, windowBase, end);
            quad.Run(window, from, ref quadSink);
        }

        _total = end;
        if (_pending.Count > 0)
        {
            VerifyPending(window, windowBase, final: false);
        }

        if (_eofCandidates.Count > 0)
        {
            _eofCandidates.RemoveAll(h => h.AnchorStart < _total - _db.Bodies[_db.KeywordSignature[h.Keyword]].Offset.Value);
        }
    }

    private void UpdateHashes(ReadOnlySpan<byte> fresh, long end)
    {
        if (_md5 is not null)
        {
            _md5 = Update(_md5, _db.Md5, fresh, end);
        }

        if (_sha1 is not null)
        {
            _sha1 = Update(_sha1, _db.Sha1, fresh, end);
        }

        if (_sha256 is not null)
        {
            _sha256 = Update(_sha256, _db.Sha256, fresh, end);
        }
    }

    /// <summary>Hashes the bytes, or drops the hasher once the file outgrows every size a signature names.</summary>
    private IncrementalHash? Update(IncrementalHash hash, HashSignatureSet set, ReadOnlySpan<byte> fresh, long end)
    {
        if (_expectedLength is null && !set.HasAnySize && end > set.MaxSize)
        {
            hash.Dispose();
            return null;
        }

        hash.AppendData(fresh);
        return hash;
    }

    private bool WantsHash(HashSignatureSet set) =>
        set.Count + set.AllowedCount > 0 && (_expectedLength is not long n || set.Wants(n));

    private void OnAnchor(int state, long anchorEnd, ReadOnlySpan<byte> window, long windowBase, long availableEnd)
    {
        foreach (int keyword in _db.Automaton.OutputsOf(state))
        {
            OnKeyword(keyword, anchorEnd, window, windowBase, availableEnd);
        }
    }

    private void OnKeyword(int keyword, long anchorEnd, ReadOnlySpan<byte> window, long windowBase, long availableEnd)
    {
        int signature = _db.KeywordSignature[keyword];
        if (_detected[signature])
        {
            return;
        }

        BodySignature body = _db.Bodies[signature];
        if (!AppliesToFile(body.Target))
        {
            return;
        }

        var hit = new Hit(keyword, anchorEnd - _db.KeywordLength[keyword]);
        if (body.Offset.Kind == SignatureOffsetKind.FromEnd)
        {
            _eofCandidates.Add(hit);
            return;
        }

        PatternSegment segment = body.Segments[_db.KeywordSegment[keyword]];
        if (_db.KeywordSegment[keyword] == 0 && (body.Offset.Kind == SignatureOffsetKind.Absolute || body.Offset.IsExecutableRelative))
        {
            (long min, long max) = body.Offset.StartRange(null, _pe);
            if (hit.AnchorStart - segment.MinBefore < min || hit.AnchorStart - segment.MaxBefore > max)
            {
                return;
            }
        }

        if (anchorEnd + segment.MaxAfter > availableEnd)
        {
            _pending.Add(hit);
        }
        else
        {
            Verify(hit, window, windowBase, fileLength: null);
        }
    }

    private void VerifyPending(ReadOnlySpan<byte> window, long windowBase, bool final)
    {
        int kept = 0;
        for (int i = 0; i < _pending.Count; i++)
        {
            Hit hit = _pending[i];
            PatternSegment segment = _db.Bodies[_db.KeywordSignature[hit.Keyword]].Segments[_db.KeywordSegment[hit.Keyword]];
            if (final || hit.AnchorStart + _db.KeywordLength[hit.Keyword] + segment.MaxAfter <= _total)
            {
                Verify(hit, window, windowBase, fileLength: null);
            }
            else
            {
                _pending[kept++] = hit;
            }
        }

        _pending.RemoveRange(kept, _pending.Count - kept);
    }

    private void Verify(Hit hit, ReadOnlySpan<byte> window, long windowBase, long? fileLength)
    {
        int signature = _db.KeywordSignature[hit.Keyword];
        if (_detected[signature])
        {
            return;
        }

        BodySignature body = _db.Bodies[signature];
        int part = _db.KeywordSegment[hit.Keyword];
        (long min, long max) = part == 0 ? StartRangeOf(body, fileLength) : (0, long.MaxValue);
        if (!body.Segments[part].TryMatch(window, windowBase, hit.AnchorStart, _db.KeywordLength[hit.Keyword], min, max,
                fileLength ?? (_completed ? _total : null), out long start, out long end))
        {
            return;
        }

        if (body.Segments.Length == 1)
        {
            Report(signature, body, start);
            return;
        }

        _chains ??= [];
        if (!_chains.TryGetValue(signature, out PartChain? chain))
        {
            chain = new PartChain(body.Segments.Length);
            _chains.Add(signature, chain);
        }

        OfferPart(signature, body, chain, part, start, end);
    }

    /// <summary>
    /// Records a match of part <paramref name="part"/> of a '*'/{n-} signature. Parts must occur in order, each
    /// starting at least its minimum distance after the previous part's end; per part the chain with the earliest end
    /// is kept (greedy is optimal). A match that arrives before the previous part's (verification waits for
    /// look-ahead, so arrival order can differ from file order) waits until no earlier match can still arrive.
    /// </summary>
    private void OfferPart(int signature, BodySignature body, PartChain chain, int part, long start, long end)
    {
        long firstStart = start;
        if (part > 0)
        {
            long previousEnd = chain.End[part - 1];
            if (previousEnd == long.MaxValue || start < previousEnd + body.Segments[part].MinDistanceFromPrevious)
            {
                List<(long Start, long End)> waiting = chain.Waiting[part];
                if (waiting.Count >= 64)
                {
                    long horizon = _total - _db.RetainLength;
                    long best = chain.End[part];
                    waiting.RemoveAll(w => w.Start < horizon || w.End >= best);
                }

                waiting.Add((start, end));
                return;
            }

            firstStart = chain.FirstStart[part - 1];
        }

        if (end >= chain.End[part])
        {
            return;
        }

        chain.End[part] = end;
        chain.FirstStart[part] = firstStart;
        if (part == body.Segments.Length - 1)
        {
            Report(signature, body, firstStart);
            return;
        }

        List<(long Start, long End)> next = chain.Waiting[part + 1];
        long threshold = end + body.Segments[part + 1].MinDistanceFromPrevious;
        for (int i = 0; i < next.Count && !_detected[signature]; i++)
        {
            if (next[i].Start >= threshold)
            {
                (long s, long e) = next[i];
                next.RemoveAt(i--);
                OfferPart(signature, body, chain, part + 1, s, e);
            }
        }
    }

    /// <summary>
    /// An .ndb signature is reported once; a logical signature's subsignature has its distinct match starts counted
    /// (ClamAV counts a match only past the previous one's start) until its count can no longer change the expression;
    /// a subsignature of '*'-separated parts counts once.
    /// </summary>
    private void Report(int signature, BodySignature body, long start)
    {
        if (body.Logical < 0)
        {
            _detected[signature] = true;
            _detections.Add(new Detection(body.Name, start));
            return;
        }

        _subsignatureStarts ??= [];
        int key = (body.Logical * 64) + body.Subsignature;
        if (!_subsignatureStarts.TryGetValue(key, out HashSet<long>? starts))
        {
            starts = [];
            _subsignatureStarts.Add(key, starts);
        }

        int cap = _db.Logicals[body.Logical].CountCap;
        if (starts.Count < cap)
        {
            starts.Add(start);
        }

        bool referenced = _db.ByteCompareReferences.Contains(key) && TrackLastStart(key, start);
        if ((starts.Count >= cap || body.IsUnbounded) && !referenced)
        {
            _detected[signature] = true;
        }
    }

    /// <summary>Evaluates the logical signatures some subsignature matched (and those that hold with none).</summary>
    private void EvaluateLogicals()
    {
        if (_db.Logicals.Length == 0)
        {
            return;
        }

        var candidates = new SortedSet<int>(_db.LogicalsWithoutHits);
        foreach (int key in _subsignatureStarts?.Keys ?? Enumerable.Empty<int>())
        {
            candidates.Add(key / 64);
        }

        foreach (int index in candidates)
        {
            LogicalSignature logical = _db.Logicals[index];
            if (!AppliesToFile(logical.Target) || logical.MacroGroup >= 0)
            {
                continue;
            }

            var counts = new int[logical.SubsignatureCount];
            for (int s = 0; s < counts.Length; s++)
            {
                if (_subsignatureStarts?.TryGetValue((index * 64) + s, out HashSet<long>? starts) == true)
                {
                    counts[s] = starts.Count;
                }
            }

            foreach (MacroSubsignature macro in logical.Macros)
            {
                if (macro.Index > 0)
                {
                    int group = _db.MacroGroupEntries.GetValueOrDefault((macro.Group, logical.Target), -1);
                    (counts[macro.Index - 1], counts[macro.Index]) = macro.Evaluate(SortedStarts(index, macro.Index - 1), SortedStarts(group, 0));
                }
            }

            if (logical.Expression.Evaluate(counts) && logical.AcceptsFile(TargetBlockLength, _pe))
            {
                _detections.Add(new Detection(logical.Name, null));
            }
        }
    }

    /// <summary>The distinct match starts of subsignature <paramref name="subsignature"/> of logical entry <paramref name="logical"/>, ascending.</summary>
    private List<long> SortedStarts(int logical, int subsignature)
    {
        HashSet<long>? starts = null;
        if (logical < 0 || _subsignatureStarts?.TryGetValue((logical * 64) + subsignature, out starts) != true || starts is null)
        {
            return [];
        }

        List<long> sorted = [.. starts];
        sorted.Sort();
        return sorted;
    }

    private IReadOnlyList<Detection> Finish(ReadOnlySpan<byte> window, long windowBase)
    {
        if (_fileTarget == FileTyping.Ignored)
        {
            _completed = true;
            return [];
        }

        if (_html == HtmlMode.Typed)
        {
            return FinishHtml();
        }

        _completed = true;
        VerifyPending(window, windowBase, final: true);
        foreach (Hit hit in _eofCandidates)
        {
            Verify(hit, window, windowBase, _total);
        }

        if (_db.NeedsWholeFile)
        {
            RunFileLevelSubsignatures(window, windowBase);
        }

        EvaluateLogicals();
        MergeTextRescan();
        MergeHtmlRescan();
        bool allowed = FinishHash(ref _md5, _db.Md5);
        allowed |= FinishHash(ref _sha1, _db.Sha1);
        allowed |= FinishHash(ref _sha256, _db.Sha256);
        foreach (SectionHasher h in _sectionHashers ?? [])
        {
            h.Collect(_db, _detections);
        }
        if (allowed)
        {
            // ClamAV's .fp/.sfp: a file whose hash is allow-listed is reported clean, whatever matched it.
            _detections.Clear();
        }

        return _detections.AsReadOnly();
    }

    /// <summary>Adds the hash signatures matching the file; returns true when an allow-list entry names the file.</summary>
    private bool FinishHash(ref IncrementalHash? hash, HashSignatureSet set)
    {
        if (hash is null)
        {
            return false;
        }

        bool allowed = set.Wants(_total)
            && set.CollectMatches(hash.GetHashAndReset(), _total, _detections);
        hash.Dispose();
        hash = null;
        return allowed;
    }

    /// <summary>True when signatures of ClamAV target type <paramref name="target"/> apply to this file's type.</summary>
    private bool AppliesToFile(int target) => target == FileTyping.AnyFile || target == _fileTarget;

    private void ThrowIfCompleted()
    {
        if (_completed)
        {
            throw new InvalidOperationException("the scan session is already complete");
        }
    }

    /// <summary>Progress of one multi-part signature: per part, the earliest chain end and its first part's start.</summary>
    private sealed class PartChain
    {
        public PartChain(int parts)
        {
            End = new long[parts];
            Array.Fill(End, long.MaxValue);
            FirstStart = new long[parts];
            Waiting = new List<(long Start, long End)>[parts];
            for (int i = 0; i < parts; i++)
            {
                Waiting[i] = [];
            }
        }

        public long[] End { get; }

        public long[] FirstStart { get; }

        public List<(long Start, long End)>[] Waiting { get; }
    }

    /// <summary>Hashes of one PE section's data [Start, Start+Size), fed as the file streams past.</summary>
    private sealed class SectionHasher(long start, long size, IncrementalHash? md5, IncrementalHash? sha1, IncrementalHash? sha256) : IDisposable
    {
        public void Append(ReadOnlySpan<byte> fresh, long freshBase)
        {
            long from = Math.Max(start, freshBase);
            long to = Math.Min(start + size, freshBase + fresh.Length);
            if (from >= to)
            {
                return;
            }

            ReadOnlySpan<byte> part = fresh.Slice((int)(from - freshBase), (int)(to - from));
            md5?.AppendData(part);
            sha1?.AppendData(part);
            sha256?.AppendData(part);
        }

        /// <summary>Adds the .mdb/.msb signatures naming this section's size and hash.</summary>
        public void Collect(SignatureDatabase db, List<Detection> detections)
        {
            if (md5 is not null)
            {
                db.SectionMd5.CollectMatches(md5.GetHashAndReset(), size, detections);
            }

            if (sha1 is not null)
            {
                db.SectionSha1.CollectMatches(sha1.GetHashAndReset(), size, detections);
            }

            if (sha256 is not null)
            {
                db.SectionSha256.CollectMatches(sha256.GetHashAndReset(), size, detections);
            }
        }

        public void Dispose()
        {
            md5?.Dispose();
            sha1?.Dispose();
            sha256?.Dispose();
        }
    }

    /// <summary>An anchor occurrence awaiting verification.</summary>
    private readonly record struct Hit(int Keyword, long AnchorStart);

    /// <summary>Forwards automaton hits, translated to absolute offsets, to the session.</summary>
    private readonly ref struct HitSink(ScanSession session, ReadOnlySpan<byte> window, long windowBase, long runBase, long availableEnd)
        : IAnchorSink, IQuadSink
    {
        private readonly ScanSession _session = session;
        private readonly ReadOnlySpan<byte> _window = window;
        private readonly long _windowBase = windowBase;
        private readonly long _runBase = runBase;
        private readonly long _availableEnd = availableEnd;

        public void OnAnchorEnd(int state, int endIndex) =>
            _session.OnAnchor(state, _runBase + endIndex, _window, _windowBase, _availableEnd);

        public void OnKeyword(int keyword, int endIndex) =>
            _session.OnKeyword(keyword, _runBase + endIndex, _window, _windowBase, _availableEnd);
    }
}
