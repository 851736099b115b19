using System.Globalization;
using System.Text.Json;
using Prism.Disks.Ext4;
using Prism.Disks.Guest;
using Prism.Disks.IO;

using static Prism.Cli.BenchTools;

namespace Prism.Cli;

/// <summary>
/// <c>prism bench ext4 IMAGE</c>: walking every path of a raw ext2/3/4 image with its sector map (open the volume,
/// <see cref="IGuestVolume.Visit"/>, <see cref="GuestFileView.GetSectorMap"/> per path: what the fleet scanner and
/// <c>prism diff</c> do per volume) against sleuthkit's <c>fls -r -p</c> on the same image, in the same run, alternating.
/// Both must count the same names. Warm: untimed runs first, then the median of N. <c>--cold</c> adds one run of each
/// after dropping the page cache (root only).
/// </summary>
internal static class BenchExt4
{
    private const int WarmUpRuns = 3;
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static int Run(string image, int runs, bool cold, bool skipPeers, bool json, TextWriter log)
    {
        CheckImageRuns(image, runs);

        string? fls = skipPeers ? null : RequireTool("fls", "sleuthkit");
        (long entries, long ranges) = Walk(image);
        for (int i = 0; i < WarmUpRuns; i++)
        {
            Walk(image);
        }

        long peerNames = fls is null ? 0 : CountNames(RunTool(fls, "-r", "-p", image));
        if (fls is not null && peerNames != entries)
        {
            throw new InvalidOperationException($"prism walked {entries} paths, fls -r -p lists {peerNames}");
        }

        var prismTimes = new List<double>(runs);
        var peerTimes = new List<double>(runs);
        for (int i = 0; i < runs; i++)
        {
            prismTimes.Add(Time(() => Walk(image)));
            if (fls is not null)
            {
                peerTimes.Add(PeerTime(fls, "-r", "-p", image));
            }
        }

        double? prismCold = null, peerCold = null;
        if (cold)
        {
            DropCaches();
            prismCold = Time(() => Walk(image));
            if (fls is not null)
            {
                DropCaches();
                peerCold = PeerTime(fls, "-r", "-p", image);
            }
        }

        double prism = Median(prismTimes);
        double? peer = fls is null ? null : Median(peerTimes);
        double? ratio = peer is double p ? prism / p : null;
        bool pass = (ratio is null || ratio < 1.0) && (prismCold is null || prismCold < 2.0) && (peerCold is null || prismCold < peerCold);
        if (json)
        {
            log.WriteLine(JsonSerializer.Serialize(new
            {
                image,
                entries,
                ranges,
                runs,
                prismSeconds = prismTimes,
                flsSeconds = fls is null ? null : peerTimes,
                prismMedianSeconds = prism,
                flsMedianSeconds = peer,
                ratio,
                prismColdSeconds = prismCold,
                flsColdSeconds = peerCold,
                pass,
            }, s_json));
            return pass ? 0 : 1;
        }

        log.WriteLine($"image {image}: {entries} paths, {ranges} sector-map ranges" + (fls is null ? string.Empty : $"; fls -r -p lists {peerNames} names"));
        log.WriteLine($"prism walk + paths + sector maps (open included), warm: median {Ms(prism)} of {runs} [{string.Join(' ', prismTimes.Select(Ms))}]");
        if (peer is double pm)
        {
            log.WriteLine($"fls -r -p >/dev/null (timed by bash), warm:     median {Ms(pm)} of {runs} [{string.Join(' ', peerTimes.Select(Ms))}]");
            log.WriteLine($"ratio (prism / fls -r -p): {ratio!.Value.ToString("0.00", CultureInfo.InvariantCulture)} (target < 1.00)");
        }

        if (prismCold is double pc)
        {
            log.WriteLine($"cold (page cache dropped): prism {Ms(pc)} (target < 2000 ms)" + (peerCold is double nc ? $", fls -r -p {Ms(nc)}" : string.Empty));
        }

        return pass ? 0 : 1;
    }

    /// <summary>Every path with its sector map: (paths, ranges); every path is looked at.</summary>
    private static (long Entries, long Ranges) Walk(string image)
    {
        using var source = new FileDiskSource(image);
        IGuestVolume volume = Ext4Volume.Open(source, image);
        long entries = 0, ranges = 0, pathChars = 0;
        volume.Visit((in GuestFileView file) =>
        {
            GuestSectorMap map = file.GetSectorMap();
            entries++;
            pathChars += file.Path.Length;
            ranges += map.Metadata.Length;
            for (int i = 0; i < map.StreamCount; i++)
            {
                ranges += map.StreamRanges(i).Length;
            }
        }, onError: e => throw new InvalidOperationException($"{image}: {e}"));

        return pathChars > 0 || entries == 0 ? (entries, ranges) : throw new InvalidOperationException("empty paths");
    }

    // fls -r -p: one line per name; deleted entries (marked '*'), the virtual files ($OrphanFiles, V/V) are not paths.
    private static long CountNames(string output)
    {
        long n = 0;
        foreach (string line in output.Split('\n'))
        {
            int tab = line.IndexOf('\t', StringComparison.Ordinal);
            if (tab < 0)
            {
                continue;
            }

            string head = line[..tab];
            string path = line[(tab + 1)..];
            if (!head.StartsWith("V/V", StringComparison.Ordinal) && !head.Contains('*', StringComparison.Ordinal)
                && !path.StartsWith("$OrphanFiles", StringComparison.Ordinal))
            {
                n++;
            }
        }

        return n;
    }
}
