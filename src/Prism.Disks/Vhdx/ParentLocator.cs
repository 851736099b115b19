using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Text;
using Prism.Disks.Errors;

namespace Prism.Disks.Vhdx;

/// <summary>VHDX parent locator item (MS-VHDX 2.6.2.6): a type GUID and UTF-16 key/value pairs.</summary>
internal sealed class ParentLocator
{
    public const int HeaderSize = 20;
    public const int EntrySize = 12;

    public ParentLocator(Guid locatorType, ImmutableArray<KeyValuePair<string, string>> entries)
    {
        LocatorType = locatorType;
        Entries = entries;
    }

    public Guid LocatorType { get; }

    public ImmutableArray<KeyValuePair<string, string>> Entries { get; }

    public string? this[string key]
    {
        get
        {
            foreach (KeyValuePair<string, string> kv in Entries)
            {
                if (kv.Key == key)
                {
                    return kv.Value;
                }
            }

            return null;
        }
    }

    /// <summary>parent_linkage as a GUID; throws when missing or malformed.</summary>
    public Guid ParentLinkage(string? path, long offset) =>
        ParseGuid(this["parent_linkage"], "parent_linkage", path, offset)
        ?? throw new VhdxFormatException(path, "VHDX parent locator", offset, "required key parent_linkage is missing");

    /// <summary>parent_linkage2 when present and not the zero GUID.</summary>
    public Guid? ParentLinkage2(string? path, long offset)
    {
        Guid? g = ParseGuid(this["parent_linkage2"], "parent_linkage2", path, offset);
        return g == Guid.Empty ? null : g;
    }

    private static Guid? ParseGuid(string? value, string key, string? path, long offset)
    {
        if (value is null)
        {
            return null;
        }

        if (!Guid.TryParse(value.Trim(), out Guid g))
        {
            throw new VhdxFormatException(path, "VHDX parent locator", offset, $"{key} value \"{value}\" is not a GUID");
        }

        return g;
    }

    /// <summary>Decodes and validates the item; throws <see cref="VhdxFormatException"/> with the offending offset.</summary>
    public static ParentLocator Read(ReadOnlySpan<byte> item, string? path, long itemOffset)
    {
        const string Structure = "VHDX parent locator";
        var type = new Guid(item[..16]);
        if (type != VhdxLayout.VhdxParentLocatorType)
        {
            throw new VhdxFormatException(path, Structure, itemOffset, $"locator type {type} is not the VHDX parent locator type");
        }

        ushort count = BinaryPrimitives.ReadUInt16LittleEndian(item[18..]);
        if (HeaderSize + ((long)count * EntrySize) > item.Length)
        {
            throw new VhdxFormatException(path, Structure, itemOffset + 18, $"{count} entries do not fit in a {item.Length}-byte item");
        }

        var entries = ImmutableArray.CreateBuilder<KeyValuePair<string, string>>(count);
        for (int i = 0; i < count; i++)
        {
            int at = HeaderSize + (i * EntrySize);
            ReadOnlySpan<byte> e = item.Slice(at, EntrySize);
            uint keyOffset = BinaryPrimitives.ReadUInt32LittleEndian(e);
            uint valueOffset = BinaryPrimitives.ReadUInt32LittleEndian(e[4..]);
            ushort keyLength = BinaryPrimitives.ReadUInt16LittleEndian(e[8..]);
            ushort valueLength = BinaryPrimitives.ReadUInt16LittleEndian(e[10..]);
            string key = ReadString(item, keyOffset, keyLength, path, itemOffset + at, "key");
            string value = ReadString(item, valueOffset, valueLength, path, itemOffset + at, "value");
            foreach (KeyValuePair<string, string> kv in entries)
            {
                if (kv.Key == key)
                {
                    throw new VhdxFormatException(path, Structure, itemOffset + at, $"duplicate key \"{key}\"");
                }
            }

            entries.Add(new KeyValuePair<string, string>(key, value));
        }

        var locator = new ParentLocator(type, entries.MoveToImmutable());
        locator.ParentLinkage(path, itemOffset);
        locator.ParentLinkage2(path, itemOffset);
        if (locator["relative_path"] is null && locator["volume_path"] is null && locator["absolute_win32_path"] is null)
        {
            throw new VhdxFormatException(path, Structure, itemOffset,
                "none of relative_path, volume_path, absolute_win32_path is present");
        }

        return locator;
    }

    private static string ReadString(ReadOnlySpan<byte> item, uint offset, ushort length, string? path, long entryOffset, string what)
    {
        if (offset == 0 || length == 0 || length % 2 != 0 || offset + (long)length > item.Length)
        {
            throw new VhdxFormatException(path, "VHDX parent locator entry", entryOffset,
                $"{what} at +0x{offset:X} length {length} is empty, odd or outside the {item.Length}-byte item");
        }

        return Encoding.Unicode.GetString(item.Slice((int)offset, length));
    }

    /// <summary>Encodes a locator: header, entries, then the UTF-16LE strings in entry order.</summary>
    public static byte[] Build(IReadOnlyList<KeyValuePair<string, string>> entries)
    {
        int stringsStart = HeaderSize + (entries.Count * EntrySize);
        int total = stringsStart + entries.Sum(kv => Encoding.Unicode.GetByteCount(kv.Key) + Encoding.Unicode.GetByteCount(kv.Value));
        if (total > MetadataTable.MaxItemLength - VhdxLayout.MetadataTableSize)
        {
            throw new ArgumentException("parent locator strings are too long", nameof(entries));
        }

        byte[] item = new byte[total];
        VhdxLayout.VhdxParentLocatorType.TryWriteBytes(item);
        BinaryPrimitives.WriteUInt16LittleEndian(item.AsSpan(18), (ushort)entries.Count);
        int pos = stringsStart;
        for (int i = 0; i < entries.Count; i++)
        {
            Span<byte> e = item.AsSpan(HeaderSize + (i * EntrySize), EntrySize);
            int keyLen = Encoding.Unicode.GetBytes(entries[i].Key, item.AsSpan(pos));
            BinaryPrimitives.WriteUInt32LittleEndian(e, (uint)pos);
            BinaryPrimitives.WriteUInt16LittleEndian(e[8..], (ushort)keyLen);
            pos += keyLen;
            int valueLen = Encoding.Unicode.GetBytes(entries[i].Value, item.AsSpan(pos));
            BinaryPrimitives.WriteUInt32LittleEndian(e[4..], (uint)pos);
            BinaryPrimitives.WriteUInt16LittleEndian(e[10..], (ushort)valueLen);
            pos += valueLen;
        }

        return item;
    }
}
