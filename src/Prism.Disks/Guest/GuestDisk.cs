using Prism.Disks.Errors;
using Prism.Disks.IO;
using Prism.Disks.Partitions;

namespace Prism.Disks.Guest;

/// <summary>
/// One partition (or the whole unpartitioned disk) and what was found in it: the file system by name, the opened
/// volume when Prism reads it file by file, or why not.
/// </summary>
/// <param name="Number">Partition number (0 for an unpartitioned disk).</param>
/// <param name="Offset">Where it starts on the disk.</param>
/// <param name="Length">Its length in bytes.</param>
/// <param name="FileSystem">What its magic numbers say.</param>
/// <param name="Volume">The opened volume, or null (unsupported, unknown, or corrupt: see <paramref name="Problem"/>).</param>
/// <param name="Problem">Why <paramref name="Volume"/> is null: "not supported", "no file system recognized" or the error.</param>
public sealed record GuestPartition(int Number, long Offset, long Length, GuestFileSystem FileSystem, IGuestVolume? Volume, string? Problem)
{
    /// <summary>One line: "partition 2 at 0x100000 (1.0 GiB): ext4" and the problem if any.</summary>
    public override string ToString() =>
        $"{(Number == 0 ? "volume" : $"partition {Number}")} at 0x{Offset:X}: {GuestFileSystems.DisplayName(FileSystem)}{(Problem is null ? "" : $" ({Problem})")}";
}

/// <summary>The volumes of a disk: partitions (GPT or MBR) or the whole disk, each with its file system detected.</summary>
public sealed class GuestDisk
{
    private GuestDisk(IReadOnlyList<GuestPartition> partitions, IReadOnlyList<ByteRange> unclaimed, string? tableProblem)
    {
        Partitions = partitions;
        Unclaimed = unclaimed;
        TableProblem = tableProblem;
    }

    /// <summary>Partitions in table order (or one entry, number 0, for a disk without a partition table).</summary>
    public IReadOnlyList<GuestPartition> Partitions { get; }

    /// <summary>
    /// The disk's byte ranges no opened volume claims (gaps, the partition table, partitions holding an unsupported,
    /// unknown or unreadable file system), sorted: what a scanner reads raw so that nothing is skipped.
    /// </summary>
    public IReadOnlyList<ByteRange> Unclaimed { get; }

    /// <summary>Why the partition table could not be read (then the disk is treated as unpartitioned), or null.</summary>
    public string? TableProblem { get; }

    /// <summary>The opened volumes, in partition order.</summary>
    public IEnumerable<IGuestVolume> Volumes => Partitions.Where(p => p.Volume is not null).Select(p => p.Volume!);

    /// <summary>
    /// Reads the partition table of <paramref name="disk"/>, detects each partition's file system and opens the supported
    /// ones. Never throws for a bad partition or volume: the problem is recorded and the space counts as unclaimed.
    /// </summary>
    /// <param name="disk">The disk.</param>
    /// <param name="name">The disk's name for error messages (its path).</param>
    public static GuestDisk Open(IDiskSource disk, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(disk);
        PartitionTable? table = null;
        string? tableProblem = null;
        try
        {
            table = PartitionTable.Read(disk);
        }
        catch (DiskFormatException e)
        {
            tableProblem = e.Message;
        }

        var parts = new List<GuestPartition>();
        if (table is not null && table.Partitions.Length > 0)
        {
            foreach (Partition p in table.Partitions)
            {
                parts.Add(OpenOne(disk, p.Number, p.Start, p.Length, name is null ? $"partition {p.Number}" : $"{name} partition {p.Number}"));
            }
        }
        else
        {
            parts.Add(OpenOne(disk, 0, 0, disk.Length, name));
        }

        var claimed = parts.Where(p => p.Volume is not null).Select(p => new ByteRange(p.Offset, p.Length)).OrderBy(r => r.Offset).ToList();
        var raw = new List<ByteRange>();
        long cursor = 0;
        foreach (ByteRange c in claimed)
        {
            if (c.Offset > cursor)
            {
                raw.Add(new ByteRange(cursor, c.Offset - cursor));
            }

            cursor = Math.Max(cursor, c.End);
        }

        if (cursor < disk.Length)
        {
            raw.Add(new ByteRange(cursor, disk.Length - cursor));
        }

        return new GuestDisk(parts, raw, tableProblem);
    }

    private static GuestPartition OpenOne(IDiskSource disk, int number, long offset, long length, string? name)
    {
        GuestFileSystem fs;
        try
        {
            fs = GuestFileSystems.Detect(disk.Slice(offset, length));
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            return new GuestPartition(number, offset, length, GuestFileSystem.Unknown, null, e.Message);
        }

        if (!GuestFileSystems.IsSupported(fs))
        {
            return new GuestPartition(number, offset, length, fs, null,
                fs == GuestFileSystem.Unknown ? "no file system recognized: scanned raw" : "not supported: scanned raw");
        }

        try
        {
            return new GuestPartition(number, offset, length, fs, GuestFileSystems.Open(disk, offset, length, name), null);
        }
        catch (Exception e) when (e is DiskFormatException or NotSupportedException or IOException or InvalidDataException)
        {
            return new GuestPartition(number, offset, length, fs, null, e.Message + ": scanned raw");
        }
    }
}
