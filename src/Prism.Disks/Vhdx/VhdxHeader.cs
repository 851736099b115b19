using System.Buffers.Binary;

namespace Prism.Disks.Vhdx;

/// <summary>VHDX header (MS-VHDX 2.2.2 "Headers"); two copies, at 64 KiB and 128 KiB.</summary>
internal readonly record struct VhdxHeader(ulong SequenceNumber, Guid FileWriteGuid, Guid DataWriteGuid,
    Guid LogGuid, ushort LogVersion, ushort Version, uint LogLength, ulong LogOffset)
{
    public const int Size = 4 * 1024;
    private const uint Signature = 0x6461_6568; // "head"

    private static class Offsets
    {
        public const int Signature = 0, Checksum = 4, SequenceNumber = 8, FileWriteGuid = 16, DataWriteGuid = 32,
            LogGuid = 48, LogVersion = 64, Version = 66, LogLength = 68, LogOffset = 72;
    }

    /// <summary>False on a wrong signature or CRC-32C: a torn copy is legal, the other copy wins.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out VhdxHeader header)
    {
        header = default;
        if (source.Length < Size
            || BinaryPrimitives.ReadUInt32LittleEndian(source[Offsets.Signature..]) != Signature
            || !VhdxChecksum.IsValid(source[..Size], Offsets.Checksum))
        {
            return false;
        }

        header = new VhdxHeader(
            BinaryPrimitives.ReadUInt64LittleEndian(source[Offsets.SequenceNumber..]),
            new Guid(source.Slice(Offsets.FileWriteGuid, 16)),
            new Guid(source.Slice(Offsets.DataWriteGuid, 16)),
            new Guid(source.Slice(Offsets.LogGuid, 16)),
            BinaryPrimitives.ReadUInt16LittleEndian(source[Offsets.LogVersion..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[Offsets.Version..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[Offsets.LogLength..]),
            BinaryPrimitives.ReadUInt64LittleEndian(source[Offsets.LogOffset..]));
        return true;
    }

    /// <summary>True when the 80 meaningful bytes of two headers are the same (Disk2VHD writes equal copies).</summary>
    public bool SameContentAs(VhdxHeader other) => this == other;

    /// <summary>Writes the 4 KiB structure with its checksum.</summary>
    public void Write(Span<byte> destination)
    {
        Span<byte> d = destination[..Size];
        d.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(d[Offsets.Signature..], Signature);
        BinaryPrimitives.WriteUInt64LittleEndian(d[Offsets.SequenceNumber..], SequenceNumber);
        FileWriteGuid.TryWriteBytes(d[Offsets.FileWriteGuid..]);
        DataWriteGuid.TryWriteBytes(d[Offsets.DataWriteGuid..]);
        LogGuid.TryWriteBytes(d[Offsets.LogGuid..]);
        BinaryPrimitives.WriteUInt16LittleEndian(d[Offsets.LogVersion..], LogVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(d[Offsets.Version..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(d[Offsets.LogLength..], LogLength);
        BinaryPrimitives.WriteUInt64LittleEndian(d[Offsets.LogOffset..], LogOffset);
        VhdxChecksum.Stamp(d, Offsets.Checksum);
    }
}
