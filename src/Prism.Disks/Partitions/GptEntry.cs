using System.Buffers.Binary;
using System.Text;

namespace Prism.Disks.Partitions;

/// <summary>GPT partition entry (UEFI spec "GPT Partition Entry"); 128 bytes or more each.</summary>
internal readonly record struct GptEntry(Guid TypeGuid, Guid UniqueGuid, ulong FirstLba, ulong LastLba, ulong Attributes, string Name)
{
    public const int MinSize = 128;
    private const int NameLength = 72;

    private static class Offsets
    {
        public const int TypeGuid = 0, UniqueGuid = 16, FirstLba = 32, LastLba = 40, Attributes = 48, Name = 56;
    }

    public bool IsUnused => TypeGuid == Guid.Empty;

    public static GptEntry Read(ReadOnlySpan<byte> source)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(source.Length, MinSize, nameof(source));
        ReadOnlySpan<byte> name = source.Slice(Offsets.Name, NameLength);
        int chars = 0;
        while (chars < NameLength / 2 && BinaryPrimitives.ReadUInt16LittleEndian(name[(chars * 2)..]) != 0)
        {
            chars++;
        }

        return new GptEntry(
            new Guid(source.Slice(Offsets.TypeGuid, 16)),
            new Guid(source.Slice(Offsets.UniqueGuid, 16)),
            BinaryPrimitives.ReadUInt64LittleEndian(source[Offsets.FirstLba..]),
            BinaryPrimitives.ReadUInt64LittleEndian(source[Offsets.LastLba..]),
            BinaryPrimitives.ReadUInt64LittleEndian(source[Offsets.Attributes..]),
            Encoding.Unicode.GetString(name[..(chars * 2)]));
    }

    public void Write(Span<byte> destination)
    {
        destination[..MinSize].Clear();
        TypeGuid.TryWriteBytes(destination.Slice(Offsets.TypeGuid, 16));
        UniqueGuid.TryWriteBytes(destination.Slice(Offsets.UniqueGuid, 16));
        BinaryPrimitives.WriteUInt64LittleEndian(destination[Offsets.FirstLba..], FirstLba);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[Offsets.LastLba..], LastLba);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[Offsets.Attributes..], Attributes);
        Encoding.Unicode.GetBytes(Name.AsSpan(0, Math.Min(Name.Length, NameLength / 2)), destination.Slice(Offsets.Name, NameLength));
    }
}
