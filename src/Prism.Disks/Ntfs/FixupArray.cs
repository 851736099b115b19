using System.Buffers.Binary;

namespace Prism.Disks.Ntfs;

/// <summary>
/// The update sequence array of multi-sector structures (FILE and INDX records): the last two bytes of every
/// 512-byte stride hold the update sequence number on disk, the real bytes are kept in the array.
/// </summary>
internal static class FixupArray
{
    public const int Stride = 512;

    /// <summary>Verifies and undoes the fixups in place; returns null on success, otherwise what is wrong.</summary>
    public static string? TryApply(Span<byte> record, int usaOffset, int usaCount)
    {
        if (usaCount < 2 || usaCount - 1 != record.Length / Stride || record.Length % Stride != 0)
        {
            return $"update sequence array count {usaCount} does not match a {record.Length}-byte record";
        }

        if (usaOffset < 8 || (usaOffset & 1) != 0 || usaOffset + (2 * usaCount) > Stride - 2)
        {
            return $"update sequence array offset 0x{usaOffset:X} invalid";
        }

        ushort usn = BinaryPrimitives.ReadUInt16LittleEndian(record[usaOffset..]);
        for (int i = 1; i < usaCount; i++)
        {
            int at = (i * Stride) - 2;
            ushort onDisk = BinaryPrimitives.ReadUInt16LittleEndian(record[at..]);
            if (onDisk != usn)
            {
                return $"torn write: stride {i - 1} ends with 0x{onDisk:X4}, update sequence number is 0x{usn:X4}";
            }

            record.Slice(usaOffset + (2 * i), 2).CopyTo(record[at..]);
        }

        return null;
    }
}
