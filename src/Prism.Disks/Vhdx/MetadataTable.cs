using System.Buffers.Binary;
using System.Collections.Immutable;
using Prism.Disks.Errors;

namespace Prism.Disks.Vhdx;

/// <summary>One metadata table entry (MS-VHDX 2.6.1.2).</summary>
internal readonly record struct MetadataEntry(Guid ItemId, int Offset, int Length, bool IsUser, bool IsVirtualDisk, bool IsRequired)
{
    public const int Size = 32;

    public uint Flags => (IsUser ? 1u : 0u) | (IsVirtualDisk ? 2u : 0u) | (IsRequired ? 4u : 0u);
}

/// <summary>The decoded system metadata items of a VHDX file (MS-VHDX 2.6.2).</summary>
internal sealed record VhdxMetadata(
    long BlockSize,
    bool LeaveBlockAllocated,
    bool HasParent,
    long VirtualSize,
    Guid DiskId,
    int LogicalSectorSize,
    int PhysicalSectorSize,
    ParentLocator? ParentLocator,
    ImmutableArray<MetadataEntry> Entries);

/// <summary>VHDX metadata table (MS-VHDX 2.6.1): a 64 KiB table at the start of the metadata region, items after it.</summary>
internal static class MetadataTable
{
    public const int MaxEntries = 2047;
    public const int MaxItemLength = 1024 * 1024;
    private const ulong Signature = 0x6174_6164_6174_656D; // "metadata"

    /// <summary>Decodes the table and every known item of <paramref name="region"/>; throws <see cref="VhdxFormatException"/> on anything invalid.</summary>
    public static VhdxMetadata Read(ReadOnlySpan<byte> region, string? path, long regionOffset, long regionLength = -1)
    {
        // The caller may pass only the part of the region its items reach (see ItemsEnd); bounds are the region's.
        regionLength = regionLength < 0 ? region.Length : regionLength;
        const string Table = "VHDX metadata table";
        if (region.Length < VhdxLayout.MetadataTableSize)
        {
            throw new VhdxFormatException(path, Table, regionOffset, "metadata region shorter than its 64 KiB table");
        }

        ulong sig = BinaryPrimitives.ReadUInt64LittleEndian(region);
        if (sig != Signature)
        {
            throw new VhdxFormatException(path, Table, regionOffset, $"signature 0x{sig:X16}, expected \"metadata\"");
        }

        ushort count = BinaryPrimitives.ReadUInt16LittleEndian(region[10..]);
        if (count > MaxEntries)
        {
            throw new VhdxFormatException(path, Table, regionOffset + 10, $"entry count {count} exceeds {MaxEntries}");
        }

        var entries = ImmutableArray.CreateBuilder<MetadataEntry>(count);
        for (int i = 0; i < count; i++)
        {
            int at = 32 + (i * MetadataEntry.Size);
            long entryOffset = regionOffset + at;
            ReadOnlySpan<byte> e = region.Slice(at, MetadataEntry.Size);
            var id = new Guid(e[..16]);
            uint off = BinaryPrimitives.ReadUInt32LittleEndian(e[16..]);
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(e[20..]);
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(e[24..]);
            if (len > MaxItemLength)
            {
                throw new VhdxFormatException(path, "VHDX metadata entry", entryOffset, $"item {id} length {len} exceeds 1 MiB");
            }

            if (len != 0 && (off < VhdxLayout.MetadataTableSize || (long)off + len > regionLength))
            {
                throw new VhdxFormatException(path, "VHDX metadata entry", entryOffset,
                    $"item {id} at +0x{off:X} length {len} lies outside the metadata region (0x{regionLength:X} bytes)");
            }

            var entry = new MetadataEntry(id, (int)off, (int)len, (flags & 1) != 0, (flags & 2) != 0, (flags & 4) != 0);
            foreach (MetadataEntry other in entries)
            {
                if (other.ItemId == id && other.IsUser == entry.IsUser)
                {
                    throw new VhdxFormatException(path, "VHDX metadata entry", entryOffset, $"duplicate item {id}");
                }

                if (len != 0 && other.Length != 0 && off < other.Offset + other.Length && other.Offset < off + len)
                {
                    throw new VhdxFormatException(path, "VHDX metadata entry", entryOffset,
                        $"item {id} at +0x{off:X} overlaps item {other.ItemId} at +0x{other.Offset:X}");
                }
            }

            entries.Add(entry);
        }

        ImmutableArray<MetadataEntry> all = entries.MoveToImmutable();
        foreach (MetadataEntry e in all)
        {
            if (e.ItemId == VhdxLayout.IncompleteFileItem)
            {
                throw new VhdxFormatException(path, "VHDX metadata entry", regionOffset + e.Offset,
                    "the file is marked incomplete (its creation never finished)");
            }

            if (e.IsRequired && !e.IsUser && !IsKnown(e.ItemId))
            {
                throw new VhdxFormatException(path, "VHDX metadata entry", regionOffset,
                    $"unknown system item {e.ItemId} is marked required; this VHDX needs a newer implementation");
            }
        }

        ReadOnlySpan<byte> fp = Item(region, all, path, regionOffset, VhdxLayout.FileParametersItem, 8, "File Parameters", out long fpOffset);
        uint blockSize = BinaryPrimitives.ReadUInt32LittleEndian(fp);
        uint fpFlags = BinaryPrimitives.ReadUInt32LittleEndian(fp[4..]);
        if (blockSize < VhdxLayout.MinBlockSize || blockSize > VhdxLayout.MaxBlockSize || !uint.IsPow2(blockSize))
        {
            throw new VhdxFormatException(path, "VHDX metadata item File Parameters", fpOffset,
                $"block size {blockSize} is not a power of two between 1 MiB and 256 MiB");
        }

        ReadOnlySpan<byte> lssItem = Item(region, all, path, regionOffset, VhdxLayout.LogicalSectorSizeItem, 4, "Logical Sector Size", out long lssOffset);
        uint lss = BinaryPrimitives.ReadUInt32LittleEndian(lssItem);
        if (lss is not (512 or 4096))
        {
            throw new VhdxFormatException(path, "VHDX metadata item Logical Sector Size", lssOffset, $"value {lss}, expected 512 or 4096");
        }

        ReadOnlySpan<byte> pssItem = Item(region, all, path, regionOffset, VhdxLayout.PhysicalSectorSizeItem, 4, "Physical Sector Size", out long pssOffset);
        uint pss = BinaryPrimitives.ReadUInt32LittleEndian(pssItem);
        if (pss is not (512 or 4096))
        {
            throw new VhdxFormatException(path, "VHDX metadata item Physical Sector Size", pssOffset, $"value {pss}, expected 512 or 4096");
        }

        ReadOnlySpan<byte> vdsItem = Item(region, all, path, regionOffset, VhdxLayout.VirtualDiskSizeItem, 8, "Virtual Disk Size", out long vdsOffset);
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(vdsItem);
        if (size == 0 || size > VhdxLayout.MaxVirtualSize || size % lss != 0)
        {
            throw new VhdxFormatException(path, "VHDX metadata item Virtual Disk Size", vdsOffset,
                $"size {size} is not a non-zero multiple of the {lss}-byte logical sector up to 64 TiB");
        }

        ReadOnlySpan<byte> idItem = Item(region, all, path, regionOffset, VhdxLayout.VirtualDiskIdItem, 16, "Virtual Disk ID", out _);
        var diskId = new Guid(idItem[..16]);

        bool hasParent = (fpFlags & 2) != 0;
        ParentLocator? locator = null;
        if (hasParent)
        {
            ReadOnlySpan<byte> pl = Item(region, all, path, regionOffset, VhdxLayout.ParentLocatorItem, ParentLocator.HeaderSize, "Parent Locator", out long plOffset);
            locator = ParentLocator.Read(pl, path, plOffset);
        }

        return new VhdxMetadata(blockSize, (fpFlags & 1) != 0, hasParent, (long)size, diskId, (int)lss, (int)pss, locator, all);
    }

    private static ReadOnlySpan<byte> Item(ReadOnlySpan<byte> region, ImmutableArray<MetadataEntry> all, string? path,
        long regionOffset, Guid id, int minLength, string name, out long itemOffset)
    {
        foreach (MetadataEntry e in all)
        {
            if (e.ItemId == id && !e.IsUser)
            {
                itemOffset = regionOffset + e.Offset;
                if (e.Length < minLength)
                {
                    throw new VhdxFormatException(path, $"VHDX metadata item {name}", itemOffset,
                        $"length {e.Length}, expected at least {minLength}");
                }

                return region.Slice(e.Offset, e.Length);
            }
        }

        throw new VhdxFormatException(path, "VHDX metadata table", regionOffset, $"required item {name} ({id}) is missing");
    }

    private static bool IsKnown(Guid id) =>
        id == VhdxLayout.FileParametersItem || id == VhdxLayout.VirtualDiskSizeItem || id == VhdxLayout.VirtualDiskIdItem
        || id == VhdxLayout.LogicalSectorSizeItem || id == VhdxLayout.PhysicalSectorSizeItem || id == VhdxLayout.ParentLocatorItem;

    /// <summary>
    /// How many bytes of the region, from its start, hold the table and every item its entries point to (at least the
    /// table's bytes given, at most <paramref name="limit"/>). Malformed entries are left for <see cref="Read"/> to report.
    /// </summary>
    public static int ItemsEnd(ReadOnlySpan<byte> table, int limit)
    {
        long end = table.Length;
        if (table.Length >= VhdxLayout.MetadataTableSize)
        {
            int count = Math.Min((int)BinaryPrimitives.ReadUInt16LittleEndian(table[10..]), MaxEntries);
            for (int i = 0; i < count; i++)
            {
                ReadOnlySpan<byte> e = table.Slice(32 + (i * MetadataEntry.Size), MetadataEntry.Size);
                long itemEnd = (long)BinaryPrimitives.ReadUInt32LittleEndian(e[16..]) + BinaryPrimitives.ReadUInt32LittleEndian(e[20..]);
                end = Math.Max(end, itemEnd);
            }
        }

        return (int)Math.Min(end, limit);
    }

    /// <summary>
    /// Builds a metadata region (table + items, Hyper-V order and flags) of <paramref name="regionLength"/> bytes and
    /// returns its used part: the table and the items, rounded up to 4 KiB. The rest of the region is zeros; leaving
    /// it out keeps a 1 MiB array (and the collections it costs) out of every clone creation.
    /// </summary>
    public static byte[] Build(long regionLength, long blockSize, bool fixedDisk, long virtualSize, Guid diskId,
        int logicalSectorSize, int physicalSectorSize, byte[]? parentLocator)
    {
        var items = new List<(Guid Id, byte[] Data, uint Flags)>
        {
            (VhdxLayout.FileParametersItem, new byte[8], 0x4),
            (VhdxLayout.VirtualDiskSizeItem, new byte[8], 0x6),
            (VhdxLayout.LogicalSectorSizeItem, new byte[4], 0x6),
            (VhdxLayout.PhysicalSectorSizeItem, new byte[4], 0x6),
            (VhdxLayout.VirtualDiskIdItem, diskId.ToByteArray(), 0x6),
        };
        BinaryPrimitives.WriteUInt32LittleEndian(items[0].Data, (uint)blockSize);
        BinaryPrimitives.WriteUInt32LittleEndian(items[0].Data.AsSpan(4), (fixedDisk ? 1u : 0u) | (parentLocator is not null ? 2u : 0u));
        BinaryPrimitives.WriteUInt64LittleEndian(items[1].Data, (ulong)virtualSize);
        BinaryPrimitives.WriteUInt32LittleEndian(items[2].Data, (uint)logicalSectorSize);
        BinaryPrimitives.WriteUInt32LittleEndian(items[3].Data, (uint)physicalSectorSize);
        if (parentLocator is not null)
        {
            items.Add((VhdxLayout.ParentLocatorItem, parentLocator, 0x4));
        }

        long used = VhdxLayout.MetadataTableSize + items.Sum(i => (long)i.Data.Length);
        if (used > regionLength)
        {
            throw new ArgumentException($"metadata items need 0x{used:X} bytes, more than the 0x{regionLength:X}-byte region", nameof(regionLength));
        }

        byte[] region = new byte[Math.Min(regionLength, VhdxLayout.RoundUp(used, 4096))];
        Span<byte> r = region;
        BinaryPrimitives.WriteUInt64LittleEndian(r, Signature);
        BinaryPrimitives.WriteUInt16LittleEndian(r[10..], (ushort)items.Count);
        int dataOffset = VhdxLayout.MetadataTableSize;
        for (int i = 0; i < items.Count; i++)
        {
            Span<byte> e = r.Slice(32 + (i * MetadataEntry.Size), MetadataEntry.Size);
            items[i].Id.TryWriteBytes(e);
            BinaryPrimitives.WriteUInt32LittleEndian(e[16..], (uint)dataOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(e[20..], (uint)items[i].Data.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(e[24..], items[i].Flags);
            items[i].Data.CopyTo(r[dataOffset..]);
            dataOffset += items[i].Data.Length;
        }

        return region;
    }
}
