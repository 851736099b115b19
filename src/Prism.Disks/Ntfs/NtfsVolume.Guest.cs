using Prism.Disks.Errors;
using Prism.Disks.Guest;
using Prism.Disks.IO;

namespace Prism.Disks.Ntfs;

/// <summary>NTFS as a <see cref="IGuestVolume"/>.</summary>
public sealed partial class NtfsVolume : IGuestVolume
{
    private IReadOnlyList<ByteRange>? _guestMetadata;

    /// <inheritdoc />
    GuestFileSystem IGuestVolume.FileSystem => GuestFileSystem.Ntfs;

    /// <summary>
    /// The boot sector area (16 KiB) and the $MFT's records and data, sorted, coalesced, on the disk; the whole volume
    /// when $MFT cannot be mapped (then every change counts as a metadata change).
    /// </summary>
    IReadOnlyList<ByteRange> IGuestVolume.MetadataRanges => _guestMetadata ??= BuildGuestMetadata();

    /// <inheritdoc />
    IReadOnlyList<ByteRange> IGuestVolume.ReplayedRanges => [];

    /// <inheritdoc />
    void IGuestVolume.Visit(GuestFileVisitor visitor, string directory, bool recursive, Action<GuestEnumerationError>? onError,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(visitor);
        Visit((in NtfsFileView f) => visitor(new GuestFileView(f)), directory, recursive, includeSystemFiles: false,
            onError is null ? null : e => onError(new GuestEnumerationError(e.Path, e.RecordNumber, e.Exception)), cancellationToken);
    }

    /// <inheritdoc />
    GuestFileEntry? IGuestVolume.Find(string path) => Find(path) is { } e ? ToGuestEntry(e) : null;

    /// <inheritdoc />
    IDiskSource IGuestVolume.OpenStream(GuestFileEntry entry, string stream) => OpenStream(Native(entry), stream);

    /// <inheritdoc />
    byte[] IGuestVolume.ReadBytes(ByteRange range)
    {
        if (range.Offset < DiskOffset || range.End > DiskOffset + Size || range.Length > 16 << 20 || range.Length < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(range), range, $"not inside the volume at 0x{DiskOffset:X} (or longer than 16 MiB)");
        }

        byte[] data = new byte[range.Length];
        _source.ReadExactly(data, range.Offset - DiskOffset);
        return data;
    }

    /// <inheritdoc />
    GuestFileLayout IGuestVolume.GetLayout(GuestFileEntry entry)
    {
        NtfsFileEntry e = Native(entry);
        NtfsFileExtents extents = GetExtents(e);
        var streams = new GuestStreamLayout[e.StreamCount];
        long cluster = ClusterSize;
        for (int i = 0; i < streams.Length; i++)
        {
            NtfsAttribute s = e.StreamData(i);
            var parts = new List<GuestExtent>();
            if (s.IsResident)
            {
                foreach (ByteRange r in extents.Streams[i].Ranges)
                {
                    parts.Add(new GuestExtent(0, r.Length, r.Offset, GuestExtentKind.Resident));
                }
            }
            else
            {
                long end = s.IsCompressed ? long.MaxValue : s.DataSize;
                foreach (DataRun run in s.Runs)
                {
                    long at = run.Vcn * cluster;
                    long length = Math.Min(run.ClusterCount * cluster, Math.Max(0, end - at));
                    if (length <= 0)
                    {
                        break;
                    }

                    if (run.IsSparse)
                    {
                        parts.Add(new GuestExtent(at, length, -1, GuestExtentKind.Hole));
                        continue;
                    }

                    long disk = DiskOffset + (run.Lcn * cluster);
                    long written = s.IsCompressed ? length : Math.Clamp(s.InitializedSize - at, 0, length);
                    if (written > 0)
                    {
                        parts.Add(new GuestExtent(at, written, disk, GuestExtentKind.Data));
                    }

                    if (written < length)
                    {
                        parts.Add(new GuestExtent(at + written, length - written, disk + written, GuestExtentKind.Unwritten));
                    }
                }

                long mapped = parts.Count == 0 ? 0 : parts[^1].FileOffset + parts[^1].Length;
                if (!s.IsCompressed && mapped < s.DataSize)
                {
                    parts.Add(new GuestExtent(mapped, s.DataSize - mapped, -1, GuestExtentKind.Hole));
                }
            }

            streams[i] = new GuestStreamLayout(s.Name, s.DataSize, s.IsCompressed, parts);
        }

        return new GuestFileLayout(extents.MftRecords, streams);
    }

    /// <summary>The whole walk through <see cref="CaptureSnapshot"/>: the snapshot is kept as the walk's <see cref="GuestWalk.State"/>.</summary>
    GuestWalk? IGuestVolume.CaptureWalk(CancellationToken cancellationToken) => ToGuestWalk(CaptureSnapshot(cancellationToken), null);

    /// <summary>
    /// A clone's walk: the parent's when none of its metadata diverged; else, when the parent's walk keeps its
    /// <see cref="NtfsWalkSnapshot"/>, patched by <see cref="WalkIncremental"/> from the divergent MFT records and index
    /// blocks only, or walked whole by it with the reason (boot sector changed, $MFT run list changed, damaged metadata,
    /// ...). A parent walk without a snapshot is reused or not as <see cref="GuestWalk.ReuseUnlessTouched"/> decides.
    /// </summary>
    GuestWalkResult IGuestVolume.PatchWalk(GuestWalk parent, IReadOnlyList<ByteRange> divergent)
    {
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(divergent);
        if (parent.State is not NtfsWalkSnapshot snapshot || parent.FileSystem != GuestFileSystem.Ntfs || parent.DiskOffset != DiskOffset
            || !ByteRanges.Touches(parent.Metadata, divergent))
        {
            return GuestWalk.ReuseUnlessTouched(this, parent, divergent);
        }

        NtfsWalkResult result = WalkIncremental(snapshot, divergent);
        GuestWalk walk = ToGuestWalk(result.Snapshot, parent);
        return new GuestWalkResult(walk, result.IsIncremental
            ? $"walk patched: {result.RecordsDecoded} MFT records, {result.IndexBlocksRead} index blocks, {result.DirectoriesRewalked} directories read; "
                + (walk.Base is null ? "file list assembled again (the directory tree changed)" : $"{walk.Added.Count} names listed anew")
            : $"full walk: {Describe(result.Fallback)} ({result.FallbackDetail})");
    }

    /// <summary>Opens the stream from the file's record number and sequence (no path lookup).</summary>
    IDiskSource IGuestVolume.OpenWalkStream(GuestWalkFile file, string stream)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(stream);
        NtfsFile loaded = _mft.LoadFile(file.Id, (ushort)file.Generation);
        NtfsAttribute data = loaded.GetStream(NtfsAttributeType.Data, stream, Name)
            ?? throw new FileNotFoundException($"{file.Path} has no stream \"{stream}\"", file.Path);
        return _mft.OpenStream(data, file.Id);
    }

    private static string Describe(NtfsWalkFallback fallback) => fallback switch
    {
        NtfsWalkFallback.ParentMismatch => "the parent's walk is of another volume",
        NtfsWalkFallback.BootSectorChanged => "boot sector changed",
        NtfsWalkFallback.MftLayoutChanged => "$MFT run list changed",
        NtfsWalkFallback.ParentHadErrors => "the parent's walk had errors",
        NtfsWalkFallback.DamagedMetadata => "damaged metadata",
        _ => fallback.ToString(),
    };

    // A snapshot as a guest walk (sorted by path), keeping the snapshot as its state; its problems are the walk's errors.
    // A snapshot patched from the parent walk's own without assembling its file list again gives a walk derived from
    // the parent's: only the files it added are made.
    private GuestWalk ToGuestWalk(NtfsWalkSnapshot snapshot, GuestWalk? parent)
    {
        if (parent is not null && snapshot.Base is not null && ReferenceEquals(parent.State, snapshot.Base))
        {
            return GuestWalk.Derive(this, parent, snapshot.RemovedFromBase, [.. snapshot.AddedToBase.Select(ToWalkFile)], snapshot.AddedPositions,
                snapshot.Problems, snapshot);
        }

        var builder = new GuestWalk.Builder(this) { State = snapshot };
        foreach (NtfsSnapshotFile f in snapshot.Files)
        {
            builder.Add(ToWalkFile(f));
        }

        foreach (string problem in snapshot.Problems)
        {
            builder.AddError(problem);
        }

        return builder.Build();
    }

    private static GuestWalkFile ToWalkFile(NtfsSnapshotFile f)
    {
        var streams = new GuestWalkStream[f.Streams.Length];
        for (int i = 0; i < streams.Length; i++)
        {
            NtfsSnapshotStream s = f.Streams[i];
            streams[i] = new GuestWalkStream(s.Name, s.Size, s.IsResident, s.Ranges);
        }

        return new GuestWalkFile(f.Path, f.RecordNumber, f.SequenceNumber,
            f.IsDirectory ? GuestFileType.Directory : f.IsReparsePoint ? GuestFileType.Symlink : GuestFileType.File, f.Size, f.MftRecords,
            default, streams);
    }

    internal static GuestFileEntry ToGuestEntry(NtfsFileEntry e) =>
        new(e, e.Path, e.RecordNumber, e.SequenceNumber,
            e.IsDirectory ? GuestFileType.Directory : e.IsReparsePoint ? GuestFileType.Symlink : GuestFileType.File,
            e.Size, e.HardLinkCount, e.Streams.Select(s => new GuestStreamInfo(s.Name, s.Size)).ToArray(),
            new DateTimeOffset(DateTime.SpecifyKind(e.LastWriteTime, DateTimeKind.Utc)));

    private static NtfsFileEntry Native(GuestFileEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return entry.Native as NtfsFileEntry ?? throw new ArgumentException($"{entry.Path} was not listed by an NTFS volume", nameof(entry));
    }

    private List<ByteRange> BuildGuestMetadata()
    {
        try
        {
            if (Find("/$MFT") is { } mft)
            {
                var ranges = new List<ByteRange> { new(DiskOffset, 16 * 1024) };
                NtfsFileExtents e = GetExtents(mft);
                ranges.AddRange(e.MftRecords);
                foreach (NtfsStreamExtents s in e.Streams)
                {
                    ranges.AddRange(s.Ranges);
                }

                return ByteRanges.Coalesce(ranges);
            }
        }
        catch (DiskFormatException)
        {
            // Falls through: the whole volume is metadata.
        }

        return [new ByteRange(DiskOffset, Size)];
    }
}
