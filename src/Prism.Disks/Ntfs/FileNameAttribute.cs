using System.Buffers.Binary;
using System.Text;

namespace Prism.Disks.Ntfs;

/// <summary>$FILE_NAME value (also the key of $I30 index entries); a struct, as every directory entry carries one.</summary>
internal readonly struct FileNameAttribute
{
    public const byte NamespacePosix = 0, NamespaceWin32 = 1, NamespaceDos = 2, NamespaceWin32AndDos = 3;
    public const int MinLength = 0x42;

    private static class Offsets
    {
        public const int ParentReference = 0, Created = 0x08, Modified = 0x10, MftChanged = 0x18, Accessed = 0x20,
            AllocatedSize = 0x28, DataSize = 0x30, Flags = 0x38, NameLength = 0x40, Namespace = 0x41, Name = 0x42;
    }

    public required long ParentRecordNumber { get; init; }

    public required ushort ParentSequenceNumber { get; init; }

    public required long Created { get; init; }

    public required long Modified { get; init; }

    public required long MftChanged { get; init; }

    public required long Accessed { get; init; }

    public required long DataSize { get; init; }

    public required uint Flags { get; init; }

    public required byte Namespace { get; init; }

    public required string Name { get; init; }

    /// <summary>Null when the value is too short for its name.</summary>
    public static FileNameAttribute? TryRead(ReadOnlySpan<byte> value)
    {
        if (value.Length < MinLength)
        {
            return null;
        }

        int nameLength = value[Offsets.NameLength];
        if (Offsets.Name + (2 * nameLength) > value.Length || nameLength == 0)
        {
            return null;
        }

        ulong parent = BinaryPrimitives.ReadUInt64LittleEndian(value[Offsets.ParentReference..]);
        return new FileNameAttribute
        {
            ParentRecordNumber = (long)(parent & 0x0000_FFFF_FFFF_FFFF),
            ParentSequenceNumber = (ushort)(parent >> 48),
            Created = BinaryPrimitives.ReadInt64LittleEndian(value[Offsets.Created..]),
            Modified = BinaryPrimitives.ReadInt64LittleEndian(value[Offsets.Modified..]),
            MftChanged = BinaryPrimitives.ReadInt64LittleEndian(value[Offsets.MftChanged..]),
            Accessed = BinaryPrimitives.ReadInt64LittleEndian(value[Offsets.Accessed..]),
            DataSize = BinaryPrimitives.ReadInt64LittleEndian(value[Offsets.DataSize..]),
            Flags = BinaryPrimitives.ReadUInt32LittleEndian(value[Offsets.Flags..]),
            Namespace = value[Offsets.Namespace],
            Name = Encoding.Unicode.GetString(value.Slice(Offsets.Name, 2 * nameLength)),
        };
    }
}
