namespace Prism.Disks.Ntfs;

/// <summary>Why <see cref="NtfsVolume.WalkIncremental"/> walked the whole clone instead of patching its parent's snapshot.</summary>
public enum NtfsWalkFallback
{
    /// <summary>No fallback: the parent's snapshot was patched from the clone's divergent metadata only.</summary>
    None,

    /// <summary>The snapshot is not of this volume (disk offset, size, serial number, cluster or record size differ).</summary>
    ParentMismatch,

    /// <summary>The clone's boot sector differs from the parent's (or its primary one is unusable and the backup was used).</summary>
    BootSectorChanged,

    /// <summary>$MFT's own run list changed other than by growing in place: records the parent had may lie elsewhere.</summary>
    MftLayoutChanged,

    /// <summary>The parent's walk met corrupt records or indexes: its snapshot is not a safe starting point.</summary>
    ParentHadErrors,

    /// <summary>A record or index the clone changed is corrupt or inconsistent (a stale or dangling reference, a bad index block).</summary>
    DamagedMetadata,
}
