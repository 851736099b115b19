using Prism.Disks.Vhdx;
using Prism.Scanner.Fleet;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Scanner.Tests.Fleet;

/// <summary>
/// What the golden fleets (<see cref="GoldenFleetFixture"/> on NTFS, <see cref="Ext4FleetFixture"/> on ext4) share: the
/// planted signature payloads and their database, the golden VHDX, clones built by letting a "guest" change a copy of
/// a volume and writing only the changed sectors into a differencing child, and a per-disk cache of the clamscan oracle.
/// </summary>
public abstract class FleetFixture : IDisposable
{
    private readonly Dictionary<string, string> _volumes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Hit>> _oracle = new(StringComparer.Ordinal);

    /// <summary>Whether the golden and all its clones were built.</summary>
    public bool Built { get; protected set; }

    public string GoldenPath { get; protected set; } = "";

    public string DatabaseDirectory { get; protected set; } = "";

    public string[] Databases { get; protected set; } = [];

    public byte[] Eicar { get; protected set; } = [];

    public byte[] Wild { get; protected set; } = [];

    public byte[] Plain { get; protected set; } = [];

    public byte[] HashedMd5 { get; protected set; } = [];

    public byte[] HashedSha { get; protected set; } = [];

    /// <summary>Clone name → VHDX path, in build order.</summary>
    public List<(string Name, string Path)> Clones { get; } = [];

    public string[] ClonePaths => [.. Clones.Select(c => c.Path)];

    /// <summary>
    /// The fleet scan (the golden, then the clones inheriting its verdicts) and the --full scan (every clone read whole)
    /// of the golden and its clones with <paramref name="engine"/>.
    /// </summary>
    public async Task<(FleetReport Fleet, FleetReport Full)> ScanFleetAndFullAsync(IScanEngine engine) =>
        (await new FleetScanner(engine).ScanAsync(GoldenPath, ClonePaths),
            await new FleetScanner(engine, new FleetScanOptions { Full = true }).ScanAsync(GoldenPath, ClonePaths));

    /// <summary>
    /// Per clone: neither scan has errors, the fleet and the --full findings both equal the <paramref name="oracle"/>'s,
    /// and the fleet scan read no more than --full. Returns the oracle's hits per clone, in clone order.
    /// </summary>
    internal List<HashSet<Hit>> AssertClonesMatchOracle(FleetReport fleet, FleetReport full, Func<string, HashSet<Hit>> oracle, ITestOutputHelper output)
    {
        var hits = new List<HashSet<Hit>>();
        for (int i = 0; i < Clones.Count; i++)
        {
            (string name, string path) = Clones[i];
            DiskReport f = fleet.Clones[i];
            DiskReport u = full.Clones[i];
            Assert.Empty(f.Errors);
            Assert.Empty(u.Errors);
            HashSet<Hit> expected = oracle(path);
            FleetDisks.AssertSame(expected, FleetDisks.Hits(u), $"{name}: --full vs clamscan");
            FleetDisks.AssertSame(expected, FleetDisks.Hits(f), $"{name}: fleet vs clamscan");
            Assert.True(f.BytesRead <= u.BytesRead, $"{name}: fleet read {f.BytesRead} > full {u.BytesRead}");
            output.WriteLine($"{name,-16} findings {f.Findings.Count,2} fleet read {f.BytesRead,11:N0} inherited {f.BytesInherited,11:N0} "
                + $"scanned {f.StreamsScanned,3} reused {f.StreamsInherited,3} divergent {f.DivergentBytes,10:N0} | full read {u.BytesRead,11:N0} "
                + $"| {string.Join("; ", f.Volumes)}");
            hits.Add(expected);
        }

        return hits;
    }

    /// <summary>Where the fixture builds (removed on dispose).</summary>
    protected TempDir Dir { get; } = new();

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            Dir.Dispose();
        }
    }

    /// <summary><paramref name="data"/> with <paramref name="pattern"/> copied in at <paramref name="at"/>.</summary>
    protected static byte[] Embed(byte[] data, byte[] pattern, int at)
    {
        pattern.CopyTo(data, at);
        return data;
    }

    /// <summary>Records <paramref name="volume"/> (a file of the fixture) as the golden's volume, the base of clones.</summary>
    protected void SetGoldenVolume(string volume) => _volumes["golden"] = volume;

    /// <summary>
    /// Copies the volume of <paramref name="baseName"/> ("golden" or an earlier clone kept with
    /// <paramref name="keepVolume"/>), lets the "guest" change it (volume file, scratch directory), and writes only the
    /// changed sectors into a new differencing child of the base's VHDX, added to <see cref="Clones"/>.
    /// </summary>
    protected void AddClone(string name, string baseName, Action<string, string> guest, bool keepVolume = true)
    {
        string volume = Dir.File(name + ".vol");
        FleetDisks.SparseCopy(_volumes[baseName], volume);
        guest(volume, Dir.Path);
        string baseVhdx = baseName == "golden" ? GoldenPath : Clones.Single(c => c.Name == baseName).Path;
        string vhdx = Dir.File(name + ".vhdx");
        VhdxDisk.CreateDifferencing(vhdx, baseVhdx);
        FleetDisks.WriteDivergence(vhdx, _volumes[baseName], volume);
        if (keepVolume)
        {
            _volumes[name] = volume;
        }
        else
        {
            File.Delete(volume);
        }

        Clones.Add((name, vhdx));
    }

    /// <summary>
    /// The oracle's hits for <paramref name="vhdx"/>, computed once per <paramref name="key"/> by
    /// <paramref name="scan"/> over a flattened copy of the disk's volume (deleted afterwards).
    /// </summary>
    private protected HashSet<Hit> CachedOracle(string vhdx, string key, Func<string, HashSet<Hit>> scan)
    {
        lock (_oracle)
        {
            if (!_oracle.TryGetValue(key, out HashSet<Hit>? hits))
            {
                string volume = FleetDisks.ExtractVolume(vhdx, Dir.Path);
                try
                {
                    _oracle[key] = hits = scan(volume);
                }
                finally
                {
                    File.Delete(volume);
                }
            }

            return hits;
        }
    }
}
