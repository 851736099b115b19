using System.Buffers.Binary;

namespace Prism.Disks.Ext4;

/// <summary>
/// In-memory recovery of the internal jbd2 journal (ext4 "Journal (jbd2)"): the three passes of the kernel (find the end
/// of the log, collect revoke records, replay the committed transactions' blocks) written into an overlay of block
/// number → bytes instead of onto the disk. Journal structures are big-endian.
/// </summary>
internal sealed class Ext4JournalReplay
{
    private const uint JournalMagic = 0xC03B_3998;
    private const int DescriptorBlock = 1, CommitBlock = 2, SuperblockV1 = 3, SuperblockV2 = 4, RevokeBlock = 5;
    private const uint IncompatRevoke = 0x1, Incompat64Bit = 0x2, IncompatAsyncCommit = 0x4, IncompatCsumV2 = 0x8, IncompatCsumV3 = 0x10;
    private const uint FlagEscape = 0x1, FlagSameUuid = 0x2, FlagLastTag = 0x8;

    private readonly Ext4Volume _volume;
    private readonly List<Ext4Extent> _map;
    private readonly int _blockSize;
    private uint _incompat;
    private uint _first;
    private uint _maxLength;
    private Ext4Checksum? _csum;

    private Ext4JournalReplay(Ext4Volume volume, List<Ext4Extent> map)
    {
        _volume = volume;
        _map = map;
        _blockSize = volume.BlockSize;
    }

    public int Transactions { get; private set; }

    public int BlocksReplayed { get; private set; }

    private bool Csum23 => (_incompat & (IncompatCsumV2 | IncompatCsumV3)) != 0;

    private bool Is64 => (_incompat & Incompat64Bit) != 0;

    /// <summary>Replays the journal of <paramref name="volume"/> into <paramref name="overlay"/>; throws Ext4FormatException on a corrupt journal.</summary>
    public static Ext4JournalReplay Run(Ext4Volume volume, Dictionary<long, byte[]> overlay)
    {
        uint inodeNumber = volume.Superblock.JournalInode;
        var inode = new Ext4Inode();
        volume.ReadInode(inodeNumber, inode, new byte[volume.InodeSize]);
        var scratch = new Ext4Volume.MapScratch();
        volume.Map(inode, scratch);
        var replay = new Ext4JournalReplay(volume, [.. scratch.Extents]);
        replay.Recover(overlay);
        return replay;
    }

    private long OffsetOf(uint journalBlock)
    {
        long at = (long)journalBlock * _blockSize;
        foreach (Ext4Extent e in _map)
        {
            if (at >= e.FileOffset && at < e.FileEnd && e.Kind == Ext4ExtentKind.Data && e.FileEnd - at >= _blockSize)
            {
                return e.VolumeOffset + (at - e.FileOffset);
            }
        }

        throw _volume.Fail("jbd2 journal", null, $"journal block {journalBlock} is not mapped by the journal inode", _volume.Superblock.JournalInode);
    }

    private void ReadJournalBlock(uint journalBlock, Span<byte> buffer) => _volume.ReadBytes(OffsetOf(journalBlock), buffer[.._blockSize]);

    private Errors.Ext4FormatException Fail(uint journalBlock, string detail)
        => _volume.Fail($"jbd2 journal block {journalBlock}", OffsetOfOrNull(journalBlock), detail, _volume.Superblock.JournalInode);

    private long? OffsetOfOrNull(uint journalBlock)
    {
        try
        {
            return OffsetOf(journalBlock);
        }
        catch (Errors.Ext4FormatException)
        {
            return null;
        }
    }

    private uint Next(uint block) => block + 1 >= _maxLength ? _first : block + 1;

    private static uint BE32(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt32BigEndian(b[at..]);

    private void Recover(Dictionary<long, byte[]> overlay)
    {
        byte[] block = new byte[_blockSize];
        ReadJournalBlock(0, block);
        uint type = BE32(block, 4);
        if (BE32(block, 0) != JournalMagic || type is not (SuperblockV1 or SuperblockV2))
        {
            throw Fail(0, $"journal superblock magic 0x{BE32(block, 0):X8} type {type}");
        }

        if (BE32(block, 0xC) != _blockSize)
        {
            throw Fail(0, $"journal block size {BE32(block, 0xC)} differs from the file system's {_blockSize}");
        }

        _maxLength = BE32(block, 0x10);
        _first = BE32(block, 0x14);
        uint sequence = BE32(block, 0x18);
        uint start = BE32(block, 0x1C);
        long mapped = _map.Count == 0 ? 0 : _map[^1].FileEnd / _blockSize;
        if (_maxLength > mapped || _first == 0 || _first >= _maxLength)
        {
            throw Fail(0, $"journal of {_maxLength} blocks (first {_first}) but its inode maps {mapped}");
        }

        if (type == SuperblockV2)
        {
            _incompat = BE32(block, 0x28);
            uint unknown = _incompat & ~(IncompatRevoke | Incompat64Bit | IncompatAsyncCommit | IncompatCsumV2 | IncompatCsumV3);
            if (unknown != 0)
            {
                throw new NotSupportedException($"jbd2 incompatible features 0x{unknown:X} (fast commit?) are not supported");
            }

            if (Csum23)
            {
                uint stored = BE32(block, 0xFC);
                var crc = new System.IO.Hashing.Crc32(System.IO.Hashing.Crc32ParameterSet.Create(0x1EDC_6F41, uint.MaxValue, 0, true));
                crc.Append(block.AsSpan(0, 0xFC));
                crc.Append([0, 0, 0, 0]);
                crc.Append(block.AsSpan(0x100, 1024 - 0x100));
                if (crc.GetCurrentHashAsUInt32() != stored)
                {
                    throw Fail(0, $"journal superblock checksum 0x{stored:X8}, computed 0x{crc.GetCurrentHashAsUInt32():X8}");
                }

                _csum = new Ext4Checksum(Ext4Checksum.FromOnes(block.AsSpan(0x30, 16)));
            }
        }

        if (start == 0)
        {
            return; // a clean journal
        }

        if (start < _first || start >= _maxLength)
        {
            throw Fail(0, $"log start {start} outside [{_first}, {_maxLength})");
        }

        // Pass 1 (scan): the committed transactions, each as (sequence, descriptor/revoke blocks).
        var committed = new List<(uint Sequence, List<uint> Blocks)>();
        var pending = new List<uint>();
        uint at = start;
        uint expected = sequence;
        for (long steps = 0; steps < _maxLength; steps++)
        {
            ReadJournalBlock(at, block);
            if (BE32(block, 0) != JournalMagic || BE32(block, 8) != expected)
            {
                break;
            }

            uint kind = BE32(block, 4);
            if (kind == DescriptorBlock)
            {
                CheckTail(at, block, "descriptor");
                pending.Add(at);
                int tags = CountTags(at, block);
                for (int i = 0; i <= tags; i++)
                {
                    at = Next(at);
                }

                steps += tags;
                continue;
            }

            if (kind == RevokeBlock)
            {
                CheckTail(at, block, "revoke");
                pending.Add(at);
                at = Next(at);
                continue;
            }

            if (kind != CommitBlock)
            {
                break;
            }

            if (Csum23 && !CommitChecksumValid(block))
            {
                // A torn commit block ends the log: its transaction is not replayed (as the kernel does).
                break;
            }

            committed.Add((expected, pending));
            pending = [];
            expected++;
            at = Next(at);
        }

        // Pass 2: revoke records, block → newest revoking transaction.
        var revoked = new Dictionary<long, uint>();
        foreach ((uint seq, List<uint> blocks) in committed)
        {
            foreach (uint b in blocks)
            {
                ReadJournalBlock(b, block);
                if (BE32(block, 4) == RevokeBlock)
                {
                    ReadRevokes(b, block, seq, revoked);
                }
            }
        }

        // Pass 3: replay, oldest transaction first, skipping revoked blocks.
        byte[] data = new byte[_blockSize];
        byte[] sequenceBytes = new byte[4];
        foreach ((uint seq, List<uint> blocks) in committed)
        {
            foreach (uint b in blocks)
            {
                ReadJournalBlock(b, block);
                if (BE32(block, 4) != DescriptorBlock)
                {
                    continue;
                }

                uint dataBlock = b;
                foreach ((long target, uint flags, uint checksum) in Tags(b, block))
                {
                    dataBlock = Next(dataBlock);
                    if (revoked.TryGetValue(target, out uint revokedBy) && revokedBy >= seq)
                    {
                        continue;
                    }

                    if (target >= _volume.BlockCount)
                    {
                        throw Fail(b, $"tag targets block {target} past the {_volume.BlockCount}-block volume");
                    }

                    ReadJournalBlock(dataBlock, data);
                    if (Csum23)
                    {
                        var crc = _csum!.Start();
                        BinaryPrimitives.WriteUInt32BigEndian(sequenceBytes, seq);
                        crc.Append(sequenceBytes);
                        crc.Append(data);
                        uint computed = crc.GetCurrentHashAsUInt32();
                        bool v3 = (_incompat & IncompatCsumV3) != 0;
                        if ((v3 ? computed : computed & 0xFFFF) != checksum)
                        {
                            throw Fail(dataBlock, $"data block for block {target} in transaction {seq}: checksum 0x{checksum:X8}, computed 0x{computed:X8}");
                        }
                    }

                    byte[] copy = (byte[])data.Clone();
                    if ((flags & FlagEscape) != 0)
                    {
                        BinaryPrimitives.WriteUInt32BigEndian(copy, JournalMagic);
                    }

                    overlay[target] = copy;
                    BlocksReplayed++;
                }
            }
        }

        Transactions = committed.Count;
    }

    private int TagBytes => (_incompat & IncompatCsumV3) != 0 ? 16 : 8 + (Is64 ? 4 : 0) + ((_incompat & IncompatCsumV2) != 0 ? 2 : 0);

    private int CountTags(uint at, byte[] block)
    {
        int n = 0;
        foreach (var _ in Tags(at, block))
        {
            n++;
        }

        return n;
    }

    // The tags of a descriptor block: target block, flags, stored data checksum.
    private List<(long Target, uint Flags, uint Checksum)> Tags(uint at, byte[] block)
    {
        var tags = new List<(long, uint, uint)>();
        int end = _blockSize - (Csum23 ? 4 : 0);
        int pos = 12;
        bool v3 = (_incompat & IncompatCsumV3) != 0;
        while (true)
        {
            if (pos + TagBytes > end)
            {
                throw Fail(at, $"descriptor tags run past the block (tag at {pos})");
            }

            long target = BE32(block, pos);
            uint flags, checksum;
            if (v3)
            {
                flags = BE32(block, pos + 4);
                if (Is64)
                {
                    target |= (long)BE32(block, pos + 8) << 32;
                }

                checksum = BE32(block, pos + 12);
            }
            else
            {
                checksum = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(pos + 4));
                flags = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(pos + 6));
                if (Is64)
                {
                    target |= (long)BE32(block, pos + 8) << 32;
                }
            }

            tags.Add((target, flags, checksum));
            pos += TagBytes;
            if ((flags & FlagSameUuid) == 0)
            {
                pos += 16;
            }

            if ((flags & FlagLastTag) != 0)
            {
                return tags;
            }

            if (tags.Count >= _maxLength)
            {
                throw Fail(at, "more descriptor tags than journal blocks");
            }
        }
    }

    private void ReadRevokes(uint at, byte[] block, uint sequence, Dictionary<long, uint> revoked)
    {
        int count = (int)Math.Min(BE32(block, 12), int.MaxValue);
        int record = Is64 ? 8 : 4;
        int end = _blockSize - (Csum23 ? 4 : 0);
        if (count < 16 || count > end)
        {
            throw Fail(at, $"revoke record count {count} outside [16, {end}]");
        }

        for (int pos = 16; pos + record <= count; pos += record)
        {
            long target = Is64 ? (long)BinaryPrimitives.ReadUInt64BigEndian(block.AsSpan(pos)) : BE32(block, pos);
            if (!revoked.TryGetValue(target, out uint seen) || seen < sequence)
            {
                revoked[target] = sequence;
            }
        }
    }

    private void CheckTail(uint at, byte[] block, string what)
    {
        if (!Csum23)
        {
            return;
        }

        var crc = _csum!.Start();
        crc.Append(block.AsSpan(0, _blockSize - 4));
        crc.Append([0, 0, 0, 0]);
        uint computed = crc.GetCurrentHashAsUInt32();
        uint stored = BE32(block, _blockSize - 4);
        if (computed != stored)
        {
            throw Fail(at, $"{what} block checksum 0x{stored:X8}, computed 0x{computed:X8}");
        }
    }

    private bool CommitChecksumValid(byte[] block)
    {
        var crc = _csum!.Start();
        crc.Append(block.AsSpan(0, 16));
        crc.Append([0, 0, 0, 0]);
        crc.Append(block.AsSpan(20, _blockSize - 20));
        return crc.GetCurrentHashAsUInt32() == BE32(block, 16);
    }
}
