using System.Buffers.Binary;
using System.Collections.Immutable;
using Prism.Disks.Errors;

namespace Prism.Disks.Ntfs;

/// <summary>One $ATTRIBUTE_LIST entry: which record holds which attribute piece.</summary>
internal readonly record struct AttributeListEntry(NtfsAttributeType Type, long StartVcn, long RecordNumber, ushort SequenceNumber, ushort AttributeId)
{
    private const int MinLength = 0x1A;

    private static class Offsets
    {
        public const int Type = 0, Length = 4, StartVcn = 8, FileReference = 0x10, AttributeId = 0x18;
    }

    /// <summary>Decodes the whole list; throws <see cref="NtfsFormatException"/> on a malformed entry.</summary>
    public static ImmutableArray<AttributeListEntry> ReadAll(ReadOnlySpan<byte> list, long recordNumber, string? volume)
    {
        var entries = ImmutableArray.CreateBuilder<AttributeListEntry>();
        int pos = 0;
        while (pos + MinLength <= list.Length)
        {
            int length = BinaryPrimitives.ReadUInt16LittleEndian(list[(pos + Offsets.Length)..]);
            if (length < MinLength || length > list.Length - pos)
            {
                throw new NtfsFormatException(volume, $"NTFS $ATTRIBUTE_LIST of file record {recordNumber}", pos,
                    $"entry length {length} invalid (room {list.Length - pos})")
                { RecordNumber = recordNumber };
            }

            ulong reference = BinaryPrimitives.ReadUInt64LittleEndian(list[(pos + Offsets.FileReference)..]);
            entries.Add(new AttributeListEntry(
                (NtfsAttributeType)BinaryPrimitives.ReadUInt32LittleEndian(list[(pos + Offsets.Type)..]),
                BinaryPrimitives.ReadInt64LittleEndian(list[(pos + Offsets.StartVcn)..]),
                (long)(reference & 0x0000_FFFF_FFFF_FFFF),
                (ushort)(reference >> 48),
                BinaryPrimitives.ReadUInt16LittleEndian(list[(pos + Offsets.AttributeId)..])));
            pos += length;
        }

        return entries.ToImmutable();
    }
}
