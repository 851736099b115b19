using Prism.Disks.IO;

namespace Prism.Scanner.Fleet;

/// <summary>One detection in a disk: a file stream (or raw region) and the signature that matched it.</summary>
/// <param name="Path">Path from the volume root with '/' separators (prefixed by the volume when a disk has several),
/// or "$raw@0x..." for space no file system claims.</param>
/// <param name="Stream">Alternate data stream name, or null for the unnamed data stream.</param>
/// <param name="Signature">Signature name.</param>
/// <param name="Offset">Offset of the match inside the stream, when the engine reports it.</param>
/// <param name="Partition">Partition number of the volume (0 when the disk has no partition table or for raw space).</param>
public sealed record Finding(string Path, string? Stream, string Signature, long? Offset, int Partition)
{
    /// <summary>For a raw finding, the virtual disk offset of the match (the unit's start plus <see cref="Offset"/>), when known.</summary>
    public long? DiskOffset { get; init; }
}

/// <summary>What a scan of one disk found and what it cost.</summary>
public sealed class DiskReport
{
    /// <summary>The disk's path.</summary>
    public required string Path { get; init; }

    /// <summary>Findings, sorted by path, stream, signature.</summary>
    public IReadOnlyList<Finding> Findings { get; init; } = [];

    /// <summary>Bytes read through the disk (metadata and content).</summary>
    public long BytesRead { get; init; }

    /// <summary>Bytes of file streams and raw regions whose verdict came from the parent without being read.</summary>
    public long BytesInherited { get; init; }

    /// <summary>Wall-clock seconds.</summary>
    public double Seconds { get; init; }

    /// <summary>Files or structures that could not be scanned (reported, never silently skipped).</summary>
    public IReadOnlyList<string> Errors { get; init; } = [];

    /// <summary>True when the disk was not scanned because its DataWriteGuid and the signatures are unchanged since a clean scan.</summary>
    public bool Cached { get; init; }

    /// <summary>Number of file streams scanned (read) in this disk.</summary>
    public int StreamsScanned { get; init; }

    /// <summary>Number of file streams whose verdict was inherited.</summary>
    public int StreamsInherited { get; init; }

    /// <summary>Bytes of this disk's own divergent ranges (layers above the shared parent).</summary>
    public long DivergentBytes { get; init; }

    /// <summary>
    /// One line per partition (or unpartitioned volume): the file system found and how it was read ("partition 1: ext4,
    /// full walk", "partition 2: XFS (not supported: scanned raw)"). Empty for a report from the store.
    /// </summary>
    public IReadOnlyList<string> Volumes { get; init; } = [];
}

/// <summary>Result of a fleet scan.</summary>
public sealed class FleetReport
{
    /// <summary>The shared parent (not scanned in --full mode).</summary>
    public required DiskReport Parent { get; init; }

    /// <summary>True when the parent's verdicts came from the verdict store.</summary>
    public bool ParentFromStore { get; init; }

    /// <summary>One report per clone, in the order given.</summary>
    public required IReadOnlyList<DiskReport> Clones { get; init; }

    /// <summary>"fleet" or "full".</summary>
    public required string Mode { get; init; }

    /// <summary>Engine name.</summary>
    public required string Engine { get; init; }

    /// <summary>Total wall-clock seconds.</summary>
    public double Seconds { get; init; }
}

/// <summary>Progress of a fleet scan (for progress bars).</summary>
/// <param name="Stage">What is being scanned.</param>
/// <param name="Done">Disks finished.</param>
/// <param name="Total">Disks in all.</param>
/// <param name="BytesRead">Bytes read so far.</param>
public readonly record struct FleetProgress(string Stage, int Done, int Total, long BytesRead);

/// <summary>The verdict of one file stream of the parent: reused by clones whose copy of it did not change.</summary>
internal sealed record StreamVerdict(long Size, IReadOnlyList<EngineHit> Hits);

/// <summary>
/// Key of a file stream: volume (by its disk offset), identity (MFT record or inode) and its reuse counter (sequence
/// number or i_generation), stream name.
/// </summary>
internal readonly record struct StreamKey(long Volume, long Record, uint Sequence, string Stream);

/// <summary>A raw unit (allocated space no file system claims) and what it matched.</summary>
internal sealed record RawVerdict(ByteRange Range, IReadOnlyList<EngineHit> Hits);

/// <summary>
/// A parent volume's walk (file list, sector maps, the metadata it depends on). The clone's volume decides from it and
/// the clone's divergence (<see cref="Disks.Guest.IGuestVolume.PatchWalk"/>) whether its own walk can be skipped.
/// </summary>
internal sealed record VolumeBaseline(int Number, Disks.Guest.GuestWalk Walk)
{
    private Dictionary<StreamKey, Disks.Guest.GuestWalkStream>? _streams;

    /// <summary>The walk's streams by key (built on first use): what a patched walk's stream is compared with.</summary>
    public IReadOnlyDictionary<StreamKey, Disks.Guest.GuestWalkStream> Streams => LazyInitializer.EnsureInitialized(ref _streams, () =>
    {
        var streams = new Dictionary<StreamKey, Disks.Guest.GuestWalkStream>();
        foreach (Disks.Guest.GuestWalkFile f in Walk.Files)
        {
            foreach (Disks.Guest.GuestWalkStream s in f.Streams)
            {
                streams.TryAdd(new StreamKey(Walk.DiskOffset, f.Id, f.Generation, s.Name), s);
            }
        }

        return streams;
    });

    private WalkIndex? _index;

    /// <summary>
    /// The walk's index for clones whose walk derives from it (built on first use, with the baseline of the fleet run;
    /// one baseline per run, so one index).
    /// </summary>
    public WalkIndex Index(Baseline baseline) => LazyInitializer.EnsureInitialized(ref _index, () => new WalkIndex(Walk, baseline));

    /// <summary>
    /// What a clone's scan needs of the parent's walk to look only at what changed: every file's metadata and content
    /// ranges (tagged with the file's index), the files of each identity, the streams that inherit (those with the
    /// parent's verdict at their size; per identity and in all) and the files with a stream whose verdict has hits.
    /// </summary>
    internal sealed class WalkIndex
    {
        private readonly Dictionary<long, int> _file = [];
        private readonly Dictionary<long, List<int>> _moreFiles = [];
        private readonly Dictionary<long, (int Count, long Bytes)> _inheritable = [];

        public WalkIndex(Disks.Guest.GuestWalk walk, Baseline baseline)
        {
            var ranges = new List<(ByteRange, int)>();
            var seen = new HashSet<StreamKey>();
            for (int i = 0; i < walk.Files.Count; i++)
            {
                Disks.Guest.GuestWalkFile f = walk.Files[i];
                if (_moreFiles.TryGetValue(f.Id, out List<int>? more))
                {
                    more.Add(i);
                }
                else if (_file.Remove(f.Id, out int first))
                {
                    _moreFiles[f.Id] = [first, i];
                }
                else
                {
                    _file[f.Id] = i;
                }

                foreach (ByteRange r in f.Metadata)
                {
                    ranges.Add((r, i));
                }

                bool hits = false;
                foreach (Disks.Guest.GuestWalkStream s in f.Streams)
                {
                    foreach (ByteRange r in s.Content)
                    {
                        ranges.Add((r, i));
                    }

                    // Every name of a hard-linked file with hits gets its line; its streams count once.
                    var key = new StreamKey(walk.DiskOffset, f.Id, f.Generation, s.Name);
                    bool settled = baseline.Streams.TryGetValue(key, out StreamVerdict? verdict) && verdict.Size == s.Size;
                    hits |= settled && verdict!.Hits.Count > 0;
                    if (!seen.Add(key))
                    {
                        continue;
                    }

                    if (settled)
                    {
                        (int count, long bytes) = _inheritable.GetValueOrDefault(f.Id);
                        _inheritable[f.Id] = (count + 1, bytes + s.Size);
                        Streams++;
                        Bytes += s.Size;
                    }
                    else
                    {
                        Unsettled.Add(f.Id);
                    }
                }

                if (hits)
                {
                    WithHits.Add(i);
                }
            }

            Ranges = new ByteRangeIndex(ranges);
        }

        /// <summary>Every file's metadata and stream content ranges, tagged with the file's index in the walk.</summary>
        public ByteRangeIndex Ranges { get; }

        /// <summary>Identities with a stream the parent has no verdict for (at its size): always decided one by one.</summary>
        public HashSet<long> Unsettled { get; } = [];

        /// <summary>The files with a stream whose verdict has hits.</summary>
        public List<int> WithHits { get; } = [];

        /// <summary>Streams (distinct) that inherit when untouched, and their bytes.</summary>
        public int Streams { get; }

        public long Bytes { get; }

        /// <summary>The inheriting streams of one identity, and their bytes.</summary>
        public (int Count, long Bytes) InheritableOf(long id) => _inheritable.GetValueOrDefault(id);

        /// <summary>The indexes of the files of one identity.</summary>
        public IEnumerable<int> FilesOf(long id) =>
            _file.TryGetValue(id, out int at) ? [at] : _moreFiles.TryGetValue(id, out List<int>? more) ? more : [];
    }
}

/// <summary>Everything a clone needs from its parent's scan.</summary>
internal sealed class Baseline
{
    public Dictionary<StreamKey, StreamVerdict> Streams { get; } = [];

    public List<RawVerdict> Raw { get; } = [];

    /// <summary>Per volume (by its disk offset); from the store's parent walks when the baseline came from the store (absent when none was kept).</summary>
    public Dictionary<long, VolumeBaseline> Volumes { get; } = [];

    /// <summary>Per volume (by its disk offset): the blocks the parent's journal replay rewrote (stored with the verdicts).</summary>
    public Dictionary<long, IReadOnlyList<ByteRange>> Replayed { get; } = [];
}
