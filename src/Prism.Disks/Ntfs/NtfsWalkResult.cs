namespace Prism.Disks.Ntfs;

/// <summary>What <see cref="NtfsVolume.WalkIncremental"/> produced: the clone's snapshot, and how it was made.</summary>
public sealed class NtfsWalkResult
{
    internal NtfsWalkResult(NtfsWalkSnapshot snapshot, NtfsWalkFallback fallback, string? fallbackDetail, long recordsDecoded,
        long indexBlocksRead, int directoriesRewalked)
    {
        Snapshot = snapshot;
        Fallback = fallback;
        FallbackDetail = fallbackDetail;
        RecordsDecoded = recordsDecoded;
        IndexBlocksRead = indexBlocksRead;
        DirectoriesRewalked = directoriesRewalked;
    }

    /// <summary>The clone's snapshot (equal to what <see cref="NtfsVolume.CaptureSnapshot"/> of the clone gives).</summary>
    public NtfsWalkSnapshot Snapshot { get; }

    /// <summary><see cref="NtfsWalkFallback.None"/> when patched incrementally; otherwise why the clone was walked whole.</summary>
    public NtfsWalkFallback Fallback { get; }

    /// <summary>A sentence for a report line when <see cref="Fallback"/> is not None (which structure, which record or offset).</summary>
    public string? FallbackDetail { get; }

    /// <summary>True when the snapshot was patched from the divergent metadata only.</summary>
    public bool IsIncremental => Fallback == NtfsWalkFallback.None;

    /// <summary>MFT records read and decoded (every record of the volume's files after a fallback).</summary>
    public long RecordsDecoded { get; }

    /// <summary>Index blocks read (the others were taken from the parent's snapshot).</summary>
    public long IndexBlocksRead { get; }

    /// <summary>Directories whose index was walked again (the rest were taken from the parent's snapshot whole).</summary>
    public int DirectoriesRewalked { get; }

    /// <inheritdoc />
    public override string ToString() => IsIncremental
        ? $"incremental: {RecordsDecoded} records, {IndexBlocksRead} index blocks, {DirectoriesRewalked} directories"
        : $"full walk ({Fallback}: {FallbackDetail})";
}
