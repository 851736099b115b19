using BenchmarkDotNet.Attributes;
using Prism.Disks.IO;
using Prism.Disks.Ntfs;

namespace Prism.Benchmarks;

/// <summary>
/// NTFS enumeration with sector maps, and bulk reads of a large file, over a raw image named by PRISM_NTFS_BENCH_IMAGE
/// (a volume with many files and a large "/large.bin"; building one takes a minute through ntfs-3g, see the ntfs branch report).
/// Run: PRISM_NTFS_BENCH_IMAGE=/path/img dotnet run -c Release --project tests/Prism.Benchmarks -- --filter '*Ntfs*'
/// </summary>
[MemoryDiagnoser]
public class NtfsBenchmarks
{
    private FileDiskSource? _source;
    private NtfsVolume? _volume;
    private IDiskSource? _large;
    private byte[] _buffer = [];

    [GlobalSetup]
    public void Setup()
    {
        string image = Environment.GetEnvironmentVariable("PRISM_NTFS_BENCH_IMAGE")
            ?? throw new InvalidOperationException("set PRISM_NTFS_BENCH_IMAGE to a raw NTFS image");
        _source = new FileDiskSource(image);
        _volume = NtfsVolume.Open(_source, image);
        NtfsFileEntry? large = _volume.Find("/large.bin");
        _large = large is null ? null : _volume.OpenStream(large);
        _buffer = new byte[1024 * 1024];
    }

    [GlobalCleanup]
    public void Cleanup() => _source?.Dispose();

    /// <summary>Open the volume, walk every directory index and compute every file's sector map.</summary>
    [Benchmark]
    public long EnumerateWithSectorMaps()
    {
        NtfsVolume volume = NtfsVolume.Open(_source!, "bench");
        long ranges = 0;
        foreach (NtfsFileEntry e in volume.Enumerate())
        {
            NtfsFileExtents x = volume.GetExtents(e);
            ranges += x.MftRecords.Count;
            foreach (NtfsStreamExtents s in x.Streams)
            {
                ranges += s.Ranges.Count;
            }
        }

        return ranges;
    }

    /// <summary>Open the volume, visit every file with its path and sector map, no object per file (what the fleet scanner does).</summary>
    [Benchmark]
    public long VisitWithSectorMaps()
    {
        NtfsVolume volume = NtfsVolume.Open(_source!, "bench");
        long ranges = 0;
        volume.Visit((in NtfsFileView file) =>
        {
            NtfsSectorMap map = file.GetSectorMap();
            ranges += map.MftRecords.Length + file.Path.Length;
            for (int i = 0; i < map.StreamCount; i++)
            {
                ranges += map.StreamRanges(i).Length;
            }
        });

        return ranges;
    }

    /// <summary>Read /large.bin in 1 MiB blocks.</summary>
    [Benchmark]
    public long ReadLargeFile()
    {
        if (_large is null)
        {
            return 0;
        }

        long total = 0;
        for (long pos = 0; pos < _large.Length; pos += _buffer.Length)
        {
            total += _large.Read(_buffer, pos);
        }

        return total;
    }
}
