using System.Buffers.Binary;
using System.IO.Hashing;

namespace Prism.Disks.Ext4;

/// <summary>
/// The checksums of ext4 "metadata_csum" (ext4 "Checksums"): CRC-32C kept as the raw register (no final inversion),
/// chained from a seed (~0 for the superblock, the volume's checksum seed for everything else); and the CRC-16 of
/// the older "gdt_csum" group descriptors.
/// </summary>
internal sealed class Ext4Checksum
{
    private const uint Castagnoli = 0x1EDC_6F41;
    private static readonly Crc32ParameterSet s_fromOnes = Crc32ParameterSet.Create(Castagnoli, uint.MaxValue, 0, reflectValues: true);
    private readonly Crc32ParameterSet _fromSeed;

    public Ext4Checksum(uint seed)
    {
        Seed = seed;
        _fromSeed = Crc32ParameterSet.Create(Castagnoli, seed, 0, reflectValues: true);
    }

    /// <summary>The volume's seed: s_checksum_seed, or the raw CRC-32C of the UUID.</summary>
    public uint Seed { get; }

    /// <summary>Raw CRC-32C of <paramref name="data"/> from ~0 (the superblock's checksum).</summary>
    public static uint FromOnes(ReadOnlySpan<byte> data) => Crc32.HashToUInt32(s_fromOnes, data);

    /// <summary>A running CRC-32C that starts from the volume seed.</summary>
    public Crc32 Start() => new(_fromSeed);

    /// <summary>Appends a little-endian 32-bit value (inode and group numbers, generations).</summary>
    public static void AppendUInt32(Crc32 crc, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        crc.Append(b);
    }

    /// <summary>The checksum of a block owned by an inode (extent blocks, directory blocks): seed, inode, generation, bytes.</summary>
    public uint OfInodeBlock(uint inode, uint generation, ReadOnlySpan<byte> data)
    {
        Crc32 crc = Start();
        AppendUInt32(crc, inode);
        AppendUInt32(crc, generation);
        crc.Append(data);
        return crc.GetCurrentHashAsUInt32();
    }

    /// <summary>CRC-16 (polynomial 0x8005, reflected) as "gdt_csum" group descriptors use it, continued from <paramref name="crc"/>.</summary>
    public static ushort Crc16(ushort crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (ushort)((crc >> 1) ^ 0xA001) : (ushort)(crc >> 1);
            }
        }

        return crc;
    }
}
