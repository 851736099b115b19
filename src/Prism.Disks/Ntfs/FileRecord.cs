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
        public const int Type = 0, Length = 4, NonResident = 8, NameLength = 9, NameOffset = 0x0A, Flags = 0x0C,
            ValueLength = 0x10, ValueOffset = 0x14, StartVcn = 0x10, LastVcn = 0x18, RunListOffset = 0x20, CompressionUnit = 0x22,
            AllocatedSize = 0x28, DataSize = 0x30, InitializedSize = 0x38;

        public const int ResidentHeaderSize = 0x18, NonResidentHeaderSize = 0x40;
    }

    private FileRecord(long recordNumber, ushort sequence, ushort linkCount, ushort flags, long baseRecord,
        ImmutableArray<NtfsAttribute> attributes, StandardInformation? standardInformation)
    {
        RecordNumber = recordNumber;
        SequenceNumber = sequence;
        LinkCount = linkCount;
        Flags = flags;
        BaseRecordNumber = baseRecord;
        Attributes = attributes;
        StandardInformation = standardInformation;
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

    /// <summary>The record's first $STANDARD_INFORMATION, when it is resident and long enough for times and flags.</summary>
    public StandardInformation? StandardInformation { get; }

    /// <summary>
    /// Applies fixups to <paramref name="raw"/> (the whole record, modified in place) and decodes it; resident values are
    /// copied out (but for $DATA's, see <see cref="NtfsAttribute.IsValueDeferred"/>), so <paramref name="raw"/> may be a
    /// reused buffer. Only the attribute types of <see cref="IsKept"/> are kept; $STANDARD_INFORMATION is decoded.
    /// Throws <see cref="NtfsFormatException"/> naming the record and its volume offset.
    /// Not-in-use records decode only their header (attributes empty).
    /// </summary>
    public static FileRecord Parse(Span<byte> raw, long recordNumber, long volumeOffset, long clusterCount, string? volume)
    {
        var layout = new RecordLayout();
        Read(raw, recordNumber, volumeOffset, clusterCount, volume, layout);
        return FromLayout(layout, raw);
    }

    /// <summary>The record <see cref="Read"/> laid out in <paramref name="layout"/> from <paramref name="record"/> (fixed up).</summary>
    public static FileRecord FromLayout(RecordLayout layout, ReadOnlySpan<byte> record)
    {
        var attributes = new NtfsAttribute[layout.Count];
        for (int i = 0; i < attributes.Length; i++)
        {
            attributes[i] = CreateAttribute(layout, i, record);
        }

        return new FileRecord(layout.RecordNumber, layout.SequenceNumber, layout.LinkCount, layout.Flags, layout.BaseRecordNumber,
            ImmutableCollectionsMarshal.AsImmutableArray(attributes), layout.StandardInformation);
    }

    /// <summary>
    /// Attribute <paramref name="index"/> of <paramref name="layout"/> as an object: its name decoded and its resident value
    /// copied out of <paramref name="record"/> (but for $DATA's, see <see cref="NtfsAttribute.IsValueDeferred"/>).
    /// </summary>
    public static NtfsAttribute CreateAttribute(RecordLayout layout, int index, ReadOnlySpan<byte> record)
    {
        ref readonly AttributeLayout a = ref layout[index];
        string name = string.Empty;
        if (a.NameLength > 0)
        {
            ReadOnlySpan<byte> nameBytes = record.Slice(a.NameOffset, 2 * a.NameLength);
            name = nameBytes.SequenceEqual(I30Utf16) ? DirectoryIndex.I30 : Encoding.Unicode.GetString(nameBytes);
        }

        ReadOnlyMemory<byte> value = a.IsResident && a.DataSize > 0 && a.Type != NtfsAttributeType.Data
            ? record.Slice(a.ValueOffset, (int)a.DataSize).ToArray() : ReadOnlyMemory<byte>.Empty;
        return NtfsAttribute.FromLayout(a, layout.RecordNumber, layout.SequenceNumber, name, value);
    }

    /// <summary>
    /// Applies fixups to <paramref name="raw"/> (modified in place), checks the record whole (header, every attribute's
    /// header, name, value bounds and run list) and lays it out in <paramref name="layout"/>: header fields, the decoded
    /// $STANDARD_INFORMATION and the attributes <see cref="IsKept"/> keeps. Allocates nothing but the run lists of kept
    /// non-resident attributes. Throws <see cref="NtfsFormatException"/> naming the record and its volume offset.
    /// </summary>
    public static void Read(Span<byte> raw, long recordNumber, long volumeOffset, long clusterCount, string? volume, RecordLayout layout)
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
        layout.Start(recordNumber, sequence, BinaryPrimitives.ReadUInt16LittleEndian(rec[Offsets.LinkCount..]), flags,
            (long)(BinaryPrimitives.ReadUInt64LittleEndian(rec[Offsets.BaseRecord..]) & 0x0000_FFFF_FFFF_FFFF));
        if ((flags & FlagInUse) == 0)
        {
            return;
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

        bool standardInformationSeen = false;
        int count = 0;
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
            // Only the first $STANDARD_INFORMATION counts, usable or not.
            bool decodeStandardInformation = type == (uint)NtfsAttributeType.StandardInformation && !standardInformationSeen;
            standardInformationSeen |= decodeStandardInformation;
            ReadAttribute(rec, pos, bytesInUse, recordNumber, volumeOffset, clusterCount, volume, decodeStandardInformation, layout);
            pos += BinaryPrimitives.ReadInt32LittleEndian(rec[(pos + AttributeOffsets.Length)..]);
        }
    }

    /// <summary>
    /// True for the attribute types the reader looks at. Parse checks every attribute (header, name, value bounds, runs)
    /// but keeps only these, so <see cref="Attributes"/> has no $FILE_NAME, $OBJECT_ID, $SECURITY_DESCRIPTOR, ...
    /// ($STANDARD_INFORMATION is decoded into <see cref="StandardInformation"/> instead).
    /// </summary>
    public static bool IsKept(NtfsAttributeType type) => type is NtfsAttributeType.AttributeList
        or NtfsAttributeType.VolumeName or NtfsAttributeType.Data or NtfsAttributeType.IndexRoot or NtfsAttributeType.IndexAllocation
        or NtfsAttributeType.Bitmap or NtfsAttributeType.ReparsePoint;

    // Checks one attribute and adds it to the layout when its type is kept. With decodeStandardInformation, a resident
    // value long enough for times and flags is decoded into the layout.
    private static void ReadAttribute(ReadOnlySpan<byte> rec, int pos, int bytesInUse, long recordNumber, long volumeOffset,
        long clusterCount, string? volume, bool decodeStandardInformation, RecordLayout layout)
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
        if (nameLength > 0 && (nameOffset < minLength - (nonResident ? 8 : 0) || nameOffset + (2 * nameLength) > length))
        {
            throw Error(volume, recordNumber, at, $"attribute name at 0x{nameOffset:X} ({nameLength} chars) outside the attribute");
        }

        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(attr[AttributeOffsets.Flags..]);
        if (!nonResident)
        {
            long valueLength = BinaryPrimitives.ReadUInt32LittleEndian(attr[AttributeOffsets.ValueLength..]);
            int valueOffset = BinaryPrimitives.ReadUInt16LittleEndian(attr[AttributeOffsets.ValueOffset..]);
            if (valueOffset < AttributeOffsets.ResidentHeaderSize || valueOffset > length || valueLength > length - valueOffset)
            {
                throw Error(volume, recordNumber, at, $"resident value at 0x{valueOffset:X} ({valueLength} bytes) outside the attribute");
            }

            if (decodeStandardInformation && valueLength >= Ntfs.StandardInformation.MinLength)
            {
                layout.StandardInformation = Ntfs.StandardInformation.Read(rec.Slice(pos + valueOffset, (int)valueLength));
            }

            if (!IsKept(type))
            {
                return;
            }

            layout.Add() = new AttributeLayout
            {
                Type = type,
                Flags = flags,
                Position = pos,
                NameOffset = pos + nameOffset,
                NameLength = nameLength,
                IsResident = true,
                ValueOffset = pos + valueOffset,
                DataSize = valueLength,
            };
            return;
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
            return;
        }

        layout.Add() = new AttributeLayout
        {
            Type = type,
            Flags = flags,
            Position = pos,
            NameOffset = pos + nameOffset,
            NameLength = nameLength,
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
