using System.Buffers.Binary;
using System.IO.Hashing;

namespace Prism.Disks.Vhdx;

/// <summary>CRC-32C (Castagnoli) as VHDX uses it: over a whole structure with its 4-byte checksum field read as zero.</summary>
internal static class VhdxChecksum
{
    private static ReadOnlySpan<byte> ZeroField => [0, 0, 0, 0];

    /// <summary>CRC-32C of <paramref name="data"/> with the field at <paramref name="checksumOffset"/> taken as zero.</summary>
    public static uint Compute(ReadOnlySpan<byte> data, int checksumOffset)
    {
        var crc = new Crc32(Crc32ParameterSet.Crc32C);
        crc.Append(data[..checksumOffset]);
        crc.Append(ZeroField);
        crc.Append(data[(checksumOffset + 4)..]);
        return crc.GetCurrentHashAsUInt32();
    }

    /// <summary>Plain CRC-32C of a buffer.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, data);

    /// <summary>True when the stored checksum matches.</summary>
    public static bool IsValid(ReadOnlySpan<byte> data, int checksumOffset)
        => BinaryPrimitives.ReadUInt32LittleEndian(data[checksumOffset..]) == Compute(data, checksumOffset);

    /// <summary>Stores the checksum of <paramref name="data"/> in its field.</summary>
    public static void Stamp(Span<byte> data, int checksumOffset)
        => BinaryPrimitives.WriteUInt32LittleEndian(data[checksumOffset..], Compute(data, checksumOffset));
}
