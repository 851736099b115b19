using System.Buffers.Binary;
using Prism.Disks.Ext4;
using Prism.Disks.IO;
using Prism.Disks.Ntfs;

namespace Prism.Disks.Guest;

/// <summary>Recognizes the file system of a volume by its magic numbers and opens the supported ones.</summary>
public static class GuestFileSystems
{
    // ext2/3 features (as blkid classifies): anything else in incompat / ro_compat makes the volume ext4.
    private const uint Ext3Incompat = 0x2 | 0x4 | 0x10; // filetype, recover, meta_bg
    private const uint Ext3RoCompat = 0x1 | 0x2 | 0x4; // sparse_super, large_file, btree_dir
    private const uint CompatHasJournal = 0x4;

    /// <summary>True for the file systems Prism reads file by file (NTFS, ext2, ext3, ext4).</summary>
    public static bool IsSupported(GuestFileSystem fileSystem) =>
        fileSystem is GuestFileSystem.Ntfs or GuestFileSystem.Ext2 or GuestFileSystem.Ext3 or GuestFileSystem.Ext4;

    /// <summary>The usual name of <paramref name="fileSystem"/> ("NTFS", "ext4", "LVM2 PV", ...).</summary>
    public static string DisplayName(GuestFileSystem fileSystem) => fileSystem switch
    {
        GuestFileSystem.Ntfs => "NTFS",
        GuestFileSystem.Ext2 => "ext2",
        GuestFileSystem.Ext3 => "ext3",
        GuestFileSystem.Ext4 => "ext4",
        GuestFileSystem.Xfs => "XFS",
        GuestFileSystem.Btrfs => "btrfs",
        GuestFileSystem.Lvm2 => "LVM2 PV",
        GuestFileSystem.Swap => "swap",
        GuestFileSystem.BitLocker => "BitLocker",
        GuestFileSystem.Luks => "LUKS",
        GuestFileSystem.ReFS => "ReFS",
        _ => "unknown",
    };

    /// <summary>
    /// Which file system <paramref name="volume"/> (a partition or a whole unpartitioned disk) holds, from the magic
    /// numbers at their documented places; <see cref="GuestFileSystem.Unknown"/> when none matches. Reads a few sectors.
    /// </summary>
    public static GuestFileSystem Detect(IDiskSource volume)
    {
        ArgumentNullException.ThrowIfNull(volume);
        Span<byte> head = stackalloc byte[4096];
        head.Clear();
        int n = volume.Read(head[..(int)Math.Min(head.Length, volume.Length)], 0);
        ReadOnlySpan<byte> h = head[..n];
        if (h.Length >= 11)
        {
            ReadOnlySpan<byte> oem = h.Slice(3, 8);
            if (oem.SequenceEqual("NTFS    "u8))
            {
                return GuestFileSystem.Ntfs;
            }

            if (oem.SequenceEqual("-FVE-FS-"u8))
            {
                return GuestFileSystem.BitLocker;
            }

            if (oem.SequenceEqual("ReFS\0\0\0\0"u8))
            {
                return GuestFileSystem.ReFS;
            }
        }

        if (h.Length >= 6 && h[4] == 0xBA && h[5] == 0xBE && (h[..4].SequenceEqual("LUKS"u8) || h[..4].SequenceEqual("SKUL"u8)))
        {
            return GuestFileSystem.Luks;
        }

        if (h.Length >= 4 && h[..4].SequenceEqual("XFSB"u8))
        {
            return GuestFileSystem.Xfs;
        }

        // LVM2: the label is in one of the first four sectors, "LABELONE" then "LVM2 001" at +0x18.
        for (int s = 0; s + 32 <= h.Length && s < 2048; s += 512)
        {
            if (h.Slice(s, 8).SequenceEqual("LABELONE"u8) && h.Slice(s + 0x18, 8).SequenceEqual("LVM2 001"u8))
            {
                return GuestFileSystem.Lvm2;
            }
        }

        if (h.Length >= 2048 && BinaryPrimitives.ReadUInt16LittleEndian(h[(1024 + 0x38)..]) == 0xEF53)
        {
            uint compat = BinaryPrimitives.ReadUInt32LittleEndian(h[(1024 + 0x5C)..]);
            uint incompat = BinaryPrimitives.ReadUInt32LittleEndian(h[(1024 + 0x60)..]);
            uint roCompat = BinaryPrimitives.ReadUInt32LittleEndian(h[(1024 + 0x64)..]);
            return ClassifyExt(compat, incompat, roCompat);
        }

        Span<byte> magic = stackalloc byte[10];
        if (volume.Length >= 0x10040 + 8 && volume.Read(magic[..8], 0x10040) == 8 && magic[..8].SequenceEqual("_BHRfS_M"u8))
        {
            return GuestFileSystem.Btrfs;
        }

        foreach (int page in (ReadOnlySpan<int>)[4096, 8192, 16384, 65536])
        {
            if (volume.Length >= page && volume.Read(magic, page - 10) == 10
                && (magic.SequenceEqual("SWAPSPACE2"u8) || magic.SequenceEqual("SWAP-SPACE"u8)))
            {
                return GuestFileSystem.Swap;
            }
        }

        return GuestFileSystem.Unknown;
    }

    // ext4 when a feature ext3 lacks is on, else ext3 with a journal, else ext2.
    internal static GuestFileSystem ClassifyExt(uint compat, uint incompat, uint roCompat) =>
        (incompat & ~Ext3Incompat) != 0 || (roCompat & ~Ext3RoCompat) != 0 ? GuestFileSystem.Ext4
            : (compat & CompatHasJournal) != 0 ? GuestFileSystem.Ext3 : GuestFileSystem.Ext2;

    /// <summary>Opens the supported file system at <paramref name="offset"/> of <paramref name="disk"/>.</summary>
    /// <param name="disk">The whole disk.</param>
    /// <param name="offset">Where the volume starts.</param>
    /// <param name="length">The volume's length.</param>
    /// <param name="name">Name for error messages.</param>
    /// <exception cref="NotSupportedException">The volume holds no file system Prism reads file by file (the message names it).</exception>
    /// <exception cref="Errors.DiskFormatException">The file system is corrupt.</exception>
    public static IGuestVolume Open(IDiskSource disk, long offset, long length, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(disk);
        IDiskSource volume = offset == 0 && length == disk.Length ? disk : disk.Slice(offset, length);
        GuestFileSystem fs = Detect(volume);
        return fs switch
        {
            GuestFileSystem.Ntfs => NtfsVolume.Open(volume, name, offset),
            GuestFileSystem.Ext2 or GuestFileSystem.Ext3 or GuestFileSystem.Ext4 => Ext4Volume.Open(disk, offset, length, name),
            _ => throw new NotSupportedException($"{name ?? "volume"} at 0x{offset:X}: {DisplayName(fs)} is not read file by file (supported: NTFS, ext2, ext3, ext4)"),
        };
    }
}
