using System.Buffers.Binary;
using System.IO.Hashing;

namespace Prism.Disks.Partitions;

/// <summary>GPT header (UEFI spec "GPT Header"); primary at LBA 1, backup at the disk's last LBA.</summary>
internal readonly record struct GptHeader(uint Revision, uint HeaderSize, ulong MyLba, ulong AlternateLba,
    ulong FirstUsableLba, ulong LastUsableLba, Guid DiskGuid, ulong EntryArrayLba, uint EntryCount, uint EntrySize,
    uint EntryArrayCrc32)
{
    public const int MinSize = 92;
    public const ulong Signature = 0x5452_4150_2049_4645; // "EFI PART"

    private static class Offsets
    {
        public const int Signature = 0, Revision = 8, HeaderSize = 12, HeaderCrc32 = 16, MyLba = 24, AlternateLba = 32,
            FirstUsableLba = 40, LastUsableLba = 48, DiskGuid = 56, EntryArrayLba = 72, EntryCount = 80, EntrySize = 84,
            EntryArrayCrc32 = 88;
    }

    /// <summary>
    /// False on a wrong signature, an impossible header size or a header CRC-32 mismatch: a damaged copy is legal,
    /// the other copy wins. <paramref name="problem"/> says why.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> sector, out GptHeader header, out string problem)
    {
        header = default;
        if (sector.Length < MinSize || BinaryPrimitives.ReadUInt64LittleEndian(sector) != Signature)
        {
            problem = "no \"EFI PART\" signature";
            return false;
        }

        uint size = BinaryPrimitives.ReadUInt32LittleEndian(sector[Offsets.HeaderSize..]);
        if (size < MinSize || size > sector.Length)
        {
            problem = $"header size {size} outside [{MinSize}, {sector.Length}]";
            return false;
        }

        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(sector[Offsets.HeaderCrc32..]);
        uint actual = ComputeCrc(sector[..(int)size]);
        if (stored != actual)
        {
            problem = $"header CRC-32 0x{actual:X8}, stored 0x{stored:X8}";
            return false;
        }

        header = new GptHeader(
            BinaryPrimitives.ReadUInt32LittleEndian(sector[Offsets.Revision..]),
            size,
            BinaryPrimitives.ReadUInt64LittleEndian(sector[Offsets.MyLba..]),
            BinaryPrimitives.ReadUInt64LittleEndian(sector[Offsets.AlternateLba..]),
            BinaryPrimitives.ReadUInt64LittleEndian(sector[Offsets.FirstUsableLba..]),
            BinaryPrimitives.ReadUInt64LittleEndian(sector[Offsets.LastUsableLba..]),
            new Guid(sector.Slice(Offsets.DiskGuid, 16)),
            BinaryPrimitives.ReadUInt64LittleEndian(sector[Offsets.EntryArrayLba..]),
            BinaryPrimitives.ReadUInt32LittleEndian(sector[Offsets.EntryCount..]),
            BinaryPrimitives.ReadUInt32LittleEndian(sector[Offsets.EntrySize..]),
            BinaryPrimitives.ReadUInt32LittleEndian(sector[Offsets.EntryArrayCrc32..]));
        problem = string.Empty;
        return true;
    }

    /// <summary>Writes a 92-byte header with its CRC-32 stamped last.</summary>
    public void Write(Span<byte> destination)
    {
        destination[..MinSize].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(destination, Signature);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Offsets.Revision..], Revision);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Offsets.HeaderSize..], MinSize);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[Offsets.MyLba..], MyLba);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[Offsets.AlternateLba..], AlternateLba);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[Offsets.FirstUsableLba..], FirstUsableLba);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[Offsets.LastUsableLba..], LastUsableLba);
        DiskGuid.TryWriteBytes(destination.Slice(Offsets.DiskGuid, 16));
        BinaryPrimitives.WriteUInt64LittleEndian(destination[Offsets.EntryArrayLba..], EntryArrayLba);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Offsets.EntryCount..], EntryCount);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Offsets.EntrySize..], EntrySize);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Offsets.EntryArrayCrc32..], EntryArrayCrc32);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Offsets.HeaderCrc32..], ComputeCrc(destination[..MinSize]));
    }

    /// <summary>IEEE CRC-32 of the header with its own CRC field read as zero.</summary>
    private static uint ComputeCrc(ReadOnlySpan<byte> header)
    {
        var crc = new Crc32();
        crc.Append(header[..Offsets.HeaderCrc32]);
        crc.Append([0, 0, 0, 0]);
        crc.Append(header[(Offsets.HeaderCrc32 + 4)..]);
        return crc.GetCurrentHashAsUInt32();
    }
}
