using System.Buffers.Binary;

namespace Prism.Disks.Ntfs;

/// <summary>NTFS boot sector ("BIOS parameter block" + NTFS extension), at the volume's first and last sector.</summary>
internal readonly record struct BootSector(int BytesPerSector, int ClusterSize, long TotalSectors, long MftLcn, long MftMirrorLcn,
    int MftRecordSize, int IndexBlockSize, ulong SerialNumber)
{
    public const int Size = 512;
    private static readonly ulong s_oemId = BinaryPrimitives.ReadUInt64LittleEndian("NTFS    "u8);

    private static class Offsets
    {
        public const int OemId = 3, BytesPerSector = 0x0B, SectorsPerCluster = 0x0D, TotalSectors = 0x28, MftLcn = 0x30,
            MftMirrorLcn = 0x38, ClustersPerMftRecord = 0x40, ClustersPerIndexBlock = 0x44, SerialNumber = 0x48, Signature = 0x1FE;
    }

    public long ClusterCount => TotalSectors * BytesPerSector / ClusterSize;

    /// <summary>
    /// Decodes and validates a boot sector; false with a reason when it is not a usable NTFS boot sector.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> sector, out BootSector boot, out string problem)
    {
        boot = default;
        if (sector.Length < Size)
        {
            problem = "short sector";
            return false;
        }

        if (BinaryPrimitives.ReadUInt64LittleEndian(sector[Offsets.OemId..]) != s_oemId)
        {
            problem = "OEM id is not \"NTFS    \"";
            return false;
        }

        if (BinaryPrimitives.ReadUInt16LittleEndian(sector[Offsets.Signature..]) != 0xAA55)
        {
            problem = "missing 0x55AA signature";
            return false;
        }

        int bytesPerSector = BinaryPrimitives.ReadUInt16LittleEndian(sector[Offsets.BytesPerSector..]);
        if (bytesPerSector is < 256 or > 4096 || !int.IsPow2(bytesPerSector))
        {
            problem = $"bytes per sector {bytesPerSector} is not a power of two in [256, 4096]";
            return false;
        }

        // Sectors per cluster above 0x80 is a negative power of two (clusters larger than 64 KiB with 512-byte sectors).
        byte spcRaw = sector[Offsets.SectorsPerCluster];
        long sectorsPerCluster = spcRaw <= 0x80 ? spcRaw : 1L << Math.Min(256 - spcRaw, 31);
        long clusterSize = sectorsPerCluster * bytesPerSector;
        if (sectorsPerCluster == 0 || !long.IsPow2(sectorsPerCluster) || clusterSize > 2 * 1024 * 1024)
        {
            problem = $"sectors per cluster byte 0x{spcRaw:X2} gives an unsupported cluster size";
            return false;
        }

        long totalSectors = BinaryPrimitives.ReadInt64LittleEndian(sector[Offsets.TotalSectors..]);
        long mftLcn = BinaryPrimitives.ReadInt64LittleEndian(sector[Offsets.MftLcn..]);
        long mirrorLcn = BinaryPrimitives.ReadInt64LittleEndian(sector[Offsets.MftMirrorLcn..]);
        if (totalSectors <= 0 || totalSectors > long.MaxValue / 4096)
        {
            problem = $"total sectors {totalSectors} out of range";
            return false;
        }

        long clusters = totalSectors * bytesPerSector / clusterSize;
        if (mftLcn <= 0 || mftLcn >= clusters || mirrorLcn < 0 || mirrorLcn >= clusters)
        {
            problem = $"$MFT LCN {mftLcn} or $MFTMirr LCN {mirrorLcn} outside {clusters} clusters";
            return false;
        }

        if (!TryDecodeSize(sector[Offsets.ClustersPerMftRecord], clusterSize, out int recordSize) || recordSize < 256 || recordSize > 65536)
        {
            problem = $"clusters per MFT record byte 0x{sector[Offsets.ClustersPerMftRecord]:X2} gives an unsupported record size";
            return false;
        }

        if (!TryDecodeSize(sector[Offsets.ClustersPerIndexBlock], clusterSize, out int indexSize) || indexSize < 256 || indexSize > 65536)
        {
            problem = $"clusters per index block byte 0x{sector[Offsets.ClustersPerIndexBlock]:X2} gives an unsupported index block size";
            return false;
        }

        boot = new BootSector(bytesPerSector, (int)clusterSize, totalSectors, mftLcn, mirrorLcn, recordSize, indexSize,
            BinaryPrimitives.ReadUInt64LittleEndian(sector[Offsets.SerialNumber..]));
        problem = string.Empty;
        return true;
    }

    // A positive value counts clusters; a negative one (as signed byte) is log2 of the size in bytes.
    private static bool TryDecodeSize(byte raw, long clusterSize, out int size)
    {
        var value = (sbyte)raw;
        long bytes = value > 0 ? value * clusterSize : value < 0 && value >= -31 ? 1L << -value : 0;
        size = (int)Math.Min(bytes, int.MaxValue);
        return bytes > 0 && long.IsPow2(bytes);
    }
}
