using System.Buffers.Binary;
using Prism.Disks.Errors;
using Prism.Disks.Ext4;
using Prism.Disks.Guest;
using Prism.Disks.IO;
using Prism.Disks.Tests.Ext4;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Disks.Tests.Guest;

/// <summary>
/// Damaged ext2/3/4 volumes read through <see cref="IGuestVolume"/> only (open, Visit, Find, GetLayout, OpenStream):
/// targeted damage to the superblock, group descriptors, inodes, extent headers (depth loops, overlapping extents,
/// counts past the block), directory entries (rec_len 0, names past the block), htree roots and dirty-journal blocks,
/// then seeded random mutations of the same structures. Each gives a typed <see cref="DiskFormatException"/> naming its
/// structure (the targeted ones also an offset inside the volume), a documented recovery (the backup superblock; the
/// entry skipped through onError), or reads on. Never another exception, a hang (each run has a one-minute watchdog)
/// or an allocation out of proportion to the volume (each run's allocations are bounded by a multiple of the clean run's).
/// </summary>
[Collection(Ext4VolumesCollection.Name)]
public sealed class GuestExtCorruptionTests(Ext4VolumesFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan s_watchdog = TimeSpan.FromMinutes(1);

    /// <summary>One change to the image: what it damages, where (volume offset) and the bytes written there.</summary>
    private sealed record Mutation(string Name, long At, byte[] Value)
    {
        public override string ToString() => $"{Name} @0x{At:X}";
    }

    /// <summary>What one run through the guest layer saw.</summary>
    private sealed record Outcome(int Paths, List<Exception> Reported, Exception? Thrown, long Allocated);

    [SkippableTheory]
    [InlineData("ext4-1k-32bit-nocsum")] // extent trees of depth 1, htree, no checksums to hide the damage
    [InlineData("ext2-1k")]              // indirect maps, linear directories, 128-byte inodes
    [InlineData("ext4-4k")]              // metadata_csum: most damage is a checksum error
    public void TargetedDamage_TypedErrorNamingStructureAndOffset_OrRecovery(string variant)
    {
        byte[] bytes = File.ReadAllBytes(fixture.Get(variant).Image);
        Outcome clean = Run(bytes);
        Assert.Null(clean.Thrown);
        Assert.Empty(clean.Reported);

        List<Mutation> mutations = Targets(bytes);
        Assert.True(mutations.Count > 30, $"only {mutations.Count} mutations");
        int typed = 0;
        foreach (Mutation m in mutations)
        {
            Outcome o = Apply(bytes, m, () => Run(bytes));
            CheckOutcome(o, clean, m.ToString(), bytes.Length, requireOffset: true);
            output.WriteLine($"{m}: {Describe(o, clean)}");
            typed += o.Reported.Count + (o.Thrown is null ? 0 : 1) > 0 ? 1 : 0;
        }

        // Some damage reads on: the backup superblock replaces a damaged primary; a size past the mapped blocks, a zero
        // block pointer or an unwritten extent read as holes; a root without blocks lists nothing (fuse2fs and the kernel's
        // readdir skip directory holes too). The rest is reported.
        Assert.True(typed >= mutations.Count / 3, $"only {typed} of {mutations.Count} mutations reported");
    }

    [SkippableTheory]
    [InlineData("ext3-4k", "")]          // 32-bit tags, no checksums
    [InlineData("ext4-4k", "-c -v 3")]   // 64-bit tags, checksum v3
    public void DamagedDirtyJournal_TypedErrorOrShorterReplay(string variant, string openOptions)
    {
        Ext4VolumesFixture.Built built = fixture.Get(variant);
        string debugfs = Oracle.Require("debugfs", "e2fsprogs");
        using var dir = new TempDir();
        string dirty = dir.File("dirty.img");
        Oracle.Run("cp", ["--sparse=always", built.Image, dirty]);
        long[] first, second;
        int bs;
        using (var source = new FileDiskSource(dirty))
        {
            Ext4Volume v = Ext4Volume.Open(source);
            bs = v.BlockSize;
            first = Ext4Images.MappedBlocks(v.GetSectorMap(v.Find("/sizes/s065536.bin")!), bs);
            second = Ext4Images.MappedBlocks(v.GetSectorMap(v.Find("/sizes/s004097.bin")!), bs);
        }

        File.WriteAllBytes(dir.File("x"), Enumerable.Repeat((byte)'X', 2 * bs).ToArray());
        File.WriteAllBytes(dir.File("y"), Enumerable.Repeat((byte)'Y', bs).ToArray());
        File.WriteAllLines(dir.File("j.cmd"),
            [$"jo {openOptions}".TrimEnd(), $"jw -b {first[0]},{first[1]} {dir.File("x")}", $"jw -b {second[0]} -r {first[0]} {dir.File("y")}", "jc"]);
        Oracle.Run(debugfs, ["-w", "-f", dir.File("j.cmd"), dirty]);
        byte[] bytes = File.ReadAllBytes(dirty);

        Ext4Volume replayed = Ext4Volume.Open(new MemoryDiskSource(bytes));
        Assert.Equal(2, replayed.JournalReplayedTransactions);
        Outcome clean = Run(bytes);
        Assert.Null(clean.Thrown);

        // The journal superblock and the log (descriptor, data, revoke and commit blocks) that debugfs wrote.
        ByteRange journal = replayed.MetadataRanges.First(r => r.Kind == Ext4MetadataKind.Journal).Range;
        long sb = journal.Offset;
        uint start = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan((int)sb + 0x1C));
        Assert.NotEqual(0u, start);
        var log = new List<long>();
        for (long b = start; b < start + 8; b++)
        {
            long at = sb + (b * bs);
            if (BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan((int)at)) == 0xC03B3998)
            {
                log.Add(at);
            }
        }

        Assert.True(log.Count >= 4, $"{log.Count} journal blocks with the magic");
        var mutations = new List<Mutation>
        {
            new("journal sb s_maxlen", sb + 0x10, Be32(uint.MaxValue)),
            new("journal sb s_first 0", sb + 0x14, Be32(0)),
            new("journal sb s_start past the end", sb + 0x1C, Be32(uint.MaxValue)),
            new("journal sb s_blocksize", sb + 0x0C, Be32(512)),
            new("journal sb type", sb + 0x04, Be32(9)),
            new("journal sb incompat unknown", sb + 0x28, Be32(0x80)),
        };
        foreach (long at in log)
        {
            uint type = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan((int)at + 4));
            mutations.Add(new($"journal block type {type} -> 7", at + 4, Be32(7)));
            mutations.Add(new($"journal block type {type} sequence", at + 8, Be32(0x12345678)));
            if (type == 1)
            {
                // Descriptor: flags of every tag cleared (no last-tag flag), and a target past the volume.
                byte[] noFlags = new byte[bs - 12];
                mutations.Add(new("descriptor tags without flags", at + 12, noFlags));
                mutations.Add(new("descriptor tag target past the volume", at + 12, Be32(0x7FFFFFF0)));
            }
            else if (type == 5)
            {
                mutations.Add(new("revoke count huge", at + 12, Be32(uint.MaxValue)));
                mutations.Add(new("revoke count below the header", at + 12, Be32(3)));
            }
        }

        var rnd = new Random(42);
        for (int i = 0; i < 60; i++)
        {
            long block = log[rnd.Next(log.Count)];
            mutations.Add(new($"random journal bytes {i}", block + (rnd.Next(bs) & ~3), Be32((uint)rnd.Next())));
        }

        foreach (Mutation m in mutations)
        {
            Outcome o = Apply(bytes, m, () => Run(bytes));
            CheckOutcome(o, clean, m.ToString(), bytes.Length, requireOffset: false);
            output.WriteLine($"{m}: {Describe(o, clean)}");
        }

        // The image itself: nothing above wrote to the file.
        Assert.Equal(File.ReadAllBytes(dirty), bytes);
    }

    [SkippableTheory]
    [InlineData("ext4-1k-32bit-nocsum", 11)]
    [InlineData("ext3-1k", 12)]
    [InlineData("ext4-4k-32bit-csum", 13)]
    [InlineData("ext2-4k", 14)]
    public void SeededMutations_ThroughGuestLayer_OnlyTypedErrors(string variant, int seed)
    {
        byte[] bytes = File.ReadAllBytes(fixture.Get(variant).Image);
        Outcome clean = Run(bytes);
        Assert.Null(clean.Thrown);
        List<ByteRange> structures = Structures(bytes);
        var rnd = new Random(seed);
        int typed = 0;
        const int Iterations = 150;
        for (int i = 0; i < Iterations; i++)
        {
            ByteRange target = structures[rnd.Next(structures.Count)];
            var edits = new List<Mutation>();
            for (int k = rnd.Next(1, 4); k > 0; k--)
            {
                long at = target.Offset + (rnd.Next((int)Math.Min(target.Length, int.MaxValue)) & ~1);
                byte[] value = rnd.Next(3) switch
                {
                    0 => [0, 0],
                    1 => [0xFF, 0xFF],
                    _ => [(byte)rnd.Next(256), (byte)rnd.Next(256)],
                };
                edits.Add(new Mutation($"seed {seed} iteration {i} in {target}", Math.Min(at, target.End - 2), value));
            }

            Outcome o = ApplyAll(bytes, edits, () => Run(bytes));
            CheckOutcome(o, clean, edits[0].Name, bytes.Length, requireOffset: false);
            typed += o.Reported.Count + (o.Thrown is null ? 0 : 1);
        }

        // Two bytes of an ext2/3 inode or directory often change nothing the reader checks (times, names, free space).
        Assert.True(typed > Iterations / 30, $"only {typed} errors in {Iterations} mutations");
    }

    private static string Describe(Outcome o, Outcome clean) => o.Thrown is not null
        ? $"open/walk failed: {o.Thrown.Message}"
        : $"{o.Paths} of {clean.Paths} paths, {o.Reported.Count} reported{(o.Reported.Count > 0 ? ": " + o.Reported[0].Message : string.Empty)}";

    // Every failure is typed and names its structure; the run ended (watchdog) with allocations in proportion.
    private static void CheckOutcome(Outcome o, Outcome clean, string what, long volumeLength, bool requireOffset)
    {
        foreach (Exception e in o.Thrown is null ? o.Reported : [.. o.Reported, o.Thrown])
        {
            if (e is NotSupportedException)
            {
                continue;
            }

            DiskFormatException typed = e as DiskFormatException
                ?? throw new Xunit.Sdk.XunitException($"{what}: untyped {e.GetType().Name}: {e}");
            Assert.False(string.IsNullOrEmpty(typed.Structure), $"{what}: no structure in {typed.Message}");
            if (typed.FileOffset is long offset)
            {
                Assert.InRange(offset, 0, volumeLength);
            }
            else if (requireOffset && e is Ext4FormatException)
            {
                Assert.Fail($"{what}: no offset in {typed.Message}");
            }
        }

        long bound = (4 * clean.Allocated) + (64L << 20);
        Assert.True(o.Allocated <= bound, $"{what}: allocated {o.Allocated:N0} bytes, the clean volume {clean.Allocated:N0}");
    }

    private static Outcome Apply(byte[] bytes, Mutation m, Func<Outcome> run) => ApplyAll(bytes, [m], run);

    private static Outcome ApplyAll(byte[] bytes, List<Mutation> mutations, Func<Outcome> run)
    {
        var saved = new List<(long At, byte[] Old)>();
        foreach (Mutation m in mutations)
        {
            int length = (int)Math.Min(m.Value.Length, bytes.Length - m.At);
            saved.Add((m.At, bytes.AsSpan((int)m.At, length).ToArray()));
            m.Value.AsSpan(0, length).CopyTo(bytes.AsSpan((int)m.At));
        }

        try
        {
            var task = Task.Run(run);
            Assert.True(task.Wait(s_watchdog), $"{mutations[0]}: no result within {s_watchdog} (hang?)");
            return task.Result;
        }
        finally
        {
            for (int i = saved.Count - 1; i >= 0; i--)
            {
                saved[i].Old.CopyTo(bytes.AsSpan((int)saved[i].At));
            }
        }
    }

    // Open, walk (errors reported), then per path: Find, GetLayout and read the first and last 64 KiB of the content.
    private static Outcome Run(byte[] bytes)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var reported = new List<Exception>();
        var paths = new List<string>();
        try
        {
            IGuestVolume volume = GuestFileSystems.Open(new MemoryDiskSource(bytes), 0, bytes.Length, "mem.img");
            volume.Visit((in GuestFileView f) => paths.Add(f.Path.ToString()), onError: e => reported.Add(e.Exception));
            byte[] buffer = new byte[64 * 1024];
            foreach (string path in paths)
            {
                try
                {
                    GuestFileEntry? entry = volume.Find(path);
                    if (entry is null)
                    {
                        continue; // a damaged name can list and not be found again: not a crash
                    }

                    _ = volume.GetLayout(entry);
                    if (entry.Type == GuestFileType.File)
                    {
                        IDiskSource content = volume.OpenStream(entry);
                        int n = (int)Math.Min(buffer.Length, entry.Size);
                        content.ReadExactly(buffer.AsSpan(0, n), 0);
                        content.ReadExactly(buffer.AsSpan(0, n), entry.Size - n);
                    }
                }
                catch (Exception e) when (e is DiskFormatException or NotSupportedException)
                {
                    reported.Add(e);
                }
            }

            return new Outcome(paths.Count, reported, null, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            return new Outcome(paths.Count, reported, e, GC.GetAllocatedBytesForCurrentThread() - before);
        }
    }

    // Superblock, group 0's descriptors, every inode record, mapping block and directory block (as CorruptionTests).
    private static List<ByteRange> Structures(byte[] bytes)
    {
        Ext4Volume volume = Ext4Volume.Open(new MemoryDiskSource(bytes));
        var targets = new List<ByteRange> { new(1024, 1024) };
        targets.AddRange(volume.MetadataRanges.Where(r => r.Kind == Ext4MetadataKind.GroupDescriptors && r.Group == 0).Select(r => r.Range));
        foreach (Ext4FileEntry e in volume.Enumerate())
        {
            targets.Add(e.InodeRange);
            targets.AddRange(volume.GetMetadataBlocks(e));
            if (e.IsDirectory)
            {
                targets.AddRange(volume.GetSectorMap(e).Where(x => x.Kind == Ext4ExtentKind.Data).Select(x => new ByteRange(x.VolumeOffset, x.Length)));
            }
        }

        return [.. targets.Distinct()];
    }

    // The targeted damage for the variant's structures (found with the native reader on the clean image).
    private static List<Mutation> Targets(byte[] bytes)
    {
        Ext4Volume volume = Ext4Volume.Open(new MemoryDiskSource(bytes));
        int bs = volume.BlockSize;
        var list = new List<Mutation>
        {
            new("s_log_block_size", 1024 + 0x18, Le32(20)),
            new("s_blocks_per_group 0", 1024 + 0x20, Le32(0)),
            new("s_inodes_per_group 0", 1024 + 0x28, Le32(0)),
            new("s_inodes_per_group huge", 1024 + 0x28, Le32(0x7FFFFFFF)),
            new("s_blocks_count huge", 1024 + 0x04, Le32(0xFFFFFFF0)),
            new("s_first_data_block", 1024 + 0x14, Le32(0x10000000)),
            new("s_inode_size 3", 1024 + 0x58, Le16(3)),
            new("s_inode_size 64 KiB", 1024 + 0x58, Le16(0x8000)),
            new("s_desc_size odd", 1024 + 0xFE, Le16(0x41)),
            new("s_journal_inum huge", 1024 + 0xE0, Le32(0xFFFFFFF0)),
            new("s_log_groups_per_flex 31", 1024 + 0x174, [31]),
        };

        ByteRange gdt = volume.MetadataRanges.First(r => r.Kind == Ext4MetadataKind.GroupDescriptors && r.Group == 0).Range;
        list.Add(new("bg_inode_table past the volume", gdt.Offset + 0x08, Le32(0xFFFFFFF0)));
        list.Add(new("bg_inode_table 0", gdt.Offset + 0x08, Le32(0)));
        list.Add(new("bg_block_bitmap past the volume", gdt.Offset, Le32(0xFFFFFFF0)));

        // Inodes: size, mode, flags, extra size, link count of a plain file; the root directory's mode.
        Ext4FileEntry file = volume.Find("/sizes/s200000.bin")!;
        long inode = file.InodeRange.Offset;
        list.Add(new("i_size huge", inode + 0x04, Le32(0xFFFFFFFF)));
        list.Add(new("i_size_high huge", inode + 0x6C, Le32(0x7FFFFFFF)));
        list.Add(new("i_mode without type", inode, Le16(0x01A4)));
        list.Add(new("i_mode directory", inode, Le16(0x41ED)));
        list.Add(new("i_flags all", inode + 0x20, Le32(0xFFFFFFFF)));
        list.Add(new("i_links_count 0", inode + 0x1A, Le16(0)));
        if (volume.InodeSize > 128)
        {
            list.Add(new("i_extra_isize past the record", inode + 0x80, Le16(0xFFFC)));
        }

        long root = volume.Find("/")!.InodeRange.Offset;
        list.Add(new("root i_mode file", root, Le16(0x81A4)));
        list.Add(new("root i_block zero", root + 0x28, new byte[60]));

        // Mapping: extent headers and entries, or indirect pointers.
        Ext4FileEntry many = volume.Find("/many")!;
        long iblock = many.InodeRange.Offset + 0x28;
        if (many.Record.HasExtents)
        {
            list.Add(new("root extent magic", iblock, Le16(0x1234)));
            list.Add(new("root extent depth 0xFFFF", iblock + 6, Le16(0xFFFF)));
            list.Add(new("root extent entries past max", iblock + 2, Le16(5)));
            list.Add(new("root extent max past the inode", iblock + 4, Le16(200)));
            list.Add(new("root extent entries 0", iblock + 2, Le16(0)));
            IReadOnlyList<ByteRange> tree = volume.GetMetadataBlocks(many);
            if (tree.Count > 0)
            {
                list.Add(new("index to itself", iblock + 12 + 4, Le32(0)));
                list.Add(new("index past the volume", iblock + 12 + 4, Le32(0xFFFFFFF0)));
                long leaf = tree[0].Offset;
                list.Add(new("index to the inode table", iblock + 12 + 4, Le32((uint)(file.InodeRange.Offset / bs))));
                list.Add(new("leaf depth loop", leaf + 6, Le16(1)));
                list.Add(new("leaf depth deeper", leaf + 6, Le16(4)));
                list.Add(new("leaf entries past the block", leaf + 2, Le16(0xFFFF)));
                list.Add(new("leaf max past the block", leaf + 4, Le16(0xFFFF)));
                list.Add(new("leaf extents overlap", leaf + 24, bytes.AsSpan((int)leaf + 12, 4).ToArray()));
                list.Add(new("leaf extent length 0", leaf + 12 + 4, Le16(0)));
                list.Add(new("leaf extent past the volume", leaf + 12 + 8, Le32(0xFFFFFFF0)));
                list.Add(new("leaf extent logical block max", leaf + 12, Le32(0xFFFFFFFF)));
            }
        }

        Ext4FileEntry far = volume.Find("/far.bin")!;
        long farBlock = far.InodeRange.Offset + 0x28;
        if (far.Record.HasExtents)
        {
            list.Add(new("sparse extent length max", farBlock + 12 + 4, Le16(0xFFFF)));
            list.Add(new("sparse extent logical max", farBlock + 12, Le32(0xFFFFFFFF)));
        }
        else
        {
            list.Add(new("single indirect past the volume", farBlock + (12 * 4), Le32(0xFFFFFFF0)));
            list.Add(new("double indirect past the volume", farBlock + (13 * 4), Le32(0xFFFFFFF0)));
            list.Add(new("triple indirect to block 0", farBlock + (14 * 4), Le32(0)));
            foreach (ByteRange b in volume.GetMetadataBlocks(far).Take(3))
            {
                list.Add(new("indirect block entries past the volume", b.Offset, Le32(0xFFFFFFF0)));
                list.Add(new("indirect block pointing at itself", b.Offset, Le32((uint)(b.Offset / bs))));
            }
        }

        // Directory entries: the first entry after "." and ".." of /links (a one-block directory).
        Ext4FileEntry links = volume.Find("/links")!;
        Ext4Extent linksData = volume.GetSectorMap(links).First(x => x.Kind is Ext4ExtentKind.Data or Ext4ExtentKind.Inline);
        if (linksData.Kind == Ext4ExtentKind.Data)
        {
            long entry = linksData.VolumeOffset + 24;
            list.Add(new("rec_len 0", entry + 4, Le16(0)));
            list.Add(new("rec_len 6", entry + 4, Le16(6)));
            list.Add(new("rec_len 0xFFFC", entry + 4, Le16(0xFFFC)));
            list.Add(new("name past the entry", entry + 6, [255]));
            list.Add(new("inode number past the inode count", entry, Le32(0xFFFFFFF0)));
            list.Add(new("\"..\" rec_len past the block", linksData.VolumeOffset + 12 + 4, Le16((ushort)(bs - 8))));
        }

        // The htree root of /many (when indexed): levels, limits and counts.
        if ((many.Record.Flags & Ext4Inode.IndexFlag) != 0)
        {
            long rootBlock = volume.GetSectorMap(many).First(x => x.Kind == Ext4ExtentKind.Data).VolumeOffset;
            list.Add(new("htree indirect levels 200", rootBlock + 24 + 6, [200]));
            list.Add(new("htree info length 0xFF", rootBlock + 24 + 5, [0xFF]));
            list.Add(new("htree limit 0", rootBlock + 32, Le16(0)));
            list.Add(new("htree count past the limit", rootBlock + 34, Le16(0xFFFF)));
            list.Add(new("htree block past the directory", rootBlock + 36, Le32(0xFFFFFF)));
            list.Add(new("htree second entry past the directory", rootBlock + 44, Le32(0xFFFFFF)));
        }

        return list;
    }

    private static byte[] Le16(ushort v)
    {
        byte[] b = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, v);
        return b;
    }

    private static byte[] Le32(uint v)
    {
        byte[] b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        return b;
    }

    private static byte[] Be32(uint v)
    {
        byte[] b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, v);
        return b;
    }
}
