using System.Diagnostics;
using Prism.Disks.Errors;
using Prism.Disks.Guest;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;

namespace Prism.Scanner.Fleet;

/// <summary>
/// Scans one disk: every stream of every guest volume Prism reads file by file (NTFS, ext2/3/4, through
/// <see cref="IGuestVolume"/> only), and raw allocated space no such volume claims (gaps, unsupported and unknown file
/// systems). With a parent baseline and the disk's divergent ranges, a stream whose own metadata (MFT records; inode
/// and extent-tree or indirect blocks) and content lie outside the divergence keeps the parent's verdict without being
/// read; its path comes from the clone's own walk (or from the parent's when no metadata diverged).
/// </summary>
internal sealed class DiskScanner
{
    private const long RawMergeGap = 0;
    private readonly IScanEngine _engine;
    private readonly int _overlap;
    private readonly bool _windowedRaw;

    public DiskScanner(IScanEngine engine)
    {
        _engine = engine;
        if (engine is BuiltinEngine b)
        {
            Signatures.SignatureDatabase db = b.Database;
            _overlap = Math.Max(0, db.MaxPatternLength - 1);
            _windowedRaw = !db.HasUnboundedSignatures && !db.HasEofAnchoredSignatures && !db.HasStartAnchoredSignatures
                && db.HashSignatureCount == 0;
        }
    }

    public sealed record Result(DiskReport Report, Baseline Produced);

    /// <summary>
    /// Scans <paramref name="disk"/>. <paramref name="baseline"/> and <paramref name="divergent"/> (sorted, coalesced)
    /// enable inheritance; without them everything is read. With <paramref name="captureWalk"/> (scanning a parent), each
    /// volume is walked through <see cref="IGuestVolume.CaptureWalk"/> where the file system offers it, so that its
    /// clones' walks can be patched from the parent's.
    /// </summary>
    public async Task<Result> ScanAsync(string path, IDiskSource disk, IReadOnlyList<ChainRange> chainMap, Baseline? baseline,
        IReadOnlyList<ByteRange> divergent, CancellationToken cancellationToken, IDiskSource? parentDisk = null, int parallelism = 1,
        bool captureWalk = false)
    {
        var sw = Stopwatch.StartNew();
        var counting = new CountingSource(disk);
        CountingSource? parentCounting = parentDisk is null ? null : new CountingSource(parentDisk);
        var findings = new List<Finding>();
        var errors = new List<string>();
        var produced = new Baseline();
        long inherited = 0;
        int scanned = 0;
        int reused = 0;

        GuestDisk layout = GuestDisk.Open(counting, path);
        var volumeLines = new List<string>();
        if (layout.TableProblem is not null)
        {
            errors.Add($"partition table: {layout.TableProblem}");
        }

        foreach (GuestPartition part in layout.Partitions)
        {
            if (part.Volume is null && GuestFileSystems.IsSupported(part.FileSystem))
            {
                errors.Add($"{(part.Number == 0 ? "volume" : $"partition {part.Number}")}: {part.Problem}");
            }
        }

        foreach (GuestPartition part in layout.Partitions)
        {
            int number = part.Number;
            if (part.Volume is not IGuestVolume volume)
            {
                volumeLines.Add(part.ToString());
                continue;
            }

            string label = $"{(number == 0 ? "volume" : $"partition {number}")}: {GuestFileSystems.DisplayName(volume.FileSystem)}";
            var done = new Dictionary<StreamKey, IReadOnlyList<EngineHit>>();
            VolumeBaseline? known = baseline?.Volumes.GetValueOrDefault(volume.DiskOffset);
            GuestWalkResult? patched = known is not null && known.Number == number ? volume.PatchWalk(known.Walk, divergent) : null;

            // The parent's walk is the one its file system makes itself when it can (NTFS keeps its snapshot there, for
            // its clones' PatchWalk); clones the file system could not patch or reuse, and --full scans, walk with Visit.
            GuestWalk? walk = patched?.Walk ?? (captureWalk && baseline is null ? volume.CaptureWalk(cancellationToken) : null);
            if (walk is not null)
            {
                volumeLines.Add(patched is null ? $"{label}, full walk" : $"{label}, {patched.Reason}");
                (long walkInherited, int walkReused, int walkScanned) = await ScanWalkAsync(volume, number, walk, known, baseline, divergent,
                    counting, parentCounting, parallelism, done, findings, errors, produced, cancellationToken).ConfigureAwait(false);
                inherited += walkInherited;
                reused += walkReused;
                scanned += walkScanned;
                continue;
            }

            volumeLines.Add(patched is null ? $"{label}, full walk" : $"{label}, {patched.Reason}");
            GuestWalk.Builder? walkBuilder = baseline is null ? new GuestWalk.Builder(volume) : null;

            // Blocks a journal replay rewrote (in the clone or in the parent) read differently from the disk: a file
            // touching them is never inherited, and their raw bytes are never compared.
            List<ByteRange> forced = ByteRanges.Coalesce(volume.ReplayedRanges.Concat(baseline?.Replayed.GetValueOrDefault(volume.DiskOffset) ?? []));

            // Only streams that may have findings need a line (a path): those read now and those whose verdict has hits.
            var lines = new List<(string Path, string? Stream, StreamKey Key)>();
            var pending = new Dictionary<StreamKey, (GuestFileEntry Entry, string Stream, long Size)>();

            // Visit makes no object per file: an entry, a path string or an array is made only for what is kept.
            volume.Visit((in GuestFileView file) =>
            {
                if (file.StreamCount == 0 && walkBuilder is null)
                {
                    return;
                }

                // The map costs no I/O for NTFS (ext reads deep extent trees); a stream needs it for the baseline check or the baseline itself.
                GuestSectorMap map;
                try
                {
                    map = file.GetSectorMap();
                }
                catch (Exception e) when (e is DiskFormatException or IOException or InvalidDataException or NotSupportedException)
                {
                    errors.Add($"partition {number}: {file.Path}: {e.Message}");
                    walkBuilder?.AddError($"{file.Path}: {e.Message}");
                    return;
                }

                string? filePath = null;
                walkBuilder?.Add(file, map, filePath ??= file.Path.ToString());
                GuestFileEntry? entry = null;
                for (int i = 0; i < file.StreamCount; i++)
                {
                    string name = file.StreamName(i);
                    long size = file.StreamSize(i);
                    var key = new StreamKey(volume.DiskOffset, file.Id, file.Generation, name);
                    if (!done.ContainsKey(key) && !pending.ContainsKey(key))
                    {
                        try
                        {
                            if (baseline is not null && baseline.Streams.TryGetValue(key, out StreamVerdict? verdict) && verdict.Size == size)
                            {
                                bool sameRecords = !Touches(map.Metadata, forced)
                                    && (!Touches(map.Metadata, divergent) || SameBytes(counting, parentCounting, map.Metadata));
                                bool sameContent = file.IsStreamResident(i) ? sameRecords
                                    : !Touches(map.StreamRanges(i), divergent) && !Touches(map.StreamRanges(i), forced);
                                if (sameRecords && sameContent)
                                {
                                    done[key] = verdict.Hits;
                                    produced.Streams[key] = verdict;
                                    inherited += size;
                                    reused++;
                                }
                            }

                            if (!done.ContainsKey(key))
                            {
                                pending[key] = (entry ??= file.ToEntry(), name, size);
                            }
                        }
                        catch (Exception e) when (e is DiskFormatException or IOException or InvalidDataException or NotSupportedException)
                        {
                            errors.Add($"partition {number}: {file.Path}{(name.Length > 0 ? ":" + name : "")}: {e.Message}");
                            continue;
                        }
                    }

                    if (pending.ContainsKey(key) || (done.TryGetValue(key, out IReadOnlyList<EngineHit>? knownHits) && knownHits.Count > 0))
                    {
                        lines.Add((filePath ??= file.Path.ToString(), name.Length == 0 ? null : name, key));
                    }
                }
            }, "/", recursive: true, onError: e =>
            {
                errors.Add($"partition {number}: {e}");
                walkBuilder?.AddError(e.ToString());
            }, cancellationToken);

            // The streams that must be read are scanned by up to `parallelism` workers (the parent: one per core, so
            // the one disk the fleet reads in full keeps the machine as busy as --full's several clones do).
            scanned += await ScanPendingAsync(pending.Select(kv => (kv.Key, kv.Value.Size, $"{kv.Value.Entry.Path}{StreamSuffix(kv.Value.Stream)}",
                (Func<IDiskSource>)(() => volume.OpenStream(kv.Value.Entry, kv.Value.Stream)))), number, parallelism, done, errors, produced,
                cancellationToken).ConfigureAwait(false);

            foreach ((string linePath, string? lineStream, StreamKey key) in lines)
            {
                if (done.TryGetValue(key, out IReadOnlyList<EngineHit>? hits))
                {
                    AddFindings(findings, linePath, lineStream, number, hits);
                }
            }

            if (walkBuilder is not null)
            {
                produced.Volumes[volume.DiskOffset] = new VolumeBaseline(number, walkBuilder.Build());
                produced.Replayed[volume.DiskOffset] = volume.ReplayedRanges;
            }
        }

        List<ByteRange> rawRegions = [.. layout.Unclaimed];
        foreach (ByteRange unit in RawUnits(chainMap, rawRegions))
        {
            cancellationToken.ThrowIfCancellationRequested();
            IReadOnlyList<EngineHit> hits;
            RawVerdict? parentUnit = baseline?.Raw.FirstOrDefault(r => r.Range == unit);
            try
            {
                if (parentUnit is not null && !Touches([unit], divergent))
                {
                    hits = parentUnit.Hits;
                    inherited += unit.Length;
                }
                else if (parentUnit is not null && _windowedRaw)
                {
                    hits = await ScanWindowsAsync(counting, unit, parentUnit.Hits, divergent, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    hits = await _engine.ScanAsync(counting.Slice(unit.Offset, unit.Length), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is DiskFormatException or IOException or InvalidDataException or NotSupportedException)
            {
                // E.g. clamd refusing a unit longer than its StreamMaxLength: an error of this disk, not of the fleet.
                // No verdict is produced, so clones rescan (and report) the unit themselves.
                errors.Add($"$raw@0x{unit.Offset:X}: {e.Message}");
                continue;
            }

            produced.Raw.Add(new RawVerdict(unit, hits));
            AddFindings(findings, $"$raw@0x{unit.Offset:X}", null, 0, hits, unit.Offset);
        }

        findings.Sort((a, b) => string.CompareOrdinal($"{a.Partition}\u0001{a.Path}\u0001{a.Stream}\u0001{a.Signature}",
            $"{b.Partition}\u0001{b.Path}\u0001{b.Stream}\u0001{b.Signature}"));
        var report = new DiskReport
        {
            Path = path,
            Findings = findings,
            BytesRead = counting.BytesRead + (parentCounting?.BytesRead ?? 0),
            BytesInherited = inherited,
            Seconds = sw.Elapsed.TotalSeconds,
            Errors = errors,
            StreamsScanned = scanned,
            StreamsInherited = reused,
            DivergentBytes = divergent.Sum(r => r.Length),
            Volumes = volumeLines,
        };
        return new Result(report, produced);
    }

    /// <summary>
    /// Scans one volume from a walk (the parent's own, reused, or patched for the clone): a stream keeps the parent's
    /// verdict when it has the parent's size and content ranges (the parent's walk says so), none of them diverged, and
    /// its file's records did not diverge or hold the parent's bytes (a record says more than its ranges: the initialized
    /// size, the fix-ups of a resident value); the others are read (by up to <paramref name="parallelism"/> workers). Returns what was inherited and scanned.
    /// </summary>
    private async Task<(long Inherited, int Reused, int Scanned)> ScanWalkAsync(IGuestVolume volume, int number, GuestWalk walk,
        VolumeBaseline? known, Baseline? baseline, IReadOnlyList<ByteRange> divergent, IDiskSource clone, IDiskSource? parent, int parallelism,
        Dictionary<StreamKey, IReadOnlyList<EngineHit>> done, List<Finding> findings, List<string> errors, Baseline produced,
        CancellationToken cancellationToken)
    {
        long inherited = 0;
        int reused = 0;
        errors.AddRange(walk.Errors.Select(e => $"partition {number}: {e}"));
        bool whole = known is not null && ReferenceEquals(walk, known.Walk);
        IReadOnlyDictionary<StreamKey, GuestWalkStream>? before = known is not null && !whole ? known.Streams : null;
        List<ByteRange> forced = ByteRanges.Coalesce(volume.ReplayedRanges.Concat(baseline?.Replayed.GetValueOrDefault(volume.DiskOffset) ?? []));
        var lines = new List<(string Path, string? Stream, StreamKey Key)>();
        var pending = new Dictionary<StreamKey, (GuestWalkFile File, string Stream, long Size)>();

        // The parent's walk itself, or one derived from it: only the files that differ from the parent's, and those whose
        // records or content lie in the divergence, are looked at one by one; the others keep their verdicts wholesale.
        IEnumerable<GuestWalkFile> decide = walk.Files;
        if (known is not null && baseline is not null && (whole || ReferenceEquals(walk.Base, known.Walk)))
        {
            (decide, long untouchedBytes, int untouchedStreams) = Untouched(known, baseline, walk, whole, divergent, forced, done, lines);
            inherited += untouchedBytes;
            reused += untouchedStreams;
        }

        foreach (GuestWalkFile file in decide)
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (GuestWalkStream s in file.Streams)
            {
                var key = new StreamKey(volume.DiskOffset, file.Id, file.Generation, s.Name);
                if (!done.ContainsKey(key) && !pending.ContainsKey(key))
                {
                    if (baseline is not null && baseline.Streams.TryGetValue(key, out StreamVerdict? verdict) && verdict.Size == s.Size
                        && !Touches(s.Content, divergent) && !Touches(s.Content, forced)
                        && (whole || (before is not null && before.TryGetValue(key, out GuestWalkStream? old) && SameContent(old, s)
                            && (!Touches(file.Metadata, divergent) || SameBytes(clone, parent, [.. file.Metadata])))))
                    {
                        done[key] = verdict.Hits;
                        produced.Streams[key] = verdict;
                        inherited += s.Size;
                        reused++;
                    }
                    else
                    {
                        pending[key] = (file, s.Name, s.Size);
                    }
                }

                if (pending.ContainsKey(key) || (done.TryGetValue(key, out IReadOnlyList<EngineHit>? knownHits) && knownHits.Count > 0))
                {
                    lines.Add((file.Path, s.Name.Length == 0 ? null : s.Name, key));
                }
            }
        }

        int scanned = await ScanPendingAsync(pending.Select(kv => (kv.Key, kv.Value.Size, $"{kv.Value.File.Path}{StreamSuffix(kv.Value.Stream)}",
            (Func<IDiskSource>)(() => volume.OpenWalkStream(kv.Value.File, kv.Value.Stream)))), number, parallelism, done, errors, produced,
            cancellationToken).ConfigureAwait(false);

        foreach ((string linePath, string? lineStream, StreamKey key) in lines)
        {
            if (done.TryGetValue(key, out IReadOnlyList<EngineHit>? hits))
            {
                AddFindings(findings, linePath, lineStream, number, hits);
            }
        }

        if (baseline is null)
        {
            produced.Volumes[volume.DiskOffset] = new VolumeBaseline(number, walk);
            produced.Replayed[volume.DiskOffset] = volume.ReplayedRanges;
        }

        return (inherited, reused, scanned);
    }

    // For a clone whose walk is the parent's or derived from it (GuestWalk.Derive): the files whose streams must be decided
    // one by one (the added ones; the parent's that share an identity with an added, removed or touched one, or with a
    // stream the parent has no verdict for), and what the rest inherit: their bytes and stream count, a line (and the
    // verdict) for each of their streams with hits. A file is touched when its metadata or content ranges share a byte
    // with the divergence or the replayed blocks, found through the parent walk's range index (built once per golden),
    // so this costs the change, not the golden's file count.
    private static (List<GuestWalkFile> Decide, long Bytes, int Streams) Untouched(VolumeBaseline known, Baseline baseline, GuestWalk walk, bool whole,
        IReadOnlyList<ByteRange> divergent, IReadOnlyList<ByteRange> forced, Dictionary<StreamKey, IReadOnlyList<EngineHit>> done,
        List<(string Path, string? Stream, StreamKey Key)> lines)
    {
        VolumeBaseline.WalkIndex index = known.Index(baseline);
        IReadOnlyList<GuestWalkFile> parentFiles = known.Walk.Files;
        IReadOnlyList<int> removed = whole ? [] : walk.Removed;
        IReadOnlyList<GuestWalkFile> added = whole ? [] : walk.Added;
        var touched = new HashSet<int>();
        index.Ranges.Overlapping(divergent.Concat(forced), touched);
        var ids = new HashSet<long>(index.Unsettled);
        foreach (int i in touched)
        {
            ids.Add(parentFiles[i].Id);
        }

        foreach (int i in removed)
        {
            ids.Add(parentFiles[i].Id);
        }

        foreach (GuestWalkFile f in added)
        {
            ids.Add(f.Id);
        }

        var gone = new HashSet<int>(removed);
        var decide = new List<GuestWalkFile>(added);
        long bytes = index.Bytes;
        int streams = index.Streams;
        foreach (long id in ids)
        {
            (int count, long size) = index.InheritableOf(id);
            streams -= count;
            bytes -= size;
            foreach (int i in index.FilesOf(id))
            {
                if (!gone.Contains(i))
                {
                    decide.Add(parentFiles[i]);
                }
            }
        }

        foreach (int i in index.WithHits)
        {
            GuestWalkFile f = parentFiles[i];
            if (ids.Contains(f.Id))
            {
                continue;
            }

            foreach (GuestWalkStream s in f.Streams)
            {
                var key = new StreamKey(walk.DiskOffset, f.Id, f.Generation, s.Name);
                if (baseline.Streams.TryGetValue(key, out StreamVerdict? verdict) && verdict.Hits.Count > 0)
                {
                    done[key] = verdict.Hits;
                    lines.Add((f.Path, s.Name.Length == 0 ? null : s.Name, key));
                }
            }
        }

        return (decide, bytes, streams);
    }

    // Scans the streams that must be read with up to `parallelism` workers; each result becomes the stream's verdict
    // (in `done` and `produced`), each stream that cannot be read an error line naming it. Returns how many were scanned.
    private async Task<int> ScanPendingAsync(IEnumerable<(StreamKey Key, long Size, string Name, Func<IDiskSource> Open)> pending, int number,
        int parallelism, Dictionary<StreamKey, IReadOnlyList<EngineHit>> done, List<string> errors, Baseline produced, CancellationToken cancellationToken)
    {
        var results = new System.Collections.Concurrent.ConcurrentDictionary<StreamKey, (long Size, IReadOnlyList<EngineHit> Hits)>();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = cancellationToken },
            async (job, ct) =>
            {
                try
                {
                    results[job.Key] = (job.Size, await _engine.ScanAsync(job.Open(), ct).ConfigureAwait(false));
                }
                catch (Exception e) when (e is DiskFormatException or IOException or InvalidDataException or NotSupportedException)
                {
                    failures.Add($"partition {number}: {job.Name}: {e.Message}");
                }
            }).ConfigureAwait(false);
        errors.AddRange(failures.Order(StringComparer.Ordinal));
        foreach ((StreamKey key, (long size, IReadOnlyList<EngineHit> hits)) in results)
        {
            done[key] = hits;
            produced.Streams[key] = new StreamVerdict(size, hits);
        }

        return results.Count;
    }

    private static string StreamSuffix(string stream) => stream.Length > 0 ? ":" + stream : "";

    // Whether a stream of a patched walk maps its content where the parent's did (the caller checks that none of it
    // diverged): the same size and ranges in the same order; a resident value at the same place in its record.
    private static bool SameContent(GuestWalkStream old, GuestWalkStream now)
    {
        if (old.IsResident != now.IsResident || old.Size != now.Size || old.Content.Count != now.Content.Count)
        {
            return false;
        }

        for (int i = 0; i < old.Content.Count; i++)
        {
            if (old.Content[i] != now.Content[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Rescans only the divergent parts of a raw unit, each widened by (longest signature − 1) bytes on both sides, so
    /// that every match touching a changed byte is found; parent matches that touch no changed byte are kept.
    /// </summary>
    private async Task<IReadOnlyList<EngineHit>> ScanWindowsAsync(IDiskSource disk, ByteRange unit, IReadOnlyList<EngineHit> parentHits,
        IReadOnlyList<ByteRange> divergent, CancellationToken cancellationToken)
    {
        // The engine names each signature once, at its first match. When a parent match touches a changed byte (or
        // its offset is unknown), a later occurrence of that signature outside every window was never reported and
        // would be lost: rescan the whole unit.
        foreach (EngineHit h in parentHits)
        {
            if (h.Offset is not long o || Touches([new ByteRange(unit.Offset + o, _overlap + 1)], divergent))
            {
                return await _engine.ScanAsync(disk.Slice(unit.Offset, unit.Length), cancellationToken).ConfigureAwait(false);
            }
        }

        var windows = new List<ByteRange>();
        foreach (ByteRange d in divergent)
        {
            ByteRange part = d.Intersect(unit);
            if (part.Length == 0)
            {
                continue;
            }

            long s = Math.Max(unit.Offset, part.Offset - _overlap);
            long e = Math.Min(unit.End, part.End + _overlap);
            if (windows.Count > 0 && s <= windows[^1].End)
            {
                windows[^1] = new ByteRange(windows[^1].Offset, Math.Max(windows[^1].End, e) - windows[^1].Offset);
            }
            else
            {
                windows.Add(new ByteRange(s, e - s));
            }
        }

        var result = new List<EngineHit>();
        foreach (EngineHit h in parentHits)
        {
            // A kept match must lie wholly outside every changed byte: its span is at most MaxPatternLength long.
            long start = unit.Offset + (h.Offset ?? 0);
            if (h.Offset is not null && !Touches([new ByteRange(start, _overlap + 1)], divergent))
            {
                result.Add(h);
            }
        }

        foreach (ByteRange w in windows)
        {
            IReadOnlyList<EngineHit> hits = await _engine.ScanAsync(disk.Slice(w.Offset, w.Length), cancellationToken).ConfigureAwait(false);
            foreach (EngineHit h in hits)
            {
                var shifted = new EngineHit(h.Signature, h.Offset is long o ? o + (w.Offset - unit.Offset) : null);
                if (!result.Contains(shifted))
                {
                    result.Add(shifted);
                }
            }
        }

        return result;
    }

    /// <summary>
    /// True when the clone and the parent hold the same bytes in <paramref name="ranges"/> (MFT records, a few KiB):
    /// a record that shares a written 4 KiB sector with a changed neighbour is still the parent's record.
    /// </summary>
    private static bool SameBytes(IDiskSource clone, IDiskSource? parent, ReadOnlySpan<ByteRange> ranges)
    {
        if (parent is null)
        {
            return false;
        }

        foreach (ByteRange r in ranges)
        {
            if (r.Length > 1024 * 1024 || r.End > parent.Length)
            {
                return false;
            }

            byte[] a = new byte[r.Length];
            byte[] b = new byte[r.Length];
            clone.ReadExactly(a, r.Offset);
            parent.ReadExactly(b, r.Offset);
            if (!a.AsSpan().SequenceEqual(b))
            {
                return false;
            }
        }

        return true;
    }

    // rawStart: the disk offset of a raw unit, whose findings then also carry the match's disk offset.
    private static void AddFindings(List<Finding> findings, string path, string? stream, int partition, IReadOnlyList<EngineHit> hits,
        long? rawStart = null)
    {
        foreach (IGrouping<string, EngineHit> g in hits.GroupBy(h => h.Signature, StringComparer.Ordinal))
        {
            long? offset = g.Min(h => h.Offset);
            findings.Add(new Finding(path, stream, g.Key, offset, partition) { DiskOffset = rawStart + offset });
        }
    }

    /// <summary>Allocated (held by some layer) parts of the raw regions, coalesced: what raw scanning reads.</summary>
    internal static List<ByteRange> RawUnits(IReadOnlyList<ChainRange> chainMap, List<ByteRange> rawRegions)
    {
        var units = new List<ByteRange>();
        foreach (ByteRange region in rawRegions)
        {
            foreach (ChainRange c in chainMap)
            {
                ByteRange part = new ByteRange(c.Offset, c.Length).Intersect(region);
                if (part.Length == 0)
                {
                    continue;
                }

                if (units.Count > 0 && part.Offset - units[^1].End <= RawMergeGap && units[^1].Overlaps(region))
                {
                    units[^1] = new ByteRange(units[^1].Offset, part.End - units[^1].Offset);
                }
                else
                {
                    units.Add(part);
                }
            }
        }

        return units;
    }

    /// <summary>True when any of <paramref name="ranges"/> overlaps the sorted, coalesced <paramref name="divergent"/> list.</summary>
    internal static bool Touches(IReadOnlyList<ByteRange>? ranges, IReadOnlyList<ByteRange> divergent)
    {
        if (ranges is null)
        {
            return false;
        }

        foreach (ByteRange r in ranges)
        {
            if (Touches(r, divergent))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when any of <paramref name="ranges"/> overlaps the sorted, coalesced <paramref name="divergent"/> list.</summary>
    internal static bool Touches(ReadOnlySpan<ByteRange> ranges, IReadOnlyList<ByteRange> divergent)
    {
        foreach (ByteRange r in ranges)
        {
            if (Touches(r, divergent))
            {
                return true;
            }
        }

        return false;
    }

    // Whether a non-empty r overlaps one of the sorted, disjoint divergent ranges (binary search for the first one
    // ending after r starts).
    private static bool Touches(ByteRange r, IReadOnlyList<ByteRange> divergent)
    {
        int lo = 0;
        int hi = divergent.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (divergent[mid].End <= r.Offset)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo < divergent.Count && divergent[lo].Offset < r.End && r.Length > 0;
    }
}
