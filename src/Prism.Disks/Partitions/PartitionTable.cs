using System.Buffers.Binary;
using System.Collections.Immutable;
using System.IO.Hashing;
using Prism.Disks.Errors;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;

namespace Prism.Disks.Partitions;

/// <summary>
/// The partitions of a disk: MBR (primary, extended and logical partitions) or GPT (primary header,
/// falling back to the backup header at the last LBA when the primary or its entry array is damaged).
/// </summary>
public sealed class PartitionTable
{
    /// <summary>Most logical partitions followed in an extended partition chain.</summary>
    public const int MaxLogicalPartitions = 256;

    /// <summary>Largest GPT entry array accepted (bytes).</summary>
    public const int MaxGptEntryArrayLength = 4 * 1024 * 1024;

    private static readonly byte[] s_ntfsOemId = "NTFS    "u8.ToArray();

    private PartitionTable(PartitionScheme scheme, int sectorSize, ImmutableArray<Partition> partitions, bool usedBackup,
        ImmutableArray<string> warnings, Guid diskGuid)
    {
        Scheme = scheme;
        SectorSize = sectorSize;
        Partitions = partitions;
        UsedBackupGptHeader = usedBackup;
        Warnings = warnings;
        DiskGuid = diskGuid;
    }

    /// <summary>The partitioning scheme found.</summary>
    public PartitionScheme Scheme { get; }

    /// <summary>The logical sector size the table was read with.</summary>
    public int SectorSize { get; }

    /// <summary>The partitions, in Linux numbering order (empty for <see cref="PartitionScheme.None"/>).</summary>
    public ImmutableArray<Partition> Partitions { get; }

    /// <summary>True when the primary GPT header or entry array was damaged and the backup copy was used.</summary>
    public bool UsedBackupGptHeader { get; }

    /// <summary>Problems that were tolerated (a damaged GPT copy), one line each.</summary>
    public ImmutableArray<string> Warnings { get; }

    /// <summary>The GPT disk GUID (<see cref="Guid.Empty"/> for MBR).</summary>
    public Guid DiskGuid { get; }

    /// <summary>
    /// Reads the table with the logical sector size of a VHDX disk; for other sources, probing the sector size:
    /// a GPT header at LBA 1 of a 4096-byte-sector disk selects 4096, otherwise 512.
    /// </summary>
    /// <exception cref="DiskFormatException">The table is present but malformed.</exception>
    public static PartitionTable Read(IDiskSource disk)
    {
        ArgumentNullException.ThrowIfNull(disk);
        // An MBR carries no sector size: on a 4096-byte-sector VHDX its LBAs count 4096-byte sectors.
        if (disk is VhdxDisk { LogicalSectorSize: not 512 } vhdx)
        {
            return Read(disk, vhdx.LogicalSectorSize);
        }

        Span<byte> probe = stackalloc byte[8];
        bool gpt512 = disk.Length >= 1024 && disk.Read(probe, 512) == 8 && BinaryPrimitives.ReadUInt64LittleEndian(probe) == GptHeader.Signature;
        bool gpt4k = !gpt512 && disk.Length >= 8192 && disk.Read(probe, 4096) == 8
            && BinaryPrimitives.ReadUInt64LittleEndian(probe) == GptHeader.Signature;
        return Read(disk, gpt4k ? 4096 : 512);
    }

    /// <summary>Reads the table with the given logical sector size (512 or 4096, or another power of two).</summary>
    /// <exception cref="DiskFormatException">The table is present but malformed (both GPT copies damaged, partition outside the disk, ...).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sectorSize"/> is not a power of two in [512, 65536].</exception>
    public static PartitionTable Read(IDiskSource disk, int sectorSize)
    {
        ArgumentNullException.ThrowIfNull(disk);
        if (sectorSize < 512 || sectorSize > 65536 || !int.IsPow2(sectorSize))
        {
            throw new ArgumentOutOfRangeException(nameof(sectorSize), sectorSize, "sector size must be a power of two in [512, 65536]");
        }

        if (disk.Length < sectorSize)
        {
            return Empty(sectorSize);
        }

        byte[] mbr = new byte[sectorSize];
        disk.ReadExactly(mbr, 0);
        if (!LooksLikeMbr(mbr))
        {
            return Empty(sectorSize);
        }

        for (int slot = 0; slot < 4; slot++)
        {
            if (MbrSector.Entry(mbr, slot).Type == MbrSector.ProtectiveType)
            {
                return ReadGpt(disk, sectorSize);
            }
        }

        return ReadMbr(disk, sectorSize, mbr);
    }

    private static PartitionTable Empty(int sectorSize) =>
        new(PartitionScheme.None, sectorSize, [], false, [], Guid.Empty);

    // An NTFS/FAT boot sector also ends in 0x55AA; its bytes at 0x1BE are boot code, so require sane status bytes
    // and reject a volume boot record.
    private static bool LooksLikeMbr(ReadOnlySpan<byte> sector)
    {
        if (!MbrSector.HasSignature(sector) || sector.Slice(3, 8).SequenceEqual(s_ntfsOemId))
        {
            return false;
        }

        bool any = false;
        for (int slot = 0; slot < 4; slot++)
        {
            MbrEntry e = MbrSector.Entry(sector, slot);
            if (e.Status is not (0x00 or 0x80))
            {
                return false;
            }

            any |= !e.IsEmpty;
        }

        return any;
    }

    private static PartitionTable ReadMbr(IDiskSource disk, int sectorSize, byte[] mbr)
    {
        long diskSectors = disk.Length / sectorSize;
        var partitions = ImmutableArray.CreateBuilder<Partition>();
        var extended = new List<(MbrEntry Entry, int Slot)>();
        for (int slot = 0; slot < 4; slot++)
        {
            MbrEntry e = MbrSector.Entry(mbr, slot);
            if (e.IsEmpty)
            {
                continue;
            }

            long entryOffset = MbrSector.EntriesOffset + (slot * MbrEntry.Size);
            CheckInside(e.FirstLba, e.SectorCount, diskSectors, $"MBR partition entry {slot + 1}", entryOffset);
            // The extended container is not a data partition; its logical partitions are listed instead.
            if (e.IsExtended)
            {
                extended.Add((e, slot));
                continue;
            }

            partitions.Add(new Partition(disk, slot + 1, e.FirstLba, e.SectorCount, sectorSize, e.Type, Guid.Empty, Guid.Empty,
                string.Empty, 0, isLogical: false));
        }

        if (extended.Count > 1)
        {
            throw new DiskFormatException(null, "MBR", 0, $"{extended.Count} extended partitions; at most one is allowed");
        }

        if (extended.Count == 1)
        {
            ReadLogicals(disk, sectorSize, extended[0].Entry, diskSectors, partitions);
        }

        return new PartitionTable(PartitionScheme.Mbr, sectorSize, partitions.ToImmutable(), false, [], Guid.Empty);
    }

    private static void ReadLogicals(IDiskSource disk, int sectorSize, MbrEntry container, long diskSectors,
        ImmutableArray<Partition>.Builder partitions)
    {
        long extStart = container.FirstLba;
        long extEnd = extStart + container.SectorCount;
        long ebrLba = extStart;
        var visited = new HashSet<long>();
        byte[] ebr = new byte[sectorSize];
        int number = 5;
        while (true)
        {
            long ebrOffset = ebrLba * sectorSize;
            if (!visited.Add(ebrLba))
            {
                throw new DiskFormatException(null, "EBR", ebrOffset, "extended partition chain loops back to an earlier EBR");
            }

            if (visited.Count > MaxLogicalPartitions)
            {
                throw new DiskFormatException(null, "EBR", ebrOffset, $"more than {MaxLogicalPartitions} logical partitions");
            }

            disk.ReadExactly(ebr, ebrOffset);
            if (!MbrSector.HasSignature(ebr))
            {
                throw new DiskFormatException(null, "EBR", ebrOffset, "missing 0x55AA signature");
            }

            MbrEntry logical = MbrSector.Entry(ebr, 0);
            if (!logical.IsEmpty)
            {
                long start = ebrLba + logical.FirstLba;
                CheckInside(start, logical.SectorCount, diskSectors, "EBR logical entry", ebrOffset + MbrSector.EntriesOffset);
                if (start + logical.SectorCount > extEnd)
                {
                    throw new DiskFormatException(null, "EBR logical entry", ebrOffset + MbrSector.EntriesOffset,
                        $"logical partition [{start}, {start + logical.SectorCount}) leaves the extended partition [{extStart}, {extEnd})");
                }

                partitions.Add(new Partition(disk, number++, start, logical.SectorCount, sectorSize, logical.Type,
                    Guid.Empty, Guid.Empty, string.Empty, 0, isLogical: true));
            }

            MbrEntry next = MbrSector.Entry(ebr, 1);
            if (next.IsEmpty || !next.IsExtended)
            {
                return;
            }

            long nextLba = extStart + next.FirstLba;
            if (nextLba < extStart || nextLba >= extEnd)
            {
                throw new DiskFormatException(null, "EBR link entry", ebrOffset + MbrSector.EntriesOffset + MbrEntry.Size,
                    $"next EBR at LBA {nextLba} lies outside the extended partition [{extStart}, {extEnd})");
            }

            ebrLba = nextLba;
        }
    }

    private static void CheckInside(long firstLba, long count, long diskSectors, string structure, long offset)
    {
        if (firstLba == 0 || firstLba >= diskSectors || count > diskSectors - firstLba)
        {
            throw new DiskFormatException(null, structure, offset,
                $"partition [{firstLba}, {firstLba + count}) lies outside the disk of {diskSectors} sectors");
        }
    }

    private static PartitionTable ReadGpt(IDiskSource disk, int sectorSize)
    {
        long diskSectors = disk.Length / sectorSize;
        var warnings = ImmutableArray.CreateBuilder<string>();
        if (TryReadGptCopy(disk, sectorSize, 1, diskSectors, out GptHeader header, out byte[]? entries, out string problem))
        {
            return BuildGpt(disk, sectorSize, header, entries!, false, warnings);
        }

        warnings.Add($"primary GPT at 0x{(long)sectorSize:X}: {problem}; using the backup header");
        long backupLba = diskSectors - 1;
        if (TryReadGptCopy(disk, sectorSize, backupLba, diskSectors, out header, out entries, out string backupProblem))
        {
            return BuildGpt(disk, sectorSize, header, entries!, true, warnings);
        }

        throw new DiskFormatException(null, "GPT header", sectorSize,
            $"primary damaged ({problem}) and backup at 0x{backupLba * sectorSize:X} damaged ({backupProblem})");
    }

    private static bool TryReadGptCopy(IDiskSource disk, int sectorSize, long lba, long diskSectors, out GptHeader header,
        out byte[]? entries, out string problem)
    {
        entries = null;
        header = default;
        if (lba <= 0 || lba >= diskSectors)
        {
            problem = $"LBA {lba} outside the disk";
            return false;
        }

        byte[] sector = new byte[sectorSize];
        disk.ReadExactly(sector, lba * sectorSize);
        if (!GptHeader.TryRead(sector, out header, out problem))
        {
            return false;
        }

        if (header.MyLba != (ulong)lba)
        {
            problem = $"header says it lives at LBA {header.MyLba}, read at LBA {lba}";
            return false;
        }

        if (header.EntrySize < GptEntry.MinSize || header.EntrySize % 8 != 0 || header.EntrySize > 4096)
        {
            problem = $"entry size {header.EntrySize} is not a multiple of 8 in [{GptEntry.MinSize}, 4096]";
            return false;
        }

        long arrayLength = (long)header.EntryCount * header.EntrySize;
        if (arrayLength > MaxGptEntryArrayLength)
        {
            problem = $"entry array of {header.EntryCount} x {header.EntrySize} bytes exceeds {MaxGptEntryArrayLength} bytes";
            return false;
        }

        long arraySectors = (arrayLength + sectorSize - 1) / sectorSize;
        if (header.EntryArrayLba == 0 || header.EntryArrayLba >= (ulong)diskSectors
            || (long)header.EntryArrayLba > diskSectors - arraySectors)
        {
            problem = $"entry array at LBA {header.EntryArrayLba} ({arraySectors} sectors) lies outside the disk";
            return false;
        }

        if (header.FirstUsableLba > header.LastUsableLba || header.LastUsableLba >= (ulong)diskSectors)
        {
            problem = $"usable range [{header.FirstUsableLba}, {header.LastUsableLba}] is not inside the disk of {diskSectors} sectors";
            return false;
        }

        byte[] array = new byte[arrayLength];
        disk.ReadExactly(array, (long)header.EntryArrayLba * sectorSize);
        uint crc = Crc32.HashToUInt32(array);
        if (crc != header.EntryArrayCrc32)
        {
            problem = $"entry array CRC-32 0x{crc:X8}, header says 0x{header.EntryArrayCrc32:X8}";
            return false;
        }

        entries = array;
        return true;
    }

    private static PartitionTable BuildGpt(IDiskSource disk, int sectorSize, GptHeader header, byte[] array, bool usedBackup,
        ImmutableArray<string>.Builder warnings)
    {
        var partitions = ImmutableArray.CreateBuilder<Partition>();
        long arrayOffset = (long)header.EntryArrayLba * sectorSize;
        for (int i = 0; i < header.EntryCount; i++)
        {
            int at = checked(i * (int)header.EntrySize);
            GptEntry e = GptEntry.Read(array.AsSpan(at, (int)header.EntrySize));
            if (e.IsUnused)
            {
                continue;
            }

            if (e.FirstLba < header.FirstUsableLba || e.LastLba > header.LastUsableLba || e.FirstLba > e.LastLba)
            {
                throw new DiskFormatException(null, $"GPT entry {i + 1}", arrayOffset + at,
                    $"partition [{e.FirstLba}, {e.LastLba}] outside the usable range [{header.FirstUsableLba}, {header.LastUsableLba}]");
            }

            partitions.Add(new Partition(disk, i + 1, (long)e.FirstLba, (long)(e.LastLba - e.FirstLba + 1), sectorSize, 0,
                e.TypeGuid, e.UniqueGuid, e.Name, e.Attributes, isLogical: false));
        }

        return new PartitionTable(PartitionScheme.Gpt, sectorSize, partitions.ToImmutable(), usedBackup, warnings.ToImmutable(),
            header.DiskGuid);
    }
}
