using Prism.Disks.IO;

namespace Prism.Disks.Guest;

/// <summary>One stream of a walked file: its size and where its content lies.</summary>
/// <param name="Name">Stream name; empty for the unnamed stream.</param>
/// <param name="Size">Logical size.</param>
/// <param name="IsResident">True when the content lies inside the file's record (then <paramref name="Content"/> is there).</param>
/// <param name="Content">Disk ranges of the content (as <see cref="GuestSectorMap.StreamRanges"/>).</param>
public sealed record GuestWalkStream(string Name, long Size, bool IsResident, IReadOnlyList<ByteRange> Content);

/// <summary>One path of a walk, kept: identity, type, own metadata and streams.</summary>
/// <param name="Path">Path from the volume root.</param>
/// <param name="Id">MFT record or inode number.</param>
/// <param name="Generation">Sequence number or i_generation.</param>
/// <param name="Type">What the path names.</param>
/// <param name="Size">Size of the unnamed stream or content.</param>
/// <param name="Metadata">The file's own metadata ranges (as <see cref="GuestSectorMap.Metadata"/>).</param>
/// <param name="NameRange">The directory block holding the name (ext), else empty.</param>
/// <param name="Streams">Its content streams.</param>
public sealed record GuestWalkFile(string Path, long Id, uint Generation, GuestFileType Type, long Size, IReadOnlyList<ByteRange> Metadata,
    ByteRange NameRange, IReadOnlyList<GuestWalkStream> Streams);

/// <summary>What <see cref="IGuestVolume.PatchWalk"/> decided for a clone.</summary>
/// <param name="Walk">The clone's walk (the parent's, or patched), or null when a full walk is needed.</param>
/// <param name="Reason">Why a full walk is needed, or how the walk was obtained (for the clone's report).</param>
public sealed record GuestWalkResult(GuestWalk? Walk, string Reason);

/// <summary>
/// A complete walk of one volume kept in memory: every path with identity, metadata and stream sector maps, and the
/// union of all the metadata it depends on. A clone's walk starts from its parent's (<see cref="IGuestVolume.PatchWalk"/>).
/// Immutable.
/// </summary>
public sealed partial class GuestWalk
{
    private IReadOnlyList<GuestWalkFile>? _files;

    private GuestWalk(GuestFileSystem fileSystem, long diskOffset, IReadOnlyList<GuestWalkFile>? files, IReadOnlyList<ByteRange> metadata,
        IReadOnlyList<ByteRange> replayed, IReadOnlyList<string> errors, object? state)
    {
        FileSystem = fileSystem;
        DiskOffset = diskOffset;
        _files = files;
        Metadata = metadata;
        Replayed = replayed;
        Errors = errors;
        State = state;
    }

    /// <summary>The walked volume's file system.</summary>
    public GuestFileSystem FileSystem { get; }

    /// <summary>The walked volume's disk offset.</summary>
    public long DiskOffset { get; }

    /// <summary>Every visited path, in walk order (for a derived walk, made from its <see cref="Base"/>'s on first use).</summary>
    public IReadOnlyList<GuestWalkFile> Files => _files ?? LazyInitializer.EnsureInitialized(ref _files, Merge);

    /// <summary>
    /// The walk this one was derived from (<see cref="Derive"/>: a clone's walk patched from its parent's), or null for a
    /// whole walk. Then <see cref="Removed"/> and <see cref="Added"/> say how the two file lists differ, and every other
    /// file is the same <see cref="GuestWalkFile"/> object in both: what did not change costs nothing to compare.
    /// </summary>
    public GuestWalk? Base { get; private init; }

    /// <summary>For a derived walk, the indexes in the <see cref="Base"/>'s <see cref="Files"/> of the files it no longer lists (ascending).</summary>
    public IReadOnlyList<int> Removed { get; private init; } = [];

    /// <summary>For a derived walk, the files it lists that its <see cref="Base"/> does not (new ones, and new versions of removed ones).</summary>
    public IReadOnlyList<GuestWalkFile> Added { get; private init; } = [];

    // Per added file, the index in the base's Files it is listed before (non-decreasing).
    private IReadOnlyList<int> AddedPositions { get; init; } = [];

    /// <summary>
    /// Sorted, coalesced union of the volume's <see cref="IGuestVolume.MetadataRanges"/>, every file's metadata and every
    /// name's directory block: a clone that changed none of it has the same paths, identities and sector maps.
    /// </summary>
    public IReadOnlyList<ByteRange> Metadata { get; }

    /// <summary>The volume's <see cref="IGuestVolume.ReplayedRanges"/> at the time of the walk.</summary>
    public IReadOnlyList<ByteRange> Replayed { get; }

    /// <summary>Entries the walk could not read (one line each): a reused walk reports them again.</summary>
    public IReadOnlyList<string> Errors { get; }

    /// <summary>
    /// What the file system keeps of the walk to patch it for a clone (NTFS: the <see cref="Ntfs.NtfsWalkSnapshot"/> with
    /// the directory index structure), or null: then <see cref="IGuestVolume.PatchWalk"/> can only reuse the walk whole.
    /// </summary>
    public object? State { get; }

    /// <summary>
    /// A walk of <paramref name="volume"/> that is <paramref name="parent"/>'s but for some files: the parent's list without
    /// those at <paramref name="removed"/>, with each of <paramref name="added"/> listed before the parent's file at the
    /// same index of <paramref name="positions"/> (the parent's count for the end). Nothing is copied: the list is made on
    /// first use of <see cref="Files"/>. <see cref="Metadata"/> is the parent's with the volume's and the added files' own
    /// (it may still hold ranges of removed files: it errs on the side of "metadata diverged").
    /// </summary>
    /// <param name="volume">The walked volume (a clone of the parent's).</param>
    /// <param name="parent">The walk this one derives from.</param>
    /// <param name="removed">Indexes in the parent's <see cref="Files"/>, ascending, distinct.</param>
    /// <param name="added">The files that are not the parent's, in walk order.</param>
    /// <param name="positions">Per added file, where it goes: non-decreasing indexes in [0, parent's count].</param>
    /// <param name="errors">Entries the walk could not read.</param>
    /// <param name="state">The file system's state of the walk (<see cref="State"/>).</param>
    /// <exception cref="ArgumentException">The removed indexes or positions are out of order or out of range.</exception>
    public static GuestWalk Derive(IGuestVolume volume, GuestWalk parent, IReadOnlyList<int> removed, IReadOnlyList<GuestWalkFile> added,
        IReadOnlyList<int> positions, IEnumerable<string> errors, object? state)
    {
        ArgumentNullException.ThrowIfNull(volume);
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(removed);
        ArgumentNullException.ThrowIfNull(added);
        ArgumentNullException.ThrowIfNull(positions);
        ArgumentNullException.ThrowIfNull(errors);
        int count = parent.Files.Count;
        for (int i = 0; i < removed.Count; i++)
        {
            if (removed[i] < 0 || removed[i] >= count || (i > 0 && removed[i] <= removed[i - 1]))
            {
                throw new ArgumentException($"removed index {removed[i]} (at {i}) is out of order or outside [0, {count})", nameof(removed));
            }
        }

        if (positions.Count != added.Count)
        {
            throw new ArgumentException($"{positions.Count} positions for {added.Count} added files", nameof(positions));
        }

        for (int i = 0; i < positions.Count; i++)
        {
            if (positions[i] < 0 || positions[i] > count || (i > 0 && positions[i] < positions[i - 1]))
            {
                throw new ArgumentException($"position {positions[i]} (at {i}) is out of order or outside [0, {count}]", nameof(positions));
            }
        }

        var metadata = new List<ByteRange>(parent.Metadata);
        metadata.AddRange(volume.MetadataRanges);
        foreach (GuestWalkFile f in added)
        {
            metadata.AddRange(f.Metadata);
            if (f.NameRange.Length > 0)
            {
                metadata.Add(f.NameRange);
            }
        }

        return Derived(volume, parent, removed, added, positions, errors, state, ByteRanges.Coalesce(metadata));
    }

    // A derived walk with the metadata given (sorted, coalesced).
    private static GuestWalk Derived(IGuestVolume volume, GuestWalk parent, IReadOnlyList<int> removed, IReadOnlyList<GuestWalkFile> added,
        IReadOnlyList<int> positions, IEnumerable<string> errors, object? state, IReadOnlyList<ByteRange> metadata) =>
        new(volume.FileSystem, volume.DiskOffset, null, metadata, [.. volume.ReplayedRanges], [.. errors], state)
        {
            Base = parent,
            Removed = [.. removed],
            Added = [.. added],
            AddedPositions = [.. positions],
        };

    // A derived walk's file list: the base's, less the removed, with the added in their places.
    private GuestWalkFile[] Merge()
    {
        IReadOnlyList<GuestWalkFile> before = Base!.Files;
        var files = new GuestWalkFile[before.Count - Removed.Count + Added.Count];
        int n = 0, a = 0, r = 0;
        for (int i = 0; i <= before.Count; i++)
        {
            while (a < Added.Count && AddedPositions[a] == i)
            {
                files[n++] = Added[a++];
            }

            if (i == before.Count)
            {
                break;
            }

            if (r < Removed.Count && Removed[r] == i)
            {
                r++;
                continue;
            }

            files[n++] = before[i];
        }

        return files;
    }

    /// <summary>The default <see cref="IGuestVolume.PatchWalk"/>: the parent's walk when none of its metadata diverged, else a full walk.</summary>
    public static GuestWalkResult ReuseUnlessTouched(IGuestVolume volume, GuestWalk parent, IReadOnlyList<ByteRange> divergent)
    {
        ArgumentNullException.ThrowIfNull(volume);
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(divergent);
        if (parent.FileSystem != volume.FileSystem || parent.DiskOffset != volume.DiskOffset)
        {
            return new GuestWalkResult(null, "full walk: the parent's volume differs");
        }

        if (!SameRanges(parent.Replayed, volume.ReplayedRanges))
        {
            return new GuestWalkResult(null, "full walk: the journal replay differs from the parent's");
        }

        if (ByteRanges.Touches(parent.Metadata, divergent))
        {
            return new GuestWalkResult(null, "full walk: file-system metadata diverged");
        }

        return new GuestWalkResult(parent, "walk reused: no metadata diverged");
    }

    private static bool SameRanges(IReadOnlyList<ByteRange> a, IReadOnlyList<ByteRange> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        for (int i = 0; i < a.Count; i++)
        {
            if (a[i] != b[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Collects a walk from the views of a <see cref="IGuestVolume.Visit"/> over the whole volume.</summary>
    public sealed class Builder
    {
        private readonly IGuestVolume _volume;
        private readonly GuestWalk? _parent;
        private readonly List<GuestWalkFile> _files = [];
        private readonly List<ByteRange> _metadata;
        private readonly List<string> _errors = [];

        /// <summary>Starts a walk of <paramref name="volume"/>.</summary>
        public Builder(IGuestVolume volume)
        {
            ArgumentNullException.ThrowIfNull(volume);
            _volume = volume;
            _metadata = [.. volume.MetadataRanges];
        }

        /// <summary>
        /// Starts a walk of <paramref name="volume"/> that takes files of <paramref name="parent"/>'s as they are (a clone's
        /// walk patched from its parent's, <see cref="Add(GuestWalkFile)"/>): when the parent's files it takes come in the
        /// parent's order, <see cref="Build"/> gives a walk derived from the parent's (<see cref="Derive"/>), whose
        /// unchanged files a clone's scan does not look at one by one.
        /// </summary>
        public Builder(IGuestVolume volume, GuestWalk parent)
            : this(volume)
        {
            ArgumentNullException.ThrowIfNull(parent);
            _parent = parent;
        }

        /// <summary>Adds a visited path. <paramref name="map"/> is the view's sector map (<see cref="GuestFileView.GetSectorMap"/>).</summary>
        public void Add(in GuestFileView file, GuestSectorMap map, string? path = null)
        {
            var streams = new GuestWalkStream[file.StreamCount];
            for (int i = 0; i < streams.Length; i++)
            {
                streams[i] = new GuestWalkStream(file.StreamName(i), file.StreamSize(i), file.IsStreamResident(i), map.StreamRanges(i).ToArray());
            }

            ByteRange[] metadata = map.Metadata.ToArray();
            _metadata.AddRange(metadata);
            ByteRange name = file.NameRange;
            if (name.Length > 0)
            {
                _metadata.Add(name);
            }

            _files.Add(new GuestWalkFile(path ?? file.Path.ToString(), file.Id, file.Generation, file.Type, file.Size, metadata, name, streams));
        }

        /// <summary>Adds a path kept from another walk (a clone's walk patched from its parent's): its metadata and name range count as the view's do.</summary>
        public void Add(GuestWalkFile file)
        {
            ArgumentNullException.ThrowIfNull(file);
            _metadata.AddRange(file.Metadata);
            if (file.NameRange.Length > 0)
            {
                _metadata.Add(file.NameRange);
            }

            _files.Add(file);
        }

        /// <summary>Records an entry the walk could not read.</summary>
        public void AddError(string error) => _errors.Add(error);

        /// <summary>The file-system-specific state the walk keeps (<see cref="GuestWalk.State"/>); null by default.</summary>
        public object? State { get; set; }

        /// <summary>The walk (derived from the parent's when the builder has one and its files came in its order).</summary>
        public GuestWalk Build()
        {
            if (_parent is not null && TryDerive() is GuestWalk derived)
            {
                return derived;
            }

            return new(_volume.FileSystem, _volume.DiskOffset, _files, ByteRanges.Coalesce(_metadata), [.. _volume.ReplayedRanges], [.. _errors], State);
        }

        // The walk as the parent's less the files not taken, with the others added where they came; null when the parent's
        // files were taken out of order or twice.
        private GuestWalk? TryDerive()
        {
            GuestWalk parent = _parent!;
            Dictionary<GuestWalkFile, int> indexes = Positions.GetValue(parent, static p =>
            {
                var map = new Dictionary<GuestWalkFile, int>(p.Files.Count, ReferenceEqualityComparer.Instance);
                for (int i = 0; i < p.Files.Count; i++)
                {
                    map.TryAdd(p.Files[i], i);
                }

                return map;
            });
            var removed = new List<int>();
            var added = new List<GuestWalkFile>();
            var positions = new List<int>();
            int next = 0;
            foreach (GuestWalkFile f in _files)
            {
                if (indexes.TryGetValue(f, out int at))
                {
                    if (at < next)
                    {
                        return null;
                    }

                    for (; next < at; next++)
                    {
                        removed.Add(next);
                    }

                    next = at + 1;
                }
                else
                {
                    added.Add(f);
                    positions.Add(next);
                }
            }

            for (; next < parent.Files.Count; next++)
            {
                removed.Add(next);
            }

            // The metadata is the builder's, every file's it was given: exactly what a whole walk's builder collects.
            return Derived(_volume, parent, removed, added, positions, _errors, State, ByteRanges.Coalesce(_metadata));
        }
    }

    // Per parent walk, the index of each of its files (by reference): built once, for every clone's builder.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<GuestWalk, Dictionary<GuestWalkFile, int>> Positions = [];
}
