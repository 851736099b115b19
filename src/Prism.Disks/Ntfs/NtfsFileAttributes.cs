namespace Prism.Disks.Ntfs;

/// <summary>Windows file attribute flags as stored in $STANDARD_INFORMATION.</summary>
[Flags]
public enum NtfsFileAttributes : uint
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary>FILE_ATTRIBUTE_READONLY.</summary>
    ReadOnly = 0x1,

    /// <summary>FILE_ATTRIBUTE_HIDDEN.</summary>
    Hidden = 0x2,

    /// <summary>FILE_ATTRIBUTE_SYSTEM.</summary>
    System = 0x4,

    /// <summary>FILE_ATTRIBUTE_DIRECTORY (set in $FILE_NAME for directories).</summary>
    Directory = 0x10,

    /// <summary>FILE_ATTRIBUTE_ARCHIVE.</summary>
    Archive = 0x20,

    /// <summary>FILE_ATTRIBUTE_DEVICE.</summary>
    Device = 0x40,

    /// <summary>FILE_ATTRIBUTE_NORMAL.</summary>
    Normal = 0x80,

    /// <summary>FILE_ATTRIBUTE_TEMPORARY.</summary>
    Temporary = 0x100,

    /// <summary>FILE_ATTRIBUTE_SPARSE_FILE.</summary>
    SparseFile = 0x200,

    /// <summary>FILE_ATTRIBUTE_REPARSE_POINT.</summary>
    ReparsePoint = 0x400,

    /// <summary>FILE_ATTRIBUTE_COMPRESSED.</summary>
    Compressed = 0x800,

    /// <summary>FILE_ATTRIBUTE_OFFLINE.</summary>
    Offline = 0x1000,

    /// <summary>FILE_ATTRIBUTE_NOT_CONTENT_INDEXED.</summary>
    NotContentIndexed = 0x2000,

    /// <summary>FILE_ATTRIBUTE_ENCRYPTED.</summary>
    Encrypted = 0x4000,
}
