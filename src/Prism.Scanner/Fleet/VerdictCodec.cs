using System.Text.Json;

namespace Prism.Scanner.Fleet;

/// <summary>
/// Encodes a parent's baseline and a disk's report as the documents an <see cref="IVerdictStore"/> keeps, and decodes
/// them back; one codec for every adapter. A document that cannot be decoded is forgotten and counts as absent.
/// </summary>
internal static class VerdictCodec
{
    private static readonly JsonSerializerOptions s_json = new() { IncludeFields = false };

    private sealed record StoredStream(long Volume, long Record, uint Sequence, string Stream, long Size, List<StoredHit> Hits);

    private sealed record StoredRaw(long Offset, long Length, List<StoredHit> Hits);

    private sealed record StoredHit(string Signature, long? Offset);

    private sealed record StoredReplay(long Volume, long Offset, long Length);

    private sealed record StoredBaseline(List<StoredStream> Streams, List<StoredRaw> Raw, List<StoredReplay>? Replayed = null);

    private sealed record StoredReport(List<Finding> Findings, long BytesRead, long BytesInherited, double Seconds, List<string> Errors,
        int StreamsScanned, int StreamsInherited, long DivergentBytes);

    /// <summary>The parent's stored verdicts and report, or null (nothing stored, undecodable, or the store could not be read).</summary>
    internal static (Baseline Baseline, DiskReport Report)? TryLoadBaseline(this IVerdictStore store, string parentKey, string parentPath)
    {
        if (store.FindBaseline(parentKey) is not { } doc)
        {
            return null;
        }

        try
        {
            StoredBaseline stored = JsonSerializer.Deserialize<StoredBaseline>(doc.Verdicts, s_json) ?? throw new JsonException("null baseline");
            StoredReport report = JsonSerializer.Deserialize<StoredReport>(doc.Report, s_json) ?? throw new JsonException("null report");
            var baseline = new Baseline();
            foreach (StoredStream s in stored.Streams)
            {
                baseline.Streams[new StreamKey(s.Volume, s.Record, s.Sequence, s.Stream)] =
                    new StreamVerdict(s.Size, s.Hits.Select(h => new EngineHit(h.Signature, h.Offset)).ToList());
            }

            foreach (StoredRaw r in stored.Raw)
            {
                baseline.Raw.Add(new RawVerdict(new Disks.IO.ByteRange(r.Offset, r.Length), r.Hits.Select(h => new EngineHit(h.Signature, h.Offset)).ToList()));
            }

            foreach (IGrouping<long, StoredReplay> v in (stored.Replayed ?? []).GroupBy(r => r.Volume))
            {
                baseline.Replayed[v.Key] = v.Select(r => new Disks.IO.ByteRange(r.Offset, r.Length)).ToList();
            }

            return (baseline, new DiskReport { Path = parentPath, Findings = report.Findings, Errors = report.Errors, Cached = true });
        }
        catch (JsonException)
        {
            store.DeleteBaseline(parentKey);
            return null;
        }
    }

    internal static void SaveBaseline(this IVerdictStore store, string parentKey, Baseline baseline, DiskReport report)
    {
        var stored = new StoredBaseline(
            baseline.Streams.Select(kv => new StoredStream(kv.Key.Volume, kv.Key.Record, kv.Key.Sequence, kv.Key.Stream, kv.Value.Size,
                kv.Value.Hits.Select(h => new StoredHit(h.Signature, h.Offset)).ToList())).ToList(),
            baseline.Raw.Select(r => new StoredRaw(r.Range.Offset, r.Range.Length, r.Hits.Select(h => new StoredHit(h.Signature, h.Offset)).ToList())).ToList(),
            baseline.Replayed.SelectMany(kv => kv.Value.Select(r => new StoredReplay(kv.Key, r.Offset, r.Length))).ToList());
        store.SaveBaseline(parentKey, new StoredBaselineDocument(JsonSerializer.Serialize(stored, s_json), EncodeReport(report)));
    }

    /// <summary>
    /// The stored result of a clone whose DataWriteGuid and signature set are unchanged since it was scanned without
    /// errors: its findings are reused and nothing of it is read.
    /// </summary>
    internal static DiskReport? TryLoadClone(this IVerdictStore store, string path, string cloneKey)
    {
        if (store.FindClone(path, cloneKey) is not { } json)
        {
            return null;
        }

        try
        {
            StoredReport r = JsonSerializer.Deserialize<StoredReport>(json, s_json) ?? throw new JsonException("null report");
            return r.Errors.Count > 0 ? null : new DiskReport { Path = path, Findings = r.Findings, Cached = true, DivergentBytes = r.DivergentBytes };
        }
        catch (JsonException)
        {
            store.DeleteClone(path);
            return null;
        }
    }

    internal static void SaveClone(this IVerdictStore store, string path, string cloneKey, DiskReport report) =>
        store.SaveClone(path, cloneKey, report.Findings.Count == 0 && report.Errors.Count == 0, EncodeReport(report));

    /// <summary>A disk report as stored (findings, errors and what the scan cost).</summary>
    internal static string EncodeReport(DiskReport r) => JsonSerializer.Serialize(new StoredReport(r.Findings.ToList(), r.BytesRead, r.BytesInherited,
        r.Seconds, r.Errors.ToList(), r.StreamsScanned, r.StreamsInherited, r.DivergentBytes), s_json);

    /// <summary>A stored disk report for <paramref name="path"/>; <see cref="JsonException"/> when it cannot be decoded.</summary>
    internal static DiskReport DecodeReport(string json, string path, bool cached)
    {
        StoredReport r = JsonSerializer.Deserialize<StoredReport>(json, s_json) ?? throw new JsonException("null report");
        return new DiskReport
        {
            Path = path,
            Findings = r.Findings,
            BytesRead = r.BytesRead,
            BytesInherited = r.BytesInherited,
            Seconds = r.Seconds,
            Errors = r.Errors,
            StreamsScanned = r.StreamsScanned,
            StreamsInherited = r.StreamsInherited,
            DivergentBytes = r.DivergentBytes,
            Cached = cached,
        };
    }
}
