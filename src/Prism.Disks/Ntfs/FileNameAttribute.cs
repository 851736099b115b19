using System.Buffers.Binary;

namespace Prism.Disks.Ntfs;

/// <summary>
/// The $FILE_NAME value, as the key of $I30 index entries: the parent reference, the times, the namespace and the
/// UTF-16 name. Read straight from the key's bytes; only what the reader uses is decoded.
/// </summary>
internal static class FileNameAttribute
{
    public const byte NamespacePosix = 0, NamespaceWin32 = 1, NamespaceDos = 2, NamespaceWin32AndDos = 3;
    public const int MinLength = 0x42;

    private static class Offsets
    {
        public const int ParentReference = 0, Created = 0x08, Modified = 0x10, MftChanged = 0x18, Accessed = 0x20,
            NameLength = 0x40, Namespace = 0x41, Name = 0x42;
    }

    /// <summary>True when <paramref name="key"/> is long enough for its header and its (non-empty) name.</summary>
    public static bool IsValid(ReadOnlySpan<byte> key)
    {
        if (key.Length < MinLength)
        {
            return false;
        }

        int nameLength = key[Offsets.NameLength];
        return nameLength != 0 && Offsets.Name + (2 * nameLength) <= key.Length;
    }

    /// <summary>The namespace of a valid key.</summary>
    public static byte Namespace(ReadOnlySpan<byte> key) => key[Offsets.Namespace];

    /// <summary>The UTF-16LE name of a valid key.</summary>
    public static ReadOnlySpan<byte> Name(ReadOnlySpan<byte> key) => key.Slice(Offsets.Name, 2 * key[Offsets.NameLength]);

    /// <summary>The parent directory's record number (the reference without its sequence number).</summary>
    public static long ParentRecordNumber(ReadOnlySpan<byte> key) =>
        (long)(BinaryPrimitives.ReadUInt64LittleEndian(key[Offsets.ParentReference..]) & 0x0000_FFFF_FFFF_FFFF);

    /// <summary>The key's copy of the file's times (FILETIME ticks as stored), and no flags.</summary>
    public static StandardInformation Times(ReadOnlySpan<byte> key) =>
        new(BinaryPrimitives.ReadInt64LittleEndian(key[Offsets.Created..]),
            BinaryPrimitives.ReadInt64LittleEndian(key[Offsets.Modified..]),
            BinaryPrimitives.ReadInt64LittleEndian(key[Offsets.MftChanged..]),
            BinaryPrimitives.ReadInt64LittleEndian(key[Offsets.Accessed..]),
            NtfsFileAttributes.None);
}
