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
    private GuestWalk(GuestFileSystem fileSystem, long diskOffset, IReadOnlyList<GuestWalkFile> files, IReadOnlyList<ByteRange> metadata,
        IReadOnlyList<ByteRange> replayed, IReadOnlyList<string> errors, object? state)
    {
        FileSystem = fileSystem;
        DiskOffset = diskOffset;
        Files = files;
        Metadata = metadata;
        Replayed = replayed;
        Errors = errors;
        State = state;
    }

    /// <summary>The walked volume's file system.</summary>
    public GuestFileSystem FileSystem { get; }

    /// <summary>The walked volume's disk offset.</summary>
    public long DiskOffset { get; }

    /// <summary>Every visited path, in walk order.</summary>
    public IReadOnlyList<GuestWalkFile> Files { get; }

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

        /// <summary>The walk.</summary>
        public GuestWalk Build() => new(_volume.FileSystem, _volume.DiskOffset, _files, ByteRanges.Coalesce(_metadata),
            [.. _volume.ReplayedRanges], [.. _errors], State);
    }
}
