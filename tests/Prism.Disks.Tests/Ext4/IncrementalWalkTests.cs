using System.Buffers.Binary;
using Prism.Disks.Ext4;
using Prism.Disks.Guest;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;
using Prism.Testing;
using Xunit.Abstractions;
using static Prism.Disks.Tests.Ext4.Ext4IncrementalFixture;

namespace Prism.Disks.Tests.Ext4;

/// <summary>
/// An ext4 clone's walk patched from its golden's (<see cref="IGuestVolume.PatchWalk"/>) equals a full walk of the
/// clone (paths, inodes, generations, types, sizes, metadata and name ranges, sector maps, walk order) for random
/// guest-like change sets made through fuse2fs, and reads only part of the metadata; a dirty journal is patched through
/// its replay; every fallback is exercised with its reason.
/// </summary>
public sealed class IncrementalWalkTests(Ext4IncrementalFixture fixture, ITestOutputHelper output) : IClassFixture<Ext4IncrementalFixture>
{
    // A Linux guest's day: a library directory deleted, one moved to another tree, files rewritten in place, appended
    // (a log), truncated, deleted, replaced by write-and-rename (dpkg), renamed across directories, hard links and
    // symlinks made, permissions changed, new files and a new directory tree, a small directory grown past one block
    // (it becomes an htree) and the 2,000-entry htree directory given 600 more names (its leaves split).
    private const string ChangeScript = $$"""
{{IncrementalDisks.DayPrelude}}
def leaves():
    return sorted(os.path.join(r, d) for r, ds, _ in os.walk(m) for d in ds if d.startswith('lib'))
{{IncrementalDisks.DayDirectoryChanges}}
files = sorted(os.path.join(r, n) for r, _, ns in os.walk(m) for n in ns if not os.path.islink(os.path.join(r, n)) and '/var/' not in os.path.join(r, n))
chosen = iter(rnd.sample(files, 80))
{{IncrementalDisks.DayRewriteAndAppend}}
with open(m + '/var/log/syslog', 'ab') as h: h.write(rnd.randbytes(20000))
{{IncrementalDisks.DayTruncateAndRemove}}
for _ in range(4):
    p = next(chosen)
    with open(p + '.dpkg-new', 'wb') as h: h.write(rnd.randbytes(rnd.choice([10, 3000, 20000])))
    os.rename(p + '.dpkg-new', p)
{{IncrementalDisks.DayRenames}}
{{IncrementalDisks.DayHardLinks}}
for i in range(3):
    os.symlink('/usr/lib/x%d' % i, os.path.join(rnd.choice(leaves()), 'ln-%d-%d' % (seed, i)))
for _ in range(4):
    os.chmod(next(chosen), 0o600)
{{IncrementalDisks.DayNewFiles}}
tree = os.path.join(m, 'var', 'www', 'site-%d' % seed)
os.makedirs(tree + '/inner')
for i in range(20):
    with open('%s/%s/n%02d.php' % (tree, 'inner' if i % 2 else '.', i), 'wb') as h: h.write(rnd.randbytes(i * 50))
crowd = rnd.choice(leaves())
for i in range(150):
    with open('%s/crowd-%d-%03d-%s.txt' % (crowd, seed, i, 'x' * (i % 40)), 'wb') as h: h.write(rnd.randbytes(i % 300))
for i in range(600):
    with open('%s/var/cache/more-%d-%03d-%s' % (m, seed, i, 'z' * (i % 50)), 'wb') as h: h.write(b'')
for n in sorted(os.listdir(m + '/var/cache'))[:40]:
    os.remove(m + '/var/cache/' + n)
""";

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void PatchedWalkEqualsFullWalkOfTheClone(int seed)
    {
        fixture.Require();
        (string vhdx, _) = fixture.MakeClone(ChangeScript, [seed.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        AssertPatchedEqualsFull(vhdx, $"seed {seed}");
    }

    [SkippableFact]
    public void DiffReadsOnlyTheDivergenceAndTheTouchedFiles_AndEqualsTheMountedTreesDiff()
    {
        fixture.Require();
        (string vhdx, string image) = fixture.MakeClone(ChangeScript, ["11"]);
        List<ByteRange> divergent = Divergence(vhdx);
        using VhdxDisk golden = VhdxDisk.Open(fixture.GoldenVhdx!);
        using VhdxDisk clone = VhdxDisk.Open(vhdx);
        var baseCounting = new CountingSource(golden);
        var cloneCounting = new CountingSource(clone);
        var errors = new List<string>();
        IReadOnlyList<GuestChange> changes = GuestDiff.Compare(baseCounting, cloneCounting, divergent, errors.Add);
        Assert.Empty(errors);

        // The bound, from the divergence alone: its bytes, plus every clone file whose content lies in it; and less than
        // a full walk of the clone reads.
        var walkCounting = new CountingSource(clone);
        GuestWalk full = FullWalk(OpenVolume(walkCounting), out _);
        long divergentBytes = divergent.Sum(r => r.Length);
        long touched = full.Files.Where(f => f.Streams.Any(s => ByteRanges.Touches(s.Content, divergent)))
            .DistinctBy(f => f.Id).Sum(f => (f.Size + 4095) / 4096 * 4096);
        Assert.True(cloneCounting.BytesRead < walkCounting.BytesRead / 2, $"clone read {cloneCounting.BytesRead} bytes, a full walk {walkCounting.BytesRead}");
        const long Slack = 256 * 1024; // partition table, superblock and descriptors, the root directory, htree roots
        output.WriteLine($"clone read {cloneCounting.BytesRead} bytes; divergence {divergentBytes}, touched files {touched}; base read {baseCounting.BytesRead}");
        Assert.True(cloneCounting.BytesRead <= divergentBytes + touched + Slack,
            $"clone read {cloneCounting.BytesRead} bytes > divergence {divergentBytes} + touched files {touched} + {Slack}");

        // The oracle: both trees mounted by fuse2fs, compared by path and content hash.
        (string[] added, string[] deleted, string[] modified) =
            Ext4Images.ManifestDiff(fixture.GoldenManifest(), Ext4Images.FuseManifest(image, Path.Combine(fixture.Scratch, "mnt-diff")));
        var moved = changes.Where(c => c.Change is GuestChangeKind.Added or GuestChangeKind.Renamed).Select(c => c.Path).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(added, changes.Where(c => c.Change is GuestChangeKind.Added or GuestChangeKind.Renamed).Select(c => c.Path).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(deleted, changes.Where(c => c.Change == GuestChangeKind.Deleted).Select(c => c.Path)
            .Concat(changes.Where(c => c.Change == GuestChangeKind.Renamed).Select(c => c.OldPath!)).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(modified, changes.Where(c => c.Change == GuestChangeKind.Modified && !moved.Contains(c.Path)).Select(c => c.Path).Order(StringComparer.Ordinal));
        Assert.Contains(changes, c => c.Change == GuestChangeKind.Metadata);
    }

    [SkippableFact]
    public void DirtyJournalIsPatchedThroughItsReplay()
    {
        fixture.Require();
        string debugfs = Oracle.Require("debugfs", "e2fsprogs");

        // Two journaled blocks left for recovery: an inode-table block (as the guest last wrote it) and a file's data block.
        (string vhdx, _) = fixture.MakeClone(ChangeScript, ["7"], image =>
        {
            long tableBlock, dataBlock;
            using (var source = new FileDiskSource(image))
            {
                Ext4Volume v = Ext4Volume.Open(source);
                Ext4FileEntry file = v.Find("/etc/hostname")!;
                tableBlock = file.InodeRange.Offset / v.BlockSize;
                dataBlock = v.GetSectorMap(v.Find("/usr0/lib00/f000.so")!)[0].VolumeOffset / v.BlockSize;
            }

            string table = Path.Combine(fixture.Scratch, "table-" + Guid.NewGuid().ToString("N"));
            using (FileStream f = File.OpenRead(image))
            {
                byte[] block = new byte[4096];
                f.Position = tableBlock * 4096;
                f.ReadExactly(block);
                File.WriteAllBytes(table, block);
            }

            string x = Path.Combine(fixture.Scratch, "x-" + Guid.NewGuid().ToString("N"));
            File.WriteAllBytes(x, Enumerable.Repeat((byte)'X', 4096).ToArray());
            string commands = Path.Combine(fixture.Scratch, "journal-" + Guid.NewGuid().ToString("N"));
            File.WriteAllLines(commands, ["jo -c", $"jw -b {tableBlock} {table}", $"jw -b {dataBlock} {x}", "jc"]);
            Oracle.Run(debugfs, ["-w", "-f", commands, image]);
        });

        using VhdxDisk disk = VhdxDisk.Open(vhdx);
        Assert.True(OpenVolume(disk).JournalReplayedBlocks > 0, "the clone's journal needs no recovery");
        AssertPatchedEqualsFull(vhdx, "dirty journal");
    }

    [SkippableFact]
    public void UntouchedMetadataReusesTheParentsWalk()
    {
        fixture.Require();

        // A file's content rewritten in place: no inode, mapping or directory block diverged.
        (string vhdx, _) = fixture.MakeClone(string.Empty, [], image =>
        {
            long data;
            using (var source = new FileDiskSource(image))
            {
                Ext4Volume v = Ext4Volume.Open(source);
                data = v.GetSectorMap(v.Find("/var/log/syslog")!)[0].VolumeOffset;
            }

            using FileStream f = RawFile.OpenForPatch(image);
            f.Position = data + 100;
            f.Write("rewritten"u8);
        });
        using VhdxDisk disk = VhdxDisk.Open(vhdx);
        GuestWalkResult result = ((IGuestVolume)OpenVolume(disk)).PatchWalk(fixture.GoldenWalk!, Divergence(vhdx));
        Assert.Same(fixture.GoldenWalk, result.Walk);
        Assert.StartsWith("walk reused", result.Reason, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void DamagedDirectoryBlockFallsBackToAFullWalk()
    {
        fixture.Require();
        (string vhdx, _) = fixture.MakeClone(string.Empty, [], image =>
        {
            long block;
            using (var source = new FileDiskSource(image))
            {
                Ext4Volume v = Ext4Volume.Open(source);
                block = v.GetSectorMap(v.Find("/usr3/lib04")!)[0].VolumeOffset;
            }

            using FileStream f = RawFile.OpenForPatch(image);
            f.Position = block + 24;
            f.Write(new byte[64]);
        });
        using VhdxDisk disk = VhdxDisk.Open(vhdx);
        Ext4Volume volume = OpenVolume(disk);
        GuestWalkResult result = ((IGuestVolume)volume).PatchWalk(fixture.GoldenWalk!, Divergence(vhdx));
        output.WriteLine(result.Reason);
        Assert.Null(result.Walk);
        Assert.StartsWith("full walk: ", result.Reason, StringComparison.Ordinal);
        Assert.Contains("ext4 directory block of inode", result.Reason, StringComparison.Ordinal);
        FullWalk(volume, out List<string> errors);
        Assert.NotEmpty(errors);
    }

    [SkippableFact]
    public void ChangedSuperblockFeaturesFallBackToAFullWalk()
    {
        fixture.Require();

        // dir_index cleared in the primary superblock only (its checksum recomputed), as a tool writing only the primary would.
        (string vhdx, _) = fixture.MakeClone(string.Empty, [], image => PatchSuperblock(image, sb =>
        {
            uint compat = BinaryPrimitives.ReadUInt32LittleEndian(sb.AsSpan(0x5C));
            BinaryPrimitives.WriteUInt32LittleEndian(sb.AsSpan(0x5C), compat & ~0x20u);
        }));
        using VhdxDisk disk = VhdxDisk.Open(vhdx);
        GuestWalkResult result = ((IGuestVolume)OpenVolume(disk)).PatchWalk(fixture.GoldenWalk!, Divergence(vhdx));
        Assert.Null(result.Walk);
        Assert.Equal("full walk: the superblock's feature set changed", result.Reason);

        // The mount count alone (what every mount writes) is no reason to walk again.
        (vhdx, _) = fixture.MakeClone(string.Empty, [], image => PatchSuperblock(image, sb => sb[0x34]++));
        using VhdxDisk counted = VhdxDisk.Open(vhdx);
        GuestWalkResult mounted = ((IGuestVolume)OpenVolume(counted)).PatchWalk(fixture.GoldenWalk!, Divergence(vhdx));
        Assert.StartsWith("walk patched: 0 inodes", mounted.Reason, StringComparison.Ordinal);
        Assert.Equal(Lines(fixture.GoldenWalk!), Lines(mounted.Walk!));
    }

    [SkippableFact]
    public void RelocatedInodeTableFallsBackToAFullWalk()
    {
        fixture.Require();
        (string vhdx, _) = fixture.MakeClone(string.Empty, [], image =>
        {
            uint last;
            byte[] sbBytes = new byte[1024];
            using (var source = new FileDiskSource(image))
            {
                last = Ext4Volume.Open(source).GroupCount - 1;
                source.ReadExactly(sbBytes, 1024);
            }

            Assert.True(Ext4Superblock.TryRead(sbBytes, new FileInfo(image).Length, out Ext4Superblock sb, out _));
            long at = 4096 + (last * sb.DescriptorSize);
            byte[] d = new byte[sb.DescriptorSize];
            using (FileStream r = File.OpenRead(image))
            {
                r.Position = at;
                r.ReadExactly(d);
            }

            uint table = BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(8));
            BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(8), table + 1);
            (ushort _, ushort computed) = Ext4GroupDescriptor.Checksums(d, last, sb, new Ext4Checksum(sb.ChecksumSeed))!.Value;
            BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(0x1E), computed);
            using FileStream f = RawFile.OpenForPatch(image);
            f.Position = at;
            f.Write(d);
        });
        using VhdxDisk disk = VhdxDisk.Open(vhdx);
        GuestWalkResult result = ((IGuestVolume)OpenVolume(disk)).PatchWalk(fixture.GoldenWalk!, Divergence(vhdx));
        output.WriteLine(result.Reason);
        Assert.Null(result.Walk);
        Assert.StartsWith($"full walk: group ", result.Reason, StringComparison.Ordinal);
    }

    private static void PatchSuperblock(string image, Action<byte[]> change)
    {
        byte[] sb = new byte[1024];
        using FileStream f = new(image, FileMode.Open, FileAccess.ReadWrite);
        f.Position = 1024;
        f.ReadExactly(sb);
        change(sb);
        BinaryPrimitives.WriteUInt32LittleEndian(sb.AsSpan(0x3FC), Ext4Checksum.FromOnes(sb.AsSpan(0, 0x3FC)));
        f.Position = 1024;
        f.Write(sb);
    }

    private void AssertPatchedEqualsFull(string vhdx, string what)
    {
        List<ByteRange> divergent = Divergence(vhdx);
        using VhdxDisk disk = VhdxDisk.Open(vhdx);
        var counting = new CountingSource(disk);
        IGuestVolume volume = OpenVolume(counting);
        long opened = counting.BytesRead;
        GuestWalkResult result = volume.PatchWalk(fixture.GoldenWalk!, divergent);
        long patchBytes = counting.BytesRead - opened;
        output.WriteLine($"{what}: {result.Reason}; {patchBytes} bytes read, divergence {divergent.Sum(r => r.Length)} bytes");
        Assert.NotNull(result.Walk);
        Assert.StartsWith("walk patched", result.Reason, StringComparison.Ordinal);

        GuestWalk full = FullWalk(OpenVolume(disk), out List<string> errors);
        Assert.Empty(errors);
        List<string> expected = Lines(full);
        IncrementalDisks.AssertSameLines(expected, Lines(result.Walk), what);
        Assert.Equal(full.Metadata, result.Walk.Metadata);
        Assert.Equal(full.Replayed, result.Walk.Replayed);
        Assert.True(expected.Count > 10_000, $"{expected.Count} paths");

        // The patch reads a small part of what a full walk reads.
        using VhdxDisk again = VhdxDisk.Open(vhdx);
        var fullCounting = new CountingSource(again);
        FullWalk(OpenVolume(fullCounting), out _);
        output.WriteLine($"full walk {fullCounting.BytesRead} bytes");
        Assert.True(patchBytes * 5 < fullCounting.BytesRead, $"patch read {patchBytes} bytes, full walk {fullCounting.BytesRead}");
    }
}
