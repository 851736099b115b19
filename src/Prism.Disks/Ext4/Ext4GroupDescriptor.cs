using System.Buffers.Binary;

namespace Prism.Disks.Ext4;

/// <summary>One block group descriptor (ext4 "Block Group Descriptors"): 32 bytes, or 64 with the 64bit feature.</summary>
internal readonly record struct Ext4GroupDescriptor(long BlockBitmap, long InodeBitmap, long InodeTable, ushort Flags, uint ItableUnused)
{
    public const ushort InodeUninit = 0x1;

    private static class Offsets
    {
        public const int BlockBitmapLo = 0x0, InodeBitmapLo = 0x4, InodeTableLo = 0x8, Flags = 0x12, ItableUnusedLo = 0x1C,
            Checksum = 0x1E, BlockBitmapHi = 0x20, InodeBitmapHi = 0x24, InodeTableHi = 0x28, ItableUnusedHi = 0x32;
    }

    public static Ext4GroupDescriptor Read(ReadOnlySpan<byte> d, bool is64)
    {
        long bb = U32(d, Offsets.BlockBitmapLo), ib = U32(d, Offsets.InodeBitmapLo), it = U32(d, Offsets.InodeTableLo);
        uint unused = BinaryPrimitives.ReadUInt16LittleEndian(d[Offsets.ItableUnusedLo..]);
        if (is64 && d.Length >= 64)
        {
            bb |= (long)U32(d, Offsets.BlockBitmapHi) << 32;
            ib |= (long)U32(d, Offsets.InodeBitmapHi) << 32;
            it |= (long)U32(d, Offsets.InodeTableHi) << 32;
            unused |= (uint)BinaryPrimitives.ReadUInt16LittleEndian(d[Offsets.ItableUnusedHi..]) << 16;
        }

        return new Ext4GroupDescriptor(bb, ib, it, BinaryPrimitives.ReadUInt16LittleEndian(d[Offsets.Flags..]), unused);
    }

    /// <summary>
    /// The stored and expected checksum of descriptor <paramref name="group"/>: metadata_csum keeps the low 16 bits of the
    /// CRC-32C of seed, group number and descriptor (checksum field as zero); gdt_csum a CRC-16 of UUID, group and descriptor.
    /// Null when the volume has neither feature.
    /// </summary>
    public static (ushort Stored, ushort Computed)? Checksums(ReadOnlySpan<byte> d, uint group, Ext4Superblock sb, Ext4Checksum csum)
    {
        ushort stored = BinaryPrimitives.ReadUInt16LittleEndian(d[Offsets.Checksum..]);
        if (sb.HasMetadataCsum)
        {
            var crc = csum.Start();
            Ext4Checksum.AppendUInt32(crc, group);
            crc.Append(d[..Offsets.Checksum]);
            crc.Append([0, 0]);
            crc.Append(d[(Offsets.Checksum + 2)..]);
            return (stored, (ushort)crc.GetCurrentHashAsUInt32());
        }

        if (sb.HasGdtCsum)
        {
            Span<byte> g = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(g, group);
            ushort c = Ext4Checksum.Crc16(0xFFFF, sb.UuidBytes);
            c = Ext4Checksum.Crc16(c, g);
            c = Ext4Checksum.Crc16(c, d[..Offsets.Checksum]);
            if (d.Length > Offsets.Checksum + 2)
            {
                c = Ext4Checksum.Crc16(c, d[(Offsets.Checksum + 2)..]);
            }

            return (stored, c);
        }

        return null;
    }

    private static uint U32(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b[at..]);
}
