using System.Buffers.Binary;

namespace Prism.Disks.Partitions;

/// <summary>One 16-byte MBR/EBR partition entry ("partition table entry" of the IBM PC MBR).</summary>
internal readonly record struct MbrEntry(byte Status, byte Type, uint FirstLba, uint SectorCount)
{
    public const int Size = 16;

    private static class Offsets
    {
        public const int Status = 0, Type = 4, FirstLba = 8, SectorCount = 12;
    }

    public bool IsEmpty => Type == 0 || SectorCount == 0;

    /// <summary>CHS-era and LBA extended partition types (DOS 0x05, Windows 0x0F, Linux 0x85).</summary>
    public bool IsExtended => Type is 0x05 or 0x0F or 0x85;

    public static MbrEntry Read(ReadOnlySpan<byte> source)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(source.Length, Size, nameof(source));
        return new MbrEntry(
            source[Offsets.Status],
            source[Offsets.Type],
            BinaryPrimitives.ReadUInt32LittleEndian(source[Offsets.FirstLba..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[Offsets.SectorCount..]));
    }

    public void Write(Span<byte> destination)
    {
        destination[..Size].Clear();
        destination[Offsets.Status] = Status;
        destination[Offsets.Type] = Type;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Offsets.FirstLba..], FirstLba);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Offsets.SectorCount..], SectorCount);
    }
}
