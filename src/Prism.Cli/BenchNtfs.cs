using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Prism.Disks.IO;
using Prism.Disks.Ntfs;

using static Prism.Cli.BenchTools;

namespace Prism.Cli;

/// <summary>
/// <c>prism bench ntfs IMAGE</c>: enumerating every file of a raw NTFS image with its path and sector map (open the
/// volume, <see cref="NtfsVolume.Visit"/> every directory, <see cref="NtfsFileView.GetSectorMap"/> per file: what the
/// fleet scanner does per volume) against <c>ntfsls -R</c> on the same image, in the same run, interleaved. The object
/// API (<see cref="NtfsVolume.Enumerate"/> + <see cref="NtfsVolume.GetExtents"/> per entry) is timed alongside, and both
/// must count the same entries and ranges. Warm: untimed runs first (page cache, JIT tiers), then the median of N, the two
/// compared walks alternating.
/// <c>--cold</c> adds one run of each after dropping the page cache (root only). <c>ntfsls -R</c> lists names from the
/// directory indexes only; <c>ntfsls -R -l</c>, which also opens every file record as Prism must for sector maps, is
/// timed alongside for context.
/// </summary>
internal static class BenchNtfs
{
    private const int WarmUpRuns = 8;
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static int Run(string image, int runs, bool cold, bool skipPeers, bool json, TextWriter log)
    {
        CheckImageRuns(image, runs);

        string? ntfsls = skipPeers ? null : RequireTool("ntfsls", "ntfs-3g");

        // Warm-up: fills the page cache and lets the JIT reach its optimized tier; also the counts printed below, which
        // the object API must reproduce.
        (long entries, long ranges) = VisitWithSectorMaps(image);
        (long objectEntries, long objectRanges) = EnumerateWithSectorMaps(image);
        if ((objectEntries, objectRanges) != (entries, ranges))
        {
            throw new InvalidOperationException(
                $"Visit counted {entries} entries and {ranges} ranges, Enumerate + GetExtents {objectEntries} and {objectRanges}");
        }

        for (int i = 0; i < WarmUpRuns; i++)
        {
            VisitWithSectorMaps(image);
            EnumerateWithSectorMaps(image);
        }

        long peerNames = ntfsls is null ? 0 : CountNames(RunTool(ntfsls, "-R", image));

        var prismTimes = new List<double>(runs);
        var objectTimes = new List<double>(runs);
        var peerTimes = new List<double>(runs);
        var longTimes = new List<double>(runs);
        // The figure: the Visit walk and ntfsls -R alternate, so each run follows the other and both meet the same moments
        // of a shared machine. The context measurements (the object API, ntfsls -R -l) come after, in a pass of their own:
        // between the compared runs they would leave their garbage and their 550 ms of cache traffic to one side only.
        for (int i = 0; i < runs; i++)
        {
            prismTimes.Add(Time(() => VisitWithSectorMaps(image)));
            if (ntfsls is not null)
            {
                peerTimes.Add(PeerTime(ntfsls, "-R", image));
            }
        }

        for (int i = 0; i < runs; i++)
        {
            objectTimes.Add(Time(() => EnumerateWithSectorMaps(image)));
            if (ntfsls is not null)
            {
                longTimes.Add(PeerTime(ntfsls, "-R", "-l", image));
            }
        }

        double? prismCold = null, peerCold = null;
        if (cold)
        {
            DropCaches();
            prismCold = Time(() => VisitWithSectorMaps(image));
            if (ntfsls is not null)
            {
                DropCaches();
                peerCold = PeerTime(ntfsls, "-R", image);
            }
        }

        double prism = Median(prismTimes);
        double objects = Median(objectTimes);
        double? peer = ntfsls is null ? null : Median(peerTimes);
        double? peerLong = ntfsls is null ? null : Median(longTimes);
        double? ratio = peer is double p ? prism / p : null;
        bool pass = (ratio is null || ratio < 1.0) && (prismCold is null || prismCold < 2.0);
        if (json)
        {
            log.WriteLine(JsonSerializer.Serialize(new
            {
                image,
                entries,
                ranges,
                ntfslsNames = ntfsls is null ? (long?)null : peerNames,
                runs,
                prismSeconds = prismTimes,
                enumerateSeconds = objectTimes,
                ntfslsSeconds = ntfsls is null ? null : peerTimes,
                ntfslsLongSeconds = ntfsls is null ? null : longTimes,
                prismMedianSeconds = prism,
                enumerateMedianSeconds = objects,
                ntfslsMedianSeconds = peer,
                ntfslsLongMedianSeconds = peerLong,
                ratio,
                prismColdSeconds = prismCold,
                ntfslsColdSeconds = peerCold,
                pass,
            }, s_json));
            return pass ? 0 : 1;
        }

        log.WriteLine($"image {image}: {entries} entries, {ranges} sector-map ranges" + (ntfsls is null ? string.Empty : $"; ntfsls -R lists {peerNames} names"));
        log.WriteLine($"prism walk + paths + sector maps (Visit, open included), warm: median {Ms(prism)} of {runs} [{string.Join(' ', prismTimes.Select(Ms))}]");
        log.WriteLine($"prism Enumerate + GetExtents (an object per entry):        median {Ms(objects)} of {runs} [{string.Join(' ', objectTimes.Select(Ms))}]");
        if (peer is double pm)
        {
            log.WriteLine($"ntfsls -R >/dev/null (timed by bash), warm:       median {Ms(pm)} of {runs} [{string.Join(' ', peerTimes.Select(Ms))}]");
            log.WriteLine($"ratio (prism / ntfsls -R): {ratio!.Value.ToString("0.00", CultureInfo.InvariantCulture)} (target < 1.00)");
            log.WriteLine($"context: ntfsls -R -l (opens every record too): median {Ms(peerLong!.Value)}, ratio prism / it "
                + (prism / peerLong.Value).ToString("0.00", CultureInfo.InvariantCulture));
        }

        if (prismCold is double pc)
        {
            log.WriteLine($"cold (page cache dropped): prism {Ms(pc)} (target < 2000 ms)" + (peerCold is double nc ? $", ntfsls -R {Ms(nc)}" : string.Empty));
        }

        return pass ? 0 : 1;
    }

    /// <summary>What NtfsBenchmarks.VisitWithSectorMaps does: (entries, ranges); every path is looked at.</summary>
    private static (long Entries, long Ranges) VisitWithSectorMaps(string image)
    {
        using var source = new FileDiskSource(image);
        NtfsVolume volume = NtfsVolume.Open(source, image);
        long entries = 0, ranges = 0, pathChars = 0;
        volume.Visit((in NtfsFileView file) =>
        {
            NtfsSectorMap map = file.GetSectorMap();
            entries++;
            pathChars += file.Path.Length;
            ranges += map.MftRecords.Length;
            for (int i = 0; i < map.StreamCount; i++)
            {
                ranges += map.StreamRanges(i).Length;
            }
        });

        return pathChars > 0 || entries == 0 ? (entries, ranges) : throw new InvalidOperationException("empty paths");
    }

    /// <summary>What NtfsBenchmarks.EnumerateWithSectorMaps does: (entries, ranges).</summary>
    private static (long Entries, long Ranges) EnumerateWithSectorMaps(string image)
    {
        using var source = new FileDiskSource(image);
        NtfsVolume volume = NtfsVolume.Open(source, image);
        long entries = 0, ranges = 0;
        foreach (NtfsFileEntry e in volume.Enumerate())
        {
            NtfsFileExtents x = volume.GetExtents(e);
            entries++;
            ranges += x.MftRecords.Count;
            foreach (NtfsStreamExtents s in x.Streams)
            {
                ranges += s.Ranges.Count;
            }
        }

        return (entries, ranges);
    }

    // ntfsls -R prints "/dir:" headers, blank separators and "." / ".." in subdirectories; the rest are names.
    private static long CountNames(string output)
    {
        long n = 0;
        foreach (string line in output.Split('\n'))
        {
            if (line.Length > 0 && line != "." && line != ".." && !(line.StartsWith('/') && line.EndsWith(':')))
            {
                n++;
            }
        }

        return n;
    }
}
