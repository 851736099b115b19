using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Runtime.InteropServices;
using System.Text;
using Prism.Disks.Errors;

namespace Prism.Disks.Ntfs;

/// <summary>An MFT file record ("FILE" record: header, update sequence array, attributes), fixed up and decoded.</summary>
internal sealed class FileRecord
{
    public const ushort FlagInUse = 0x0001;
    public const ushort FlagDirectory = 0x0002;
    private const uint Magic = 0x454C_4946; // "FILE"
    private const int MaxAttributes = 1024;

    // "$I30" in UTF-16LE: every directory's index attributes carry this name, so it is not decoded each time.
    private static ReadOnlySpan<byte> I30Utf16 => [0x24, 0x00, 0x49, 0x00, 0x33, 0x00, 0x30, 0x00];

    private static class Offsets
    {
        public const int Magic = 0, UsaOffset = 4, UsaCount = 6, SequenceNumber = 0x10, LinkCount = 0x12, FirstAttribute = 0x14,
            Flags = 0x16, BytesInUse = 0x18, BytesAllocated = 0x1C, BaseRecord = 0x20;
    }

    private static class AttributeOffsets
    {
        public const int Type = 0, Length = 4, NonResident = 8, NameLength = 9, NameOffset = 0x0A, Flags = 0x0C, Id = 0x0E,
            ValueLength = 0x10, ValueOffset = 0x14, StartVcn = 0x10, LastVcn = 0x18, RunListOffset = 0x20, CompressionUnit = 0x22,
            AllocatedSize = 0x28, DataSize = 0x30, InitializedSize = 0x38;

        public const int ResidentHeaderSize = 0x18, NonResidentHeaderSize = 0x40;
    }

    private FileRecord(long recordNumber, ushort sequence, ushort linkCount, ushort flags, long baseRecord,
        ImmutableArray<NtfsAttribute> attributes)
    {
        RecordNumber = recordNumber;
        SequenceNumber = sequence;
        LinkCount = linkCount;
        Flags = flags;
        BaseRecordNumber = baseRecord;
        Attributes = attributes;
    }

    public long RecordNumber { get; }

    public ushort SequenceNumber { get; }

    public ushort LinkCount { get; }

    public ushort Flags { get; }

    public bool InUse => (Flags & FlagInUse) != 0;

    public bool IsDirectory => (Flags & FlagDirectory) != 0;

    /// <summary>The base record's number for an extension record; 0 for a base record.</summary>
    public long BaseRecordNumber { get; }

    /// <summary>The record's attributes of the types <see cref="IsKept"/> accepts, in record order (all were checked).</summary>
    public ImmutableArray<NtfsAttribute> Attributes { get; }

    /// <summary>
    /// Applies fixups to <paramref name="raw"/> (the whole record, modified in place) and decodes it; resident values are
    /// copied out, so <paramref name="raw"/> may be a reused buffer. Only the attribute types of <see cref="IsKept"/> are kept.
    /// Throws <see cref="NtfsFormatException"/> naming the record and its volume offset.
    /// Not-in-use records decode only their header (attributes empty).
    /// </summary>
    public static FileRecord Parse(Span<byte> raw, long recordNumber, long volumeOffset, long clusterCount, string? volume)
    {
        Span<byte> rec = raw;
        if (BinaryPrimitives.ReadUInt32LittleEndian(rec) != Magic)
        {
            throw Error(volume, recordNumber, volumeOffset, $"signature 0x{BinaryPrimitives.ReadUInt32LittleEndian(rec):X8} is not \"FILE\"");
        }

        string? fix = FixupArray.TryApply(rec, BinaryPrimitives.ReadUInt16LittleEndian(rec[Offsets.UsaOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(rec[Offsets.UsaCount..]));
        if (fix is not null)
        {
            throw Error(volume, recordNumber, volumeOffset, fix);
        }

        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(rec[Offsets.Flags..]);
        ushort sequence = BinaryPrimitives.ReadUInt16LittleEndian(rec[Offsets.SequenceNumber..]);
        ushort links = BinaryPrimitives.ReadUInt16LittleEndian(rec[Offsets.LinkCount..]);
        long baseRecord = (long)(BinaryPrimitives.ReadUInt64LittleEndian(rec[Offsets.BaseRecord..]) & 0x0000_FFFF_FFFF_FFFF);
        if ((flags & FlagInUse) == 0)
        {
            return new FileRecord(recordNumber, sequence, links, flags, baseRecord, []);
        }

        int bytesInUse = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(rec[Offsets.BytesInUse..]), int.MaxValue);
        int first = BinaryPrimitives.ReadUInt16LittleEndian(rec[Offsets.FirstAttribute..]);
        if (bytesInUse > rec.Length || bytesInUse < 0x30)
        {
            throw Error(volume, recordNumber, volumeOffset, $"bytes in use {bytesInUse} outside [0x30, {rec.Length}]");
        }

        if (first < 0x28 || first > bytesInUse - 4)
        {
            throw Error(volume, recordNumber, volumeOffset, $"first attribute offset 0x{first:X} outside the used part (0x{bytesInUse:X})");
        }

        // Count first (without judging anything) so the attribute array is normally allocated once, at its final size;
        // the loop after it does the checks, in the same order as always.
        var attributes = new NtfsAttribute[CountKeptAttributes(rec, first, bytesInUse)];
        int count = 0;
        int kept = 0;
        int pos = first;
        while (true)
        {
            if (pos > bytesInUse - 4)
            {
                throw Error(volume, recordNumber, volumeOffset + pos, "attribute list runs past the used part without an end marker");
            }

            uint type = BinaryPrimitives.ReadUInt32LittleEndian(rec[pos..]);
            if (type == (uint)NtfsAttributeType.End)
            {
                break;
            }

            if (count >= MaxAttributes)
            {
                throw Error(volume, recordNumber, volumeOffset + pos, $"more than {MaxAttributes} attributes");
            }

            count++;
            NtfsAttribute? attribute = ParseAttribute(rec, pos, bytesInUse, recordNumber, volumeOffset, clusterCount, volume);
            if (attribute is not null)
            {
                if (kept == attributes.Length)
                {
                    Array.Resize(ref attributes, (2 * kept) + 1);
                }

                attributes[kept++] = attribute;
            }

            pos += BinaryPrimitives.ReadInt32LittleEndian(rec[(pos + AttributeOffsets.Length)..]);
        }

        if (kept != attributes.Length)
        {
            Array.Resize(ref attributes, kept);
        }

        return new FileRecord(recordNumber, sequence, links, flags, baseRecord, ImmutableCollectionsMarshal.AsImmutableArray(attributes));
    }

    /// <summary>
    /// True for the attribute types the reader looks at. Parse checks every attribute (header, name, value bounds, runs)
    /// but keeps only these, so <see cref="Attributes"/> has no $FILE_NAME, $OBJECT_ID, $SECURITY_DESCRIPTOR, ...
    /// </summary>
    public static bool IsKept(NtfsAttributeType type) => type is NtfsAttributeType.StandardInformation or NtfsAttributeType.AttributeList
        or NtfsAttributeType.VolumeName or NtfsAttributeType.Data or NtfsAttributeType.IndexRoot or NtfsAttributeType.IndexAllocation
        or NtfsAttributeType.Bitmap or NtfsAttributeType.ReparsePoint;

    // How many kept attributes the record seems to hold; stops quietly at anything odd (Parse reports it).
    private static int CountKeptAttributes(ReadOnlySpan<byte> rec, int first, int bytesInUse)
    {
        int count = 0;
        int kept = 0;
        int pos = first;
        while (pos <= bytesInUse - 8 && count < MaxAttributes
            && BinaryPrimitives.ReadUInt32LittleEndian(rec[pos..]) != (uint)NtfsAttributeType.End)
        {
            count++;
            if (IsKept((NtfsAttributeType)BinaryPrimitives.ReadUInt32LittleEndian(rec[pos..])))
            {
                kept++;
            }

            int length = BinaryPrimitives.ReadInt32LittleEndian(rec[(pos + AttributeOffsets.Length)..]);
            if (length < AttributeOffsets.ResidentHeaderSize || length > bytesInUse - pos)
            {
                break;
            }

            pos += length;
        }

        return kept;
    }

    // Checks one attribute; returns it when its type is kept (resident values copied out of the record), else null.
    private static NtfsAttribute? ParseAttribute(ReadOnlySpan<byte> rec, int pos, int bytesInUse, long recordNumber, long volumeOffset,
        long clusterCount, string? volume)
    {
        long at = volumeOffset + pos;
        if (pos > bytesInUse - AttributeOffsets.ResidentHeaderSize)
        {
            throw Error(volume, recordNumber, at, "attribute header runs past the used part");
        }

        var type = (NtfsAttributeType)BinaryPrimitives.ReadUInt32LittleEndian(rec[pos..]);
        int length = BinaryPrimitives.ReadInt32LittleEndian(rec[(pos + AttributeOffsets.Length)..]);
        bool nonResident = rec[pos + AttributeOffsets.NonResident] != 0;
        int minLength = nonResident ? AttributeOffsets.NonResidentHeaderSize : AttributeOffsets.ResidentHeaderSize;
        if (length < minLength || (length & 7) != 0 || length > bytesInUse - pos)
        {
            throw Error(volume, recordNumber, at, $"attribute 0x{(uint)type:X} length {length} invalid (min {minLength}, room {bytesInUse - pos})");
        }

        ReadOnlySpan<byte> attr = rec.Slice(pos, length);
        int nameLength = attr[AttributeOffsets.NameLength];
        int nameOffset = BinaryPrimitives.ReadUInt16LittleEndian(attr[AttributeOffsets.NameOffset..]);
        string name = string.Empty;
        if (nameLength > 0)
        {
            if (nameOffset < minLength - (nonResident ? 8 : 0) || nameOffset + (2 * nameLength) > length)
            {
                throw Error(volume, recordNumber, at, $"attribute name at 0x{nameOffset:X} ({nameLength} chars) outside the attribute");
            }

            ReadOnlySpan<byte> nameBytes = attr.Slice(nameOffset, 2 * nameLength);
            if (IsKept(type))
            {
                name = nameBytes.SequenceEqual(I30Utf16) ? DirectoryIndex.I30 : Encoding.Unicode.GetString(nameBytes);
            }
        }

        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(attr[AttributeOffsets.Flags..]);
        ushort id = BinaryPrimitives.ReadUInt16LittleEndian(attr[AttributeOffsets.Id..]);
        if (!nonResident)
        {
            long valueLength = BinaryPrimitives.ReadUInt32LittleEndian(attr[AttributeOffsets.ValueLength..]);
            int valueOffset = BinaryPrimitives.ReadUInt16LittleEndian(attr[AttributeOffsets.ValueOffset..]);
            if (valueOffset < AttributeOffsets.ResidentHeaderSize || valueOffset > length || valueLength > length - valueOffset)
            {
                throw Error(volume, recordNumber, at, $"resident value at 0x{valueOffset:X} ({valueLength} bytes) outside the attribute");
            }

            if (!IsKept(type))
            {
                return null;
            }

            return new NtfsAttribute
            {
                Type = type,
                Name = name,
                Flags = flags,
                Id = id,
                RecordNumber = recordNumber,
                RecordOffset = pos,
                IsResident = true,
                ValueOffset = pos + valueOffset,
                Value = valueLength == 0 ? ReadOnlyMemory<byte>.Empty : rec.Slice(pos + valueOffset, (int)valueLength).ToArray(),
            };
        }

        long startVcn = BinaryPrimitives.ReadInt64LittleEndian(attr[AttributeOffsets.StartVcn..]);
        long lastVcn = BinaryPrimitives.ReadInt64LittleEndian(attr[AttributeOffsets.LastVcn..]);
        int runOffset = BinaryPrimitives.ReadUInt16LittleEndian(attr[AttributeOffsets.RunListOffset..]);
        int compression = BinaryPrimitives.ReadUInt16LittleEndian(attr[AttributeOffsets.CompressionUnit..]);
        long allocated = BinaryPrimitives.ReadInt64LittleEndian(attr[AttributeOffsets.AllocatedSize..]);
        long dataSize = BinaryPrimitives.ReadInt64LittleEndian(attr[AttributeOffsets.DataSize..]);
        long initialized = BinaryPrimitives.ReadInt64LittleEndian(attr[AttributeOffsets.InitializedSize..]);
        if (startVcn < 0 || lastVcn < startVcn - 1 || lastVcn >= clusterCount + startVcn + (1L << 32))
        {
            throw Error(volume, recordNumber, at, $"VCN range [{startVcn}, {lastVcn}] invalid");
        }

        if (runOffset < 0x40 || runOffset > length)
        {
            throw Error(volume, recordNumber, at, $"run list offset 0x{runOffset:X} outside the attribute");
        }

        if (compression > 16)
        {
            throw Error(volume, recordNumber, at, $"compression unit 2^{compression} clusters unsupported");
        }

        if (startVcn == 0 && (allocated < 0 || dataSize < 0 || initialized < 0 || dataSize > allocated || initialized > dataSize))
        {
            throw Error(volume, recordNumber, at, $"sizes allocated {allocated}, data {dataSize}, initialized {initialized} inconsistent");
        }

        ImmutableArray<DataRun> runs = DataRunDecoder.Decode(attr[runOffset..], startVcn, lastVcn - startVcn + 1, clusterCount,
            volume, recordNumber, at + runOffset);
        if (!IsKept(type))
        {
            return null;
        }

        return new NtfsAttribute
        {
            Type = type,
            Name = name,
            Flags = flags,
            Id = id,
            RecordNumber = recordNumber,
            RecordOffset = pos,
            IsResident = false,
            StartVcn = startVcn,
            LastVcn = lastVcn,
            CompressionUnitLog2 = compression,
            AllocatedSize = allocated,
            DataSize = dataSize,
            InitializedSize = initialized,
            Runs = runs,
        };
    }

    /// <summary>An error about record <paramref name="recordNumber"/>; a negative <paramref name="offset"/> means unknown.</summary>
    public static NtfsFormatException Error(string? volume, long recordNumber, long offset, string detail) =>
        new(volume, $"NTFS file record {recordNumber}", offset < 0 ? null : offset, detail) { RecordNumber = recordNumber };
}
