using System.Buffers.Binary;
using System.Text;

namespace Prism.Disks.Ext4;

/// <summary>The ext2/3/4 superblock (ext4 "Super Block"): 1024 bytes at byte 1024 of the volume, backups in some groups.</summary>
internal sealed class Ext4Superblock
{
    public const int Size = 1024;
    public const int PrimaryOffset = 1024;
    public const ushort Magic = 0xEF53;

    // Compatible features.
    public const uint CompatHasJournal = 0x4, CompatDirIndex = 0x20, CompatSparseSuper2 = 0x200;

    // Incompatible features.
    public const uint IncompatCompression = 0x1, IncompatFiletype = 0x2, IncompatRecover = 0x4, IncompatJournalDev = 0x8,
        IncompatMetaBg = 0x10, IncompatExtents = 0x40, Incompat64Bit = 0x80, IncompatMmp = 0x100, IncompatFlexBg = 0x200,
        IncompatEaInode = 0x400, IncompatDirData = 0x1000, IncompatCsumSeed = 0x2000, IncompatLargeDir = 0x4000,
        IncompatInlineData = 0x8000, IncompatEncrypt = 0x10000, IncompatCasefold = 0x20000;

    // Read-only compatible features.
    public const uint RoSparseSuper = 0x1, RoHugeFile = 0x8, RoGdtCsum = 0x10, RoBigalloc = 0x200, RoMetadataCsum = 0x400;

    private const uint KnownIncompat = IncompatFiletype | IncompatRecover | IncompatMetaBg | IncompatExtents | Incompat64Bit
        | IncompatMmp | IncompatFlexBg | IncompatEaInode | IncompatCsumSeed | IncompatLargeDir | IncompatInlineData | IncompatCasefold;

    private static class Offsets
    {
        public const int InodesCount = 0x0, BlocksCountLo = 0x4, FirstDataBlock = 0x14, LogBlockSize = 0x18, LogClusterSize = 0x1C,
            BlocksPerGroup = 0x20, InodesPerGroup = 0x28, Magic = 0x38, State = 0x3A, RevLevel = 0x4C, FirstIno = 0x54,
            InodeSize = 0x58, BlockGroupNr = 0x5A, FeatureCompat = 0x5C, FeatureIncompat = 0x60, FeatureRoCompat = 0x64,
            Uuid = 0x68, VolumeName = 0x78, JournalInum = 0xE0, HashSeed = 0xEC, HashVersion = 0xFC, DescSize = 0xFE, FirstMetaBg = 0x104,
            BlocksCountHi = 0x150, Flags = 0x160, LogGroupsPerFlex = 0x174, ChecksumType = 0x175, BackupBgs = 0x24C, ChecksumSeed = 0x270,
            Checksum = 0x3FC;
    }

    private Ext4Superblock()
    {
    }

    public uint InodesCount { get; private init; }
    public long BlocksCount { get; private init; }
    public uint FirstDataBlock { get; private init; }
    public int BlockSize { get; private init; }
    public uint BlocksPerGroup { get; private init; }
    public uint InodesPerGroup { get; private init; }
    public ushort State { get; private init; }
    public uint FirstInode { get; private init; }
    public int InodeSize { get; private init; }
    public ushort BlockGroupNumber { get; private init; }
    public uint FeatureCompat { get; private init; }
    public uint FeatureIncompat { get; private init; }
    public uint FeatureRoCompat { get; private init; }
    public Guid Uuid { get; private init; }
    public byte[] UuidBytes { get; private init; } = [];
    public string Label { get; private init; } = string.Empty;
    public uint JournalInode { get; private init; }
    public int DescriptorSize { get; private init; }
    public uint FirstMetaBg { get; private init; }
    public int LogGroupsPerFlex { get; private init; }
    public uint BackupGroup0 { get; private init; }
    public uint BackupGroup1 { get; private init; }
    public uint ChecksumSeed { get; private init; }
    public uint GroupCount { get; private init; }

    /// <summary>s_hash_seed: the four words seeding the htree name hash (all zero: the hash's default seed).</summary>
    public uint[] HashSeed { get; private init; } = [];

    /// <summary>s_flags bit 0x2: this volume's legacy, half_md4 and tea htree hashes read name bytes as unsigned chars.</summary>
    public bool UnsignedDirHash { get; private init; }

    public bool HasFiletype => (FeatureIncompat & IncompatFiletype) != 0;
    public bool HasMetaBg => (FeatureIncompat & IncompatMetaBg) != 0;
    public bool Is64Bit => (FeatureIncompat & Incompat64Bit) != 0;
    public bool HasInlineData => (FeatureIncompat & IncompatInlineData) != 0;
    public bool HasLargeDir => (FeatureIncompat & IncompatLargeDir) != 0;
    public bool NeedsRecovery => (FeatureIncompat & IncompatRecover) != 0;
    public bool HasJournal => (FeatureCompat & CompatHasJournal) != 0;
    public bool HasDirIndex => (FeatureCompat & CompatDirIndex) != 0;
    public bool HasSparseSuper => (FeatureRoCompat & RoSparseSuper) != 0;
    public bool HasSparseSuper2 => (FeatureCompat & CompatSparseSuper2) != 0;
    public bool HasHugeFile => (FeatureRoCompat & RoHugeFile) != 0;
    public bool HasMetadataCsum => (FeatureRoCompat & RoMetadataCsum) != 0;
    public bool HasGdtCsum => (FeatureRoCompat & RoGdtCsum) != 0;

    /// <summary>Inode-table bytes of one group.</summary>
    public long InodeTableLength => (long)InodesPerGroup * InodeSize;

    /// <summary>
    /// Decodes and validates a superblock copy. False (with <paramref name="problem"/>) when it is not a usable ext2/3/4
    /// superblock: wrong magic, failed checksum, impossible geometry. Throws <see cref="NotSupportedException"/> for a valid
    /// superblock with features this reader does not implement.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> b, long volumeLength, out Ext4Superblock superblock, out string problem)
    {
        superblock = null!;
        if (b.Length < Size)
        {
            problem = "short superblock";
            return false;
        }

        ushort magic = BinaryPrimitives.ReadUInt16LittleEndian(b[Offsets.Magic..]);
        if (magic != Magic)
        {
            problem = $"magic 0x{magic:X4}, expected 0x{Magic:X4}";
            return false;
        }

        uint roCompat = U32(b, Offsets.FeatureRoCompat);
        if ((roCompat & RoMetadataCsum) != 0)
        {
            if (b[Offsets.ChecksumType] != 1)
            {
                problem = $"checksum type {b[Offsets.ChecksumType]}, expected 1 (crc32c)";
                return false;
            }

            uint stored = U32(b, Offsets.Checksum);
            uint computed = Ext4Checksum.FromOnes(b[..Offsets.Checksum]);
            if (stored != computed)
            {
                problem = $"checksum 0x{stored:X8}, computed 0x{computed:X8}";
                return false;
            }
        }

        uint logBlock = U32(b, Offsets.LogBlockSize);
        if (logBlock > 6)
        {
            problem = $"s_log_block_size {logBlock} (block size above 64 KiB)";
            return false;
        }

        int blockSize = 1024 << (int)logBlock;
        uint incompat = U32(b, Offsets.FeatureIncompat);
        long blocks = U32(b, Offsets.BlocksCountLo);
        if ((incompat & Incompat64Bit) != 0)
        {
            blocks |= (long)U32(b, Offsets.BlocksCountHi) << 32;
        }

        uint firstData = U32(b, Offsets.FirstDataBlock);
        uint bpg = U32(b, Offsets.BlocksPerGroup);
        uint ipg = U32(b, Offsets.InodesPerGroup);
        uint rev = U32(b, Offsets.RevLevel);
        int inodeSize = rev == 0 ? 128 : BinaryPrimitives.ReadUInt16LittleEndian(b[Offsets.InodeSize..]);
        int descSize = 32;
        if ((incompat & Incompat64Bit) != 0)
        {
            descSize = BinaryPrimitives.ReadUInt16LittleEndian(b[Offsets.DescSize..]);
        }

        if (firstData != (blockSize == 1024 ? 1u : 0u) && !(blockSize == 1024 && firstData == 0))
        {
            problem = $"s_first_data_block {firstData} with {blockSize}-byte blocks";
            return false;
        }

        if (bpg == 0 || bpg > 8L * blockSize || ipg == 0 || ipg > 8L * blockSize)
        {
            problem = $"{bpg} blocks and {ipg} inodes per group with {blockSize}-byte blocks";
            return false;
        }

        if (inodeSize < 128 || inodeSize > blockSize || (inodeSize & (inodeSize - 1)) != 0)
        {
            problem = $"inode size {inodeSize}";
            return false;
        }

        if (descSize < 32 || descSize > 1024 || (descSize & (descSize - 1)) != 0 || ((incompat & Incompat64Bit) != 0 && descSize < 64 && descSize != 32))
        {
            problem = $"group descriptor size {descSize}";
            return false;
        }

        if (blocks <= firstData || blocks > volumeLength / blockSize)
        {
            problem = $"{blocks} blocks of {blockSize} bytes do not fit a volume of 0x{volumeLength:X} bytes";
            return false;
        }

        long groups = (blocks - firstData + bpg - 1) / bpg;
        uint inodes = U32(b, Offsets.InodesCount);
        if (groups > uint.MaxValue || inodes == 0 || inodes > groups * ipg)
        {
            problem = $"{inodes} inodes in {groups} groups of {ipg}";
            return false;
        }

        uint unsupported = incompat & ~KnownIncompat;
        if (unsupported != 0)
        {
            throw new NotSupportedException($"ext4 incompatible feature flags 0x{unsupported:X} (compression, journal device, dirdata or encryption) are not supported");
        }

        if ((roCompat & RoBigalloc) != 0)
        {
            throw new NotSupportedException("ext4 bigalloc is not supported");
        }

        byte[] uuid = b.Slice(Offsets.Uuid, 16).ToArray();
        uint seed = (incompat & IncompatCsumSeed) != 0 ? U32(b, Offsets.ChecksumSeed) : Ext4Checksum.FromOnes(uuid);
        ReadOnlySpan<byte> name = b.Slice(Offsets.VolumeName, 16);
        int nul = name.IndexOf((byte)0);
        superblock = new Ext4Superblock
        {
            InodesCount = inodes,
            BlocksCount = blocks,
            FirstDataBlock = firstData,
            BlockSize = blockSize,
            BlocksPerGroup = bpg,
            InodesPerGroup = ipg,
            State = BinaryPrimitives.ReadUInt16LittleEndian(b[Offsets.State..]),
            FirstInode = rev == 0 ? 11 : U32(b, Offsets.FirstIno),
            InodeSize = inodeSize,
            BlockGroupNumber = BinaryPrimitives.ReadUInt16LittleEndian(b[Offsets.BlockGroupNr..]),
            FeatureCompat = U32(b, Offsets.FeatureCompat),
            FeatureIncompat = incompat,
            FeatureRoCompat = roCompat,
            Uuid = new Guid(uuid, bigEndian: true),
            UuidBytes = uuid,
            Label = Encoding.UTF8.GetString(nul < 0 ? name : name[..nul]),
            JournalInode = U32(b, Offsets.JournalInum),
            DescriptorSize = descSize,
            FirstMetaBg = U32(b, Offsets.FirstMetaBg),
            LogGroupsPerFlex = b[Offsets.LogGroupsPerFlex],
            BackupGroup0 = U32(b, Offsets.BackupBgs),
            BackupGroup1 = U32(b, Offsets.BackupBgs + 4),
            ChecksumSeed = seed,
            HashSeed = [U32(b, Offsets.HashSeed), U32(b, Offsets.HashSeed + 4), U32(b, Offsets.HashSeed + 8), U32(b, Offsets.HashSeed + 12)],
            UnsignedDirHash = (U32(b, Offsets.Flags) & 0x2) != 0,
            GroupCount = (uint)groups,
        };
        problem = string.Empty;
        return true;
    }

    /// <summary>First block of group <paramref name="group"/>.</summary>
    public long GroupFirstBlock(uint group) => FirstDataBlock + (long)group * BlocksPerGroup;

    /// <summary>True when group <paramref name="group"/> holds a superblock copy (sparse_super, sparse_super2 or every group).</summary>
    public bool GroupHasSuperblock(uint group)
    {
        if (group == 0)
        {
            return true;
        }

        if (HasSparseSuper2)
        {
            return group == BackupGroup0 || group == BackupGroup1;
        }

        if (!HasSparseSuper || group == 1)
        {
            return true;
        }

        return IsPowerOf(group, 3) || IsPowerOf(group, 5) || IsPowerOf(group, 7);
    }

    private static bool IsPowerOf(uint value, uint b)
    {
        ulong p = b;
        while (p < value)
        {
            p *= b;
        }

        return p == value;
    }

    private static uint U32(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b[at..]);
}
