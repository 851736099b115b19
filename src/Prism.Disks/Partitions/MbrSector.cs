using System.Buffers.Binary;

namespace Prism.Disks.Partitions;

/// <summary>Layout of an MBR or EBR sector: four entries at 0x1BE and the 0x55AA boot signature at 0x1FE.</summary>
internal static class MbrSector
{
    public const int EntriesOffset = 0x1BE;
    public const int SignatureOffset = 0x1FE;
    public const ushort BootSignature = 0xAA55;
    public const byte ProtectiveType = 0xEE;

    public static bool HasSignature(ReadOnlySpan<byte> sector) =>
        sector.Length >= 512 && BinaryPrimitives.ReadUInt16LittleEndian(sector[SignatureOffset..]) == BootSignature;

    public static MbrEntry Entry(ReadOnlySpan<byte> sector, int slot) =>
        MbrEntry.Read(sector[(EntriesOffset + (slot * MbrEntry.Size))..]);
}
