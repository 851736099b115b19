using System.Buffers.Binary;
using Prism.Disks.Guest;

namespace Prism.Disks.Ext4;

/// <summary>
/// One inode (ext4 "Index Nodes"): 128 bytes plus i_extra_isize. A walk reuses one instance per inode it reads
/// (<see cref="Load"/>); <see cref="Clone"/> makes one to keep.
/// </summary>
internal sealed class Ext4Inode
{
    public const uint ExtentsFlag = 0x80000, HugeFileFlag = 0x40000, IndexFlag = 0x1000, InlineDataFlag = 0x1000_0000;
    public const int BlockArrayOffset = 0x28, BlockArrayLength = 60, GoodOldSize = 128;

    private static class Offsets
    {
        public const int Mode = 0x0, Uid = 0x2, SizeLo = 0x4, Mtime = 0x10, Gid = 0x18, LinksCount = 0x1A, BlocksLo = 0x1C,
            Flags = 0x20, Generation = 0x64, FileAclLo = 0x68, SizeHigh = 0x6C, BlocksHigh = 0x74, FileAclHigh = 0x76,
            UidHigh = 0x78, GidHigh = 0x7A, ChecksumLo = 0x7C, ExtraIsize = 0x80, ChecksumHi = 0x82, MtimeExtra = 0x88;
    }

    private byte[] _raw = [];

    public uint Number { get; private set; }

    /// <summary>Byte offset of the inode record inside the volume.</summary>
    public long VolumeOffset { get; private set; }

    public int RecordSize { get; private set; }

    public ReadOnlySpan<byte> Raw => _raw.AsSpan(0, RecordSize);

    public ushort Mode => BinaryPrimitives.ReadUInt16LittleEndian(_raw.AsSpan(Offsets.Mode));

    public uint Uid => BinaryPrimitives.ReadUInt16LittleEndian(_raw.AsSpan(Offsets.Uid)) | ((uint)BinaryPrimitives.ReadUInt16LittleEndian(_raw.AsSpan(Offsets.UidHigh)) << 16);

    public uint Gid => BinaryPrimitives.ReadUInt16LittleEndian(_raw.AsSpan(Offsets.Gid)) | ((uint)BinaryPrimitives.ReadUInt16LittleEndian(_raw.AsSpan(Offsets.GidHigh)) << 16);

    public ulong Size => BinaryPrimitives.ReadUInt32LittleEndian(_raw.AsSpan(Offsets.SizeLo)) | ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(_raw.AsSpan(Offsets.SizeHigh)) << 32);

    public ushort LinksCount => BinaryPrimitives.ReadUInt16LittleEndian(_raw.AsSpan(Offsets.LinksCount));

    public uint Flags => BinaryPrimitives.ReadUInt32LittleEndian(_raw.AsSpan(Offsets.Flags));

    public uint Generation => BinaryPrimitives.ReadUInt32LittleEndian(_raw.AsSpan(Offsets.Generation));

    public long FileAcl => BinaryPrimitives.ReadUInt32LittleEndian(_raw.AsSpan(Offsets.FileAclLo)) | ((long)BinaryPrimitives.ReadUInt16LittleEndian(_raw.AsSpan(Offsets.FileAclHigh)) << 32);

    /// <summary>i_blocks in 512-byte units (or file-system blocks with huge_file and the inode's HUGE_FILE flag).</summary>
    public ulong BlocksRaw => BinaryPrimitives.ReadUInt32LittleEndian(_raw.AsSpan(Offsets.BlocksLo)) | ((ulong)BinaryPrimitives.ReadUInt16LittleEndian(_raw.AsSpan(Offsets.BlocksHigh)) << 32);

    public int ExtraIsize => RecordSize > GoodOldSize ? BinaryPrimitives.ReadUInt16LittleEndian(_raw.AsSpan(Offsets.ExtraIsize)) : 0;

    public ReadOnlySpan<byte> BlockArray => _raw.AsSpan(BlockArrayOffset, BlockArrayLength);

    public bool HasExtents => (Flags & ExtentsFlag) != 0;

    public bool HasInlineData => (Flags & InlineDataFlag) != 0;

    /// <summary>The file type from i_mode's format bits; null for a mode no file type has (free or corrupt inode).</summary>
    public GuestFileType? Type => (Mode & 0xF000) switch
    {
        0x8000 => GuestFileType.File,
        0x4000 => GuestFileType.Directory,
        0xA000 => GuestFileType.Symlink,
        0x1000 => GuestFileType.Fifo,
        0x2000 => GuestFileType.CharacterDevice,
        0x6000 => GuestFileType.BlockDevice,
        0xC000 => GuestFileType.Socket,
        _ => null,
    };

    public DateTimeOffset ModifiedTime
    {
        get
        {
            long seconds = BinaryPrimitives.ReadInt32LittleEndian(_raw.AsSpan(Offsets.Mtime));
            long nanos = 0;
            if (ExtraIsize >= Offsets.MtimeExtra + 4 - GoodOldSize)
            {
                uint extra = BinaryPrimitives.ReadUInt32LittleEndian(_raw.AsSpan(Offsets.MtimeExtra));
                seconds += (long)(extra & 3) << 32;
                nanos = extra >> 2;
            }

            return DateTimeOffset.FromUnixTimeSeconds(seconds).AddTicks(Math.Min(nanos, 999_999_999) / 100);
        }
    }

    /// <summary>Copies one inode record in; <paramref name="record"/> is the on-disk record of <paramref name="number"/>.</summary>
    public void Load(uint number, long volumeOffset, ReadOnlySpan<byte> record)
    {
        if (_raw.Length < record.Length)
        {
            _raw = new byte[record.Length];
        }

        record.CopyTo(_raw);
        Number = number;
        VolumeOffset = volumeOffset;
        RecordSize = record.Length;
    }

    public Ext4Inode Clone()
    {
        var copy = new Ext4Inode();
        copy.Load(Number, VolumeOffset, Raw);
        return copy;
    }

    /// <summary>True when i_extra_isize leaves the record's bounds (the in-inode xattr area then cannot be located).</summary>
    public bool ExtraIsizeInvalid => RecordSize > GoodOldSize && (GoodOldSize + ExtraIsize > RecordSize || (ExtraIsize & 3) != 0);

    /// <summary>
    /// The stored and computed metadata_csum of the record: CRC-32C of seed, inode number, generation and the record with
    /// both checksum halves as zero. Only the low 16 bits count when the record has no room for i_checksum_hi.
    /// </summary>
    public (uint Stored, uint Computed) Checksums(Ext4Checksum csum)
    {
        ReadOnlySpan<byte> r = Raw;
        bool hasHi = RecordSize > GoodOldSize && ExtraIsize >= Offsets.ChecksumHi + 2 - GoodOldSize;
        var crc = csum.Start();
        Ext4Checksum.AppendUInt32(crc, Number);
        Ext4Checksum.AppendUInt32(crc, Generation);
        crc.Append(r[..Offsets.ChecksumLo]);
        crc.Append([0, 0]);
        if (RecordSize > GoodOldSize)
        {
            crc.Append(r[(Offsets.ChecksumLo + 2)..Offsets.ChecksumHi]);
            if (hasHi)
            {
                crc.Append([0, 0]);
            }
            else
            {
                crc.Append(r.Slice(Offsets.ChecksumHi, 2));
            }

            crc.Append(r[(Offsets.ChecksumHi + 2)..]);
        }
        else
        {
            crc.Append(r[(Offsets.ChecksumLo + 2)..]);
        }

        uint computed = crc.GetCurrentHashAsUInt32();
        uint stored = BinaryPrimitives.ReadUInt16LittleEndian(r[Offsets.ChecksumLo..]);
        if (hasHi)
        {
            stored |= (uint)BinaryPrimitives.ReadUInt16LittleEndian(r[Offsets.ChecksumHi..]) << 16;
        }
        else
        {
            computed &= 0xFFFF;
        }

        return (stored, computed);
    }

    /// <summary>
    /// Finds the value of the in-inode extended attribute "system.data" (inline data beyond i_block).
    /// Returns its offset inside the record and its length; (0, 0) when absent. Throws through <paramref name="fail"/> on a
    /// malformed attribute area.
    /// </summary>
    public (int Offset, int Length) FindInlineDataValue(Func<string, Exception> fail)
    {
        if (RecordSize <= GoodOldSize)
        {
            return (0, 0);
        }

        if (ExtraIsizeInvalid)
        {
            throw fail($"i_extra_isize {ExtraIsize} does not fit a {RecordSize}-byte inode");
        }

        ReadOnlySpan<byte> r = Raw;
        int start = GoodOldSize + ExtraIsize;
        if (start + 4 > RecordSize || BinaryPrimitives.ReadUInt32LittleEndian(r[start..]) != 0xEA02_0000)
        {
            return (0, 0);
        }

        int first = start + 4;
        int at = first;
        while (at + 4 <= RecordSize && BinaryPrimitives.ReadUInt32LittleEndian(r[at..]) != 0)
        {
            if (at + 16 > RecordSize)
            {
                throw fail($"extended attribute entry at inode byte {at} runs past the record");
            }

            int nameLength = r[at];
            byte index = r[at + 1];
            int valueOffset = BinaryPrimitives.ReadUInt16LittleEndian(r[(at + 2)..]);
            uint valueInode = BinaryPrimitives.ReadUInt32LittleEndian(r[(at + 4)..]);
            uint valueSize = BinaryPrimitives.ReadUInt32LittleEndian(r[(at + 8)..]);
            if (at + 16 + nameLength > RecordSize)
            {
                throw fail($"extended attribute name at inode byte {at} runs past the record");
            }

            if (index == 7 && nameLength == 4 && r.Slice(at + 16, 4).SequenceEqual("data"u8))
            {
                if (valueInode != 0 || valueSize > (uint)(RecordSize - first) || first + valueOffset + (int)valueSize > RecordSize)
                {
                    throw fail($"system.data value (offset {valueOffset}, {valueSize} bytes) lies outside the inode");
                }

                return (first + valueOffset, (int)valueSize);
            }

            at += (16 + nameLength + 3) & ~3;
        }

        return (0, 0);
    }
}
