using System.Buffers.Binary;
using System.Collections.Immutable;
using Prism.Disks.Errors;

namespace Prism.Disks.Vhdx;

/// <summary>One region table entry (MS-VHDX 2.2.3.2).</summary>
internal readonly record struct RegionTableEntry(Guid Guid, long FileOffset, long Length, bool Required)
{
    public const int Size = 32;

    public long End => FileOffset + Length;
}

/// <summary>VHDX region table (MS-VHDX 2.2.3); 64 KiB, copies at 192 KiB and 256 KiB.</summary>
internal sealed class RegionTable
{
    public const int MaxEntries = 2047;
    private const uint Signature = 0x6967_6572; // "regi"

    public RegionTable(ImmutableArray<RegionTableEntry> entries) => Entries = entries;

    public ImmutableArray<RegionTableEntry> Entries { get; }

    public RegionTableEntry Bat => Entries.First(e => e.Guid == VhdxLayout.BatRegion);

    public RegionTableEntry Metadata => Entries.First(e => e.Guid == VhdxLayout.MetadataRegion);

    /// <summary>
    /// Decodes and validates a 64 KiB table. Returns false (with the reason) on a bad signature or checksum,
    /// so the caller can try the other copy; throws <see cref="VhdxFormatException"/> on a table that is intact but invalid.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> source, string? path, long fileOffset, out RegionTable? table, out string? reason)
    {
        table = null;
        reason = null;
        if (source.Length < VhdxLayout.RegionTableSize)
        {
            reason = "truncated";
            return false;
        }

        ReadOnlySpan<byte> s = source[..VhdxLayout.RegionTableSize];
        uint sig = BinaryPrimitives.ReadUInt32LittleEndian(s);
        if (sig != Signature)
        {
            reason = $"signature 0x{sig:X8}, expected 0x{Signature:X8} (\"regi\")";
            return false;
        }

        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(s[4..]);
        uint actual = VhdxChecksum.Compute(s, 4);
        if (stored != actual)
        {
            reason = $"checksum 0x{stored:X8}, expected 0x{actual:X8}";
            return false;
        }

        uint count = BinaryPrimitives.ReadUInt32LittleEndian(s[8..]);
        if (count > MaxEntries)
        {
            throw new VhdxFormatException(path, "VHDX region table", fileOffset + 8, $"entry count {count} exceeds {MaxEntries}");
        }

        var builder = ImmutableArray.CreateBuilder<RegionTableEntry>((int)count);
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> e = s.Slice(16 + (i * RegionTableEntry.Size), RegionTableEntry.Size);
            long entryOffset = fileOffset + 16 + (i * RegionTableEntry.Size);
            var guid = new Guid(e[..16]);
            ulong off = BinaryPrimitives.ReadUInt64LittleEndian(e[16..]);
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(e[24..]);
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(e[28..]);
            if (off % VhdxLayout.MiB != 0 || off < (ulong)VhdxLayout.HeaderAreaSize || off > VhdxLayout.MaxFileOffset)
            {
                throw new VhdxFormatException(path, "VHDX region table entry", entryOffset,
                    $"region {guid} file offset 0x{off:X} is not a 1 MiB multiple at or beyond 1 MiB");
            }

            if (len == 0 || len % VhdxLayout.MiB != 0)
            {
                throw new VhdxFormatException(path, "VHDX region table entry", entryOffset,
                    $"region {guid} length 0x{len:X} is not a non-zero 1 MiB multiple");
            }

            bool known = guid == VhdxLayout.BatRegion || guid == VhdxLayout.MetadataRegion;
            bool required = (flags & 1) != 0;
            if (!known && required)
            {
                throw new VhdxFormatException(path, "VHDX region table entry", entryOffset,
                    $"unknown region {guid} is marked required; this VHDX needs a newer implementation");
            }

            foreach (RegionTableEntry other in builder)
            {
                if (other.Guid == guid)
                {
                    throw new VhdxFormatException(path, "VHDX region table entry", entryOffset, $"duplicate region {guid}");
                }

                if ((long)off < other.End && other.FileOffset < (long)off + len)
                {
                    throw new VhdxFormatException(path, "VHDX region table entry", entryOffset,
                        $"region {guid} at 0x{off:X} overlaps region {other.Guid} at 0x{other.FileOffset:X}");
                }
            }

            builder.Add(new RegionTableEntry(guid, (long)off, len, required));
        }

        foreach (Guid needed in new[] { VhdxLayout.BatRegion, VhdxLayout.MetadataRegion })
        {
            if (!builder.Any(e => e.Guid == needed))
            {
                string name = needed == VhdxLayout.BatRegion ? "BAT" : "metadata";
                throw new VhdxFormatException(path, "VHDX region table", fileOffset, $"the {name} region ({needed}) is missing");
            }
        }

        table = new RegionTable(builder.MoveToImmutable());
        return true;
    }

    /// <summary>Writes the 64 KiB table with its checksum.</summary>
    public void Write(Span<byte> destination)
    {
        Span<byte> d = destination[..VhdxLayout.RegionTableSize];
        d.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(d, Signature);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], (uint)Entries.Length);
        for (int i = 0; i < Entries.Length; i++)
        {
            Span<byte> e = d.Slice(16 + (i * RegionTableEntry.Size), RegionTableEntry.Size);
            RegionTableEntry entry = Entries[i];
            entry.Guid.TryWriteBytes(e);
            BinaryPrimitives.WriteUInt64LittleEndian(e[16..], (ulong)entry.FileOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(e[24..], (uint)entry.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(e[28..], entry.Required ? 1u : 0u);
        }

        VhdxChecksum.Stamp(d, 4);
    }
}
