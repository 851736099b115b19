using Prism.Disks.IO;

namespace Prism.Disks.Guest;

/// <summary>What changed for one path between a base disk and a clone.</summary>
public enum GuestChangeKind
{
    /// <summary>The path (or a named stream) exists only in the clone.</summary>
    Added = 0,

    /// <summary>The path (or a named stream) exists only in the base.</summary>
    Deleted,

    /// <summary>Same file, content differs (an identical rewrite is not a modification).</summary>
    Modified,

    /// <summary>Same file (MFT record or inode with its generation), new path.</summary>
    Renamed,

    /// <summary>Same file, same path and content; its record or inode (times, permissions, ...) changed.</summary>
    Metadata,
}

/// <summary>One change.</summary>
/// <param name="Change">What changed.</param>
/// <param name="Path">The path in the clone (in the base for deletions).</param>
/// <param name="OldPath">The base path of a renamed file.</param>
/// <param name="Stream">The named stream concerned (NTFS), or null for the file itself.</param>
/// <param name="Size">Size in the clone (in the base for deletions).</param>
/// <param name="Partition">Partition number of the volume (0 for an unpartitioned disk).</param>
public sealed record GuestChange(GuestChangeKind Change, string Path, string? OldPath, string? Stream, long Size, int Partition);

/// <summary>
/// The files a clone added, deleted, modified, renamed or changed only in metadata relative to a base (its golden or any
/// ancestor, or any disk with the same volumes), per volume, through <see cref="IGuestVolume"/> only. The base is walked;
/// the clone's walk is the base's patched from the divergence (<see cref="IGuestVolume.PatchWalk"/>) where its file
/// system can, so the clone's reads are its divergent metadata and the content of the files that changed. Content is compared
/// by sector maps first: a stream whose ranges and own metadata are the same and lie outside the divergence is the same
/// without being read; otherwise both are read and compared byte by byte.
/// </summary>
public static class GuestDiff
{
    /// <summary>Compares the volumes of <paramref name="baseDisk"/> and <paramref name="clone"/> that lie at the same offsets.</summary>
    /// <param name="baseDisk">The base (an ancestor of the clone, usually).</param>
    /// <param name="clone">The clone.</param>
    /// <param name="divergent">Sorted, coalesced ranges where the clone's bytes may differ from the base's (the whole disk when unknown).</param>
    /// <param name="errors">Receives entries that could not be read (they are reported, never silently dropped).</param>
    /// <param name="cancellationToken">Checked once per file.</param>
    /// <returns>Changes sorted by partition, path, stream.</returns>
    public static IReadOnlyList<GuestChange> Compare(IDiskSource baseDisk, IDiskSource clone, IReadOnlyList<ByteRange> divergent,
        Action<string>? errors = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(baseDisk);
        ArgumentNullException.ThrowIfNull(clone);
        ArgumentNullException.ThrowIfNull(divergent);
        var changes = new List<GuestChange>();
        GuestDisk a = GuestDisk.Open(baseDisk, "base");
        GuestDisk b = GuestDisk.Open(clone, "clone");
        foreach (GuestPartition pb in b.Partitions)
        {
            GuestPartition? pa = a.Partitions.FirstOrDefault(p => p.Offset == pb.Offset && p.Number == pb.Number);
            if (pb.Volume is null || pa?.Volume is null || pa.Volume.FileSystem != pb.Volume.FileSystem)
            {
                if (pb.Volume is not null || pa?.Volume is not null)
                {
                    errors?.Invoke($"partition {pb.Number}: base {pa?.ToString() ?? "absent"}, clone {pb}: not compared file by file");
                }

                continue;
            }

            CompareVolume(pa.Volume, pb.Volume, pb.Number, divergent, changes, errors, cancellationToken);
        }

        changes.Sort((x, y) => x.Partition != y.Partition ? x.Partition.CompareTo(y.Partition)
            : string.CompareOrdinal(x.Path, y.Path) is int c && c != 0 ? c
            : string.CompareOrdinal(x.Stream, y.Stream) is int s && s != 0 ? s : x.Change.CompareTo(y.Change));
        return changes;
    }

    private static GuestWalk Walk(IGuestVolume volume, int number, Action<string>? errors, CancellationToken cancellationToken)
    {
        var builder = new GuestWalk.Builder(volume);
        volume.Visit((in GuestFileView f) =>
        {
            GuestSectorMap map;
            try
            {
                map = f.GetSectorMap();
            }
            catch (Exception e) when (e is Errors.DiskFormatException or IOException or InvalidDataException)
            {
                errors?.Invoke($"partition {number}: {f.Path}: {e.Message}");
                return;
            }

            builder.Add(f, map);
        }, "/", recursive: true, e => errors?.Invoke($"partition {number}: {e}"), cancellationToken);
        return builder.Build();
    }

    private static void CompareVolume(IGuestVolume a, IGuestVolume b, int number, IReadOnlyList<ByteRange> divergent, List<GuestChange> changes,
        Action<string>? errors, CancellationToken cancellationToken)
    {
        GuestWalk wa = Walk(a, number, errors, cancellationToken);
        GuestWalkResult reuse = b.PatchWalk(wa, divergent);
        if (reuse.Walk is not null && ReferenceEquals(reuse.Walk, wa) && b.ReplayedRanges.Count == 0)
        {
            // No metadata diverged: same files, names and maps; only content can differ.
            foreach (GuestWalkFile f in wa.Files)
            {
                foreach (GuestWalkStream s in f.Streams)
                {
                    if (ByteRanges.Touches(s.Content, divergent) && !SameContent(a, b, f, f, s.Name, errors, number))
                    {
                        changes.Add(new GuestChange(GuestChangeKind.Modified, f.Path, null, s.Name.Length == 0 ? null : s.Name, s.Size, number));
                    }
                }
            }

            return;
        }

        // The clone's walk patched from the base's where its file system can (only what diverged is read), else walked in full.
        GuestWalk wb = reuse.Walk ?? Walk(b, number, errors, cancellationToken);
        var found = new List<GuestChange>();
        CompareWalks(a, b, wa, wb, number, divergent, found, errors, cancellationToken);

        // A path deleted and added again (a new inode or record: an editor's or dpkg's write-and-rename) is the same
        // path with new content: modified when the bytes differ, a metadata change when they do not.
        var added = found.Where(c => c.Change == GuestChangeKind.Added && c.Stream is null).GroupBy(c => c.Path, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var replaced = new HashSet<string>(StringComparer.Ordinal);
        var deleted = found.Where(c => c.Change == GuestChangeKind.Deleted && c.Stream is null && added.ContainsKey(c.Path))
            .Select(c => c.Path).ToHashSet(StringComparer.Ordinal);
        Dictionary<string, GuestWalkFile> before = PathsOf(wa, deleted);
        Dictionary<string, GuestWalkFile> after = PathsOf(wb, deleted);
        foreach (GuestChange d in found.Where(c => c.Change == GuestChangeKind.Deleted && c.Stream is null))
        {
            if (added.TryGetValue(d.Path, out GuestChange? add) && replaced.Add(d.Path))
            {
                if (before.TryGetValue(d.Path, out GuestWalkFile? fa) && after.TryGetValue(d.Path, out GuestWalkFile? fb) && fa.Type == fb.Type)
                {
                    bool same = fa.Type != GuestFileType.File || SameContent(a, b, fa, fb, string.Empty, errors, number);
                    changes.Add(new GuestChange(same ? GuestChangeKind.Metadata : GuestChangeKind.Modified, d.Path, null, null, add.Size, number));
                }
                else
                {
                    replaced.Remove(d.Path);
                }
            }
        }

        changes.AddRange(found.Where(c => c.Stream is not null || c.Change is not (GuestChangeKind.Added or GuestChangeKind.Deleted) || !replaced.Contains(c.Path)));
    }

    private static Dictionary<string, GuestWalkFile> PathsOf(GuestWalk walk, HashSet<string> paths)
    {
        var found = new Dictionary<string, GuestWalkFile>(StringComparer.Ordinal);
        if (paths.Count > 0)
        {
            foreach (GuestWalkFile f in walk.Files)
            {
                if (paths.Contains(f.Path))
                {
                    found.TryAdd(f.Path, f);
                }
            }
        }

        return found;
    }

    private static void CompareWalks(IGuestVolume a, IGuestVolume b, GuestWalk wa, GuestWalk wb, int number, IReadOnlyList<ByteRange> divergent,
        List<GuestChange> changes, Action<string>? errors, CancellationToken cancellationToken)
    {
        List<ByteRange> forced = ByteRanges.Coalesce(a.ReplayedRanges.Concat(b.ReplayedRanges));
        var before = wa.Files.GroupBy(f => (f.Id, f.Generation)).ToDictionary(g => g.Key, g => g.ToList());
        var after = wb.Files.GroupBy(f => (f.Id, f.Generation)).ToDictionary(g => g.Key, g => g.ToList());
        foreach (((long, uint) key, List<GuestWalkFile> paths) in after)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!before.TryGetValue(key, out List<GuestWalkFile>? old) || old[0].Type != paths[0].Type)
            {
                changes.AddRange(paths.Select(p => new GuestChange(GuestChangeKind.Added, p.Path, null, null, p.Size, number)));
                if (old is not null)
                {
                    changes.AddRange(old.Select(p => new GuestChange(GuestChangeKind.Deleted, p.Path, null, null, p.Size, number)));
                }

                continue;
            }

            var oldPaths = old.Select(p => p.Path).ToHashSet(StringComparer.Ordinal);
            var newPaths = paths.Select(p => p.Path).ToHashSet(StringComparer.Ordinal);
            GuestWalkFile current = paths[0];
            GuestWalkFile previous = old[0];
            var onlyNew = paths.Where(p => !oldPaths.Contains(p.Path)).ToList();
            var onlyOld = old.Where(p => !newPaths.Contains(p.Path)).ToList();
            if (onlyNew.Count == 1 && onlyOld.Count == 1)
            {
                changes.Add(new GuestChange(GuestChangeKind.Renamed, onlyNew[0].Path, onlyOld[0].Path, null, current.Size, number));
            }
            else
            {
                changes.AddRange(onlyNew.Select(p => new GuestChange(GuestChangeKind.Added, p.Path, null, null, p.Size, number)));
                changes.AddRange(onlyOld.Select(p => new GuestChange(GuestChangeKind.Deleted, p.Path, null, null, p.Size, number)));
            }

            bool contentChanged = false;
            foreach (GuestWalkStream s in current.Streams)
            {
                GuestWalkStream? was = previous.Streams.FirstOrDefault(x => string.Equals(x.Name, s.Name, StringComparison.Ordinal));
                string? stream = s.Name.Length == 0 ? null : s.Name;
                if (was is null)
                {
                    changes.Add(new GuestChange(GuestChangeKind.Added, current.Path, null, stream, s.Size, number));
                    contentChanged = true;
                }
                else if (was.Size != s.Size || !SameMap(was, s, current, previous, divergent, forced)
                    && !SameContent(a, b, previous, current, s.Name, errors, number))
                {
                    changes.Add(new GuestChange(GuestChangeKind.Modified, current.Path, null, stream, s.Size, number));
                    contentChanged = true;
                }
            }

            foreach (GuestWalkStream was in previous.Streams.Where(x => current.Streams.All(s => !string.Equals(s.Name, x.Name, StringComparison.Ordinal))))
            {
                changes.Add(new GuestChange(GuestChangeKind.Deleted, current.Path, null, was.Name.Length == 0 ? null : was.Name, was.Size, number));
                contentChanged = true;
            }

            if (!contentChanged && onlyNew.Count == 0 && onlyOld.Count == 0 && current.Type != GuestFileType.Directory
                && !SameRecord(a, b, previous, current, divergent, forced))
            {
                changes.Add(new GuestChange(GuestChangeKind.Metadata, current.Path, null, null, current.Size, number));
            }
        }

        foreach (((long, uint) key, List<GuestWalkFile> paths) in before)
        {
            if (!after.TryGetValue(key, out List<GuestWalkFile>? now) || now[0].Type != paths[0].Type)
            {
                if (now is null)
                {
                    changes.AddRange(paths.Select(p => new GuestChange(GuestChangeKind.Deleted, p.Path, null, null, p.Size, number)));
                }
            }
        }
    }

    // Same ranges, outside the divergence, with the file's own metadata unchanged: the same bytes without reading them.
    private static bool SameMap(GuestWalkStream was, GuestWalkStream now, GuestWalkFile current, GuestWalkFile previous,
        IReadOnlyList<ByteRange> divergent, IReadOnlyList<ByteRange> forced)
    {
        if (!was.Content.SequenceEqual(now.Content) || ByteRanges.Touches(now.Content, divergent) || ByteRanges.Touches(now.Content, forced))
        {
            return false;
        }

        return !now.IsResident || (current.Metadata.SequenceEqual(previous.Metadata) && !ByteRanges.Touches(current.Metadata, divergent)
            && !ByteRanges.Touches(current.Metadata, forced));
    }

    // The record or inode and the mapping blocks hold the same bytes on both sides (read through each volume's disk).
    private static bool SameRecord(IGuestVolume a, IGuestVolume b, GuestWalkFile previous, GuestWalkFile current, IReadOnlyList<ByteRange> divergent,
        IReadOnlyList<ByteRange> forced)
    {
        if (!previous.Metadata.SequenceEqual(current.Metadata))
        {
            return false;
        }

        if (!ByteRanges.Touches(current.Metadata, divergent) && !ByteRanges.Touches(current.Metadata, forced))
        {
            return true;
        }

        // A record's bytes are compared by reading the file's first metadata range through each volume: the record itself.
        ByteRange r = current.Metadata[0];
        if (r.Length > 64 * 1024)
        {
            return false;
        }

        return a.ReadBytes(r).AsSpan().SequenceEqual(b.ReadBytes(r));
    }

    // Reads each side through the file's own record (FindEntry), not through the directories on its path.
    private static bool SameContent(IGuestVolume a, IGuestVolume b, GuestWalkFile fa, GuestWalkFile fb, string stream, Action<string>? errors, int number)
    {
        string pathB = fb.Path;
        try
        {
            GuestFileEntry ea = a.FindEntry(fa) ?? throw new FileNotFoundException($"{fa.Path} vanished from the base");
            GuestFileEntry eb = b.FindEntry(fb) ?? throw new FileNotFoundException($"{fb.Path} vanished from the clone");
            IDiskSource x = a.OpenStream(ea, stream);
            IDiskSource y = b.OpenStream(eb, stream);
            if (x.Length != y.Length)
            {
                return false;
            }

            byte[] bx = new byte[1 << 20];
            byte[] by = new byte[1 << 20];
            for (long at = 0; at < x.Length; at += bx.Length)
            {
                int n = (int)Math.Min(bx.Length, x.Length - at);
                x.ReadExactly(bx.AsSpan(0, n), at);
                y.ReadExactly(by.AsSpan(0, n), at);
                if (!bx.AsSpan(0, n).SequenceEqual(by.AsSpan(0, n)))
                {
                    return false;
                }
            }

            return true;
        }
        catch (Exception e) when (e is Errors.DiskFormatException or IOException or InvalidDataException or NotSupportedException)
        {
            errors?.Invoke($"partition {number}: {pathB}{(stream.Length > 0 ? ":" + stream : "")}: {e.Message}");
            return false;
        }
    }
}
