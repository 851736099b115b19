using System.Buffers.Binary;

namespace Prism.Disks.Ntfs;

/// <summary>The times and flags of a $STANDARD_INFORMATION value (FILETIME ticks as stored; flags as <see cref="NtfsFileAttributes"/>).</summary>
internal readonly record struct StandardInformation(long Created, long Modified, long MftChanged, long Accessed, NtfsFileAttributes Attributes)
{
    /// <summary>Bytes up to and including the flags (the NTFS 1.2 value; 3.x appends owner, security and quota fields).</summary>
    public const int MinLength = 0x24;

    private static readonly long s_maxFileTime = DateTime.MaxValue.ToFileTimeUtc();

    private static class Offsets
    {
        public const int Created = 0, Modified = 0x08, MftChanged = 0x10, Accessed = 0x18, Attributes = 0x20;
    }

    /// <summary>Decodes a value of at least <see cref="MinLength"/> bytes.</summary>
    public static StandardInformation Read(ReadOnlySpan<byte> value) =>
        new(BinaryPrimitives.ReadInt64LittleEndian(value[Offsets.Created..]),
            BinaryPrimitives.ReadInt64LittleEndian(value[Offsets.Modified..]),
            BinaryPrimitives.ReadInt64LittleEndian(value[Offsets.MftChanged..]),
            BinaryPrimitives.ReadInt64LittleEndian(value[Offsets.Accessed..]),
            (NtfsFileAttributes)BinaryPrimitives.ReadUInt32LittleEndian(value[Offsets.Attributes..]));

    /// <summary>A stored FILETIME as UTC; <see cref="DateTime.MinValue"/> for 0, negative or out-of-range values.</summary>
    public static DateTime ToDateTime(long fileTime) =>
        fileTime > 0 && fileTime <= s_maxFileTime ? DateTime.FromFileTimeUtc(fileTime) : DateTime.MinValue;
}
