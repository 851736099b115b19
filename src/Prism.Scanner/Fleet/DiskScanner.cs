using System.Diagnostics;
using Prism.Disks.Errors;
using Prism.Disks.IO;
using Prism.Disks.Ntfs;
using Prism.Disks.Partitions;
using Prism.Disks.Vhdx;

namespace Prism.Scanner.Fleet;

/// <summary>
/// Scans one disk: every stream of every NTFS volume, and raw allocated space no file system claims. With a parent
/// baseline and the disk's divergent ranges, a stream whose MFT records and content lie outside the divergence keeps
/// the parent's verdict without being read.
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
    /// enable inheritance; without them everything is read.
    /// </summary>
    public async Task<Result> ScanAsync(string path, IDiskSource disk, IReadOnlyList<ChainRange> chainMap, Baseline? baseline,
        IReadOnlyList<ByteRange> divergent, CancellationToken cancellationToken, IDiskSource? parentDisk = null, int parallelism = 1)
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

        (List<(NtfsVolume Volume, int Number)> volumes, List<ByteRange> rawRegions) = Layout(counting, errors);
        foreach ((NtfsVolume volume, int number) in volumes)
        {
            var done = new Dictionary<StreamKey, IReadOnlyList<EngineHit>>();
            VolumeBaseline? known = baseline?.Volumes.GetValueOrDefault(volume.DiskOffset);
            if (known is not null && known.Number == number && !Touches(known.Metadata, divergent))
            {
                // The clone left the boot sector and every MFT record alone: same files, same names, same runs.
                foreach (StreamEntry s in known.Streams)
                {
                    if (!done.TryGetValue(s.Key, out IReadOnlyList<EngineHit>? hits))
                    {
                        if (!Touches(s.Content, divergent) && baseline!.Streams.TryGetValue(s.Key, out StreamVerdict? verdict))
                        {
                            hits = verdict.Hits;
                            inherited += s.Size;
                            reused++;
                        }
                        else
                        {
                            try
                            {
                                NtfsFileEntry entry = volume.Find(s.Path)
                                    ?? throw new NtfsFormatException(path, "NTFS directory index", null, $"{s.Path} vanished although no MFT record changed");
                                hits = await _engine.ScanAsync(volume.OpenStream(entry, s.Key.Stream), cancellationToken).ConfigureAwait(false);
                                scanned++;
                            }
                            catch (Exception e) when (e is DiskFormatException or IOException or InvalidDataException or NotSupportedException)
                            {
                                errors.Add($"partition {number}: {s.Path}{(s.Key.Stream.Length > 0 ? ":" + s.Key.Stream : "")}: {e.Message}");
                                continue;
                            }
                        }

                        done[s.Key] = hits;
                    }

                    AddFindings(findings, s.Path, s.Key.Stream.Length == 0 ? null : s.Key.Stream, number, hits);
                }

                continue;
            }

            List<StreamEntry>? entries = baseline is null ? [] : null;
            // Only streams that may have findings need a line (a path): those read now and those whose verdict has hits.
            var lines = new List<(string Path, string? Stream, StreamKey Key)>();
            var pending = new Dictionary<StreamKey, (NtfsFileEntry Entry, string Stream, long Size)>();
            // Visit makes no object per file: an entry, a path string or an array is made only for what is kept.
            volume.Visit((in NtfsFileView file) =>
            {
                if (file.StreamCount == 0)
                {
                    return;
                }

                // The map costs no I/O and no allocation; a stream needs it for the baseline check or the baseline itself.
                NtfsSectorMap map = file.GetSectorMap();
                NtfsFileEntry? entry = null;
                string? path = null;
                for (int i = 0; i < file.StreamCount; i++)
                {
                    string name = file.StreamName(i);
                    long size = file.StreamSize(i);
                    var key = new StreamKey(volume.DiskOffset, file.RecordNumber, file.SequenceNumber, name);
                    if (!done.ContainsKey(key) && !pending.ContainsKey(key))
                    {
                        try
                        {
                            if (baseline is not null && baseline.Streams.TryGetValue(key, out StreamVerdict? verdict) && verdict.Size == size)
                            {
                                bool sameRecords = !Touches(map.MftRecords, divergent) || SameBytes(counting, parentCounting, map.MftRecords);
                                bool sameContent = file.IsStreamResident(i) ? sameRecords : !Touches(map.StreamRanges(i), divergent);
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

                    entries?.Add(new StreamEntry(path ??= file.Path.ToString(), key, size, map.StreamRanges(i).ToArray()));
                    if (pending.ContainsKey(key) || (done.TryGetValue(key, out IReadOnlyList<EngineHit>? known) && known.Count > 0))
                    {
                        lines.Add((path ??= file.Path.ToString(), name.Length == 0 ? null : name, key));
                    }
                }
            }, "/", recursive: true, includeSystemFiles: false, onError: e => errors.Add($"partition {number}: {e}"), cancellationToken);

            // The streams that must be read are scanned by up to `parallelism` workers (the parent: one per core, so
            // the one disk the fleet reads in full keeps the machine as busy as --full's several clones do).
            var results = new System.Collections.Concurrent.ConcurrentDictionary<StreamKey, IReadOnlyList<EngineHit>>();
            var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
            await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = cancellationToken },
                async (job, ct) =>
                {
                    try
                    {
                        results[job.Key] = await _engine.ScanAsync(volume.OpenStream(job.Value.Entry, job.Value.Stream), ct).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is DiskFormatException or IOException or InvalidDataException or NotSupportedException)
                    {
                        failures.Add($"partition {number}: {job.Value.Entry.Path}{(job.Value.Stream.Length > 0 ? ":" + job.Value.Stream : "")}: {e.Message}");
                    }
                }).ConfigureAwait(false);
            errors.AddRange(failures.Order(StringComparer.Ordinal));
            foreach ((StreamKey key, IReadOnlyList<EngineHit> hits) in results)
            {
                done[key] = hits;
                produced.Streams[key] = new StreamVerdict(pending[key].Size, hits);
                scanned++;
            }

            foreach ((string linePath, string? lineStream, StreamKey key) in lines)
            {
                if (done.TryGetValue(key, out IReadOnlyList<EngineHit>? hits))
                {
                    AddFindings(findings, linePath, lineStream, number, hits);
                }
            }

            if (entries is not null && MetadataRanges(volume) is { } metadata)
            {
                produced.Volumes[volume.DiskOffset] = new VolumeBaseline(number, metadata, entries);
            }
        }

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
            AddFindings(findings, $"$raw@0x{unit.Offset:X}", null, 0, hits);
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
        };
        return new Result(report, produced);
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

    /// <summary>The boot sector and the $MFT's data (every file record lives there), or null when $MFT cannot be mapped.</summary>
    private static List<ByteRange>? MetadataRanges(NtfsVolume volume)
    {
        try
        {
            NtfsFileEntry? mft = volume.Find("/$MFT");
            if (mft is null)
            {
                return null;
            }

            var ranges = new List<ByteRange> { new(volume.DiskOffset, 16 * 1024) };
            NtfsFileExtents e = volume.GetExtents(mft);
            ranges.AddRange(e.MftRecords);
            foreach (NtfsStreamExtents s in e.Streams)
            {
                ranges.AddRange(s.Ranges);
            }

            ranges.Sort((a, b) => a.Offset.CompareTo(b.Offset));
            return ranges;
        }
        catch (DiskFormatException)
        {
            return null;
        }
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

    private static void AddFindings(List<Finding> findings, string path, string? stream, int partition, IReadOnlyList<EngineHit> hits)
    {
        foreach (IGrouping<string, EngineHit> g in hits.GroupBy(h => h.Signature, StringComparer.Ordinal))
        {
            findings.Add(new Finding(path, stream, g.Key, g.Min(h => h.Offset), partition));
        }
    }

    /// <summary>NTFS volumes of the disk and the regions no NTFS volume claims.</summary>
    private static (List<(NtfsVolume, int)> Volumes, List<ByteRange> Raw) Layout(IDiskSource disk, List<string> errors)
    {
        var volumes = new List<(NtfsVolume, int)>();
        var claimed = new List<ByteRange>();
        PartitionTable? table = null;
        try
        {
            table = PartitionTable.Read(disk);
        }
        catch (DiskFormatException e)
        {
            errors.Add($"partition table: {e.Message}");
        }

        if (table is not null && table.Partitions.Length > 0)
        {
            foreach (Partition p in table.Partitions)
            {
                if (!NtfsVolume.IsNtfs(p.Source))
                {
                    continue;
                }

                try
                {
                    volumes.Add((NtfsVolume.Open(p), p.Number));
                    claimed.Add(new ByteRange(p.Start, p.Length));
                }
                catch (DiskFormatException e)
                {
                    errors.Add($"partition {p.Number}: {e.Message}");
                }
            }
        }
        else if (NtfsVolume.IsNtfs(disk))
        {
            try
            {
                volumes.Add((NtfsVolume.Open(disk), 0));
                claimed.Add(new ByteRange(0, disk.Length));
            }
            catch (DiskFormatException e)
            {
                errors.Add($"volume: {e.Message}");
            }
        }

        claimed.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        var raw = new List<ByteRange>();
        long cursor = 0;
        foreach (ByteRange c in claimed)
        {
            if (c.Offset > cursor)
            {
                raw.Add(new ByteRange(cursor, c.Offset - cursor));
            }

            cursor = Math.Max(cursor, c.End);
        }

        if (cursor < disk.Length)
        {
            raw.Add(new ByteRange(cursor, disk.Length - cursor));
        }

        return (volumes, raw);
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
