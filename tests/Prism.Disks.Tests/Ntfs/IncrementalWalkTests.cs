using System.Buffers.Binary;
using System.Globalization;
using Prism.Disks.IO;
using Prism.Disks.Ntfs;
using Prism.Disks.Vhdx;
using Prism.Testing;
using Xunit.Abstractions;
using static Prism.Disks.Tests.Ntfs.IncrementalWalkFixture;

namespace Prism.Disks.Tests.Ntfs;

/// <summary>
/// A clone's walk patched from its golden's snapshot equals a full walk of the clone (paths, record numbers, sequence
/// numbers, parents, sizes, sector maps), and ntfs-3g's view of the changed clone, for random guest-like change sets;
/// every fallback is exercised with its reason.
/// </summary>
public sealed class IncrementalWalkTests(IncrementalWalkFixture fixture, ITestOutputHelper output) : IClassFixture<IncrementalWalkFixture>
{
    // A guest's day: a directory deleted, one moved across the tree, files rewritten, extended (resident ones past the
    // record), truncated, deleted, renamed into other directories, named streams added and removed, hard links made,
    // new files and a new directory tree, and one directory given 300 more entries (its index splits).
    private static readonly string ChangeScript = DayScript(directoryChanges: true);

    // A clone's usual day: the same file changes only (the directory tree keeps its shape, no directory deleted, moved or
    // made), so that the walk can patch the parent's file list.
    private static readonly string FileChangeScript = DayScript(directoryChanges: false);

    // The two days' script (sys.argv[1] the mount point, sys.argv[2] the seed) from the guest's-day fragments. The
    // directory changes come first and the new tree before the crowd, and the sample of files is 70 with them, 60
    // without, so that each seed changes exactly what it changed when the two were written out separately.
    private static string DayScript(bool directoryChanges) => $$"""
{{IncrementalDisks.DayPrelude}}
def leaves():
    return sorted(os.path.join(r, d) for r, ds, _ in os.walk(m) for d in ds if d.startswith('d'))
{{(directoryChanges ? IncrementalDisks.DayDirectoryChanges : "")}}
files = sorted(os.path.join(r, n) for r, _, ns in os.walk(m) for n in ns)
chosen = iter(rnd.sample(files, {{(directoryChanges ? 70 : 60)}}))
{{IncrementalDisks.DayRewriteAndAppend}}
{{IncrementalDisks.DayTruncateAndRemove}}
{{IncrementalDisks.DayRenames}}
for i in range(5):
    p = next(chosen)
    with open(p + ':ads%d' % i, 'wb') as h: h.write(rnd.randbytes(rnd.choice([0, 40, 2000, 9000])))
for p in [f for f in files if f.endswith('3.txt') and os.path.exists(f + ':meta')][:3]:
    os.remove(p + ':meta')
{{IncrementalDisks.DayHardLinks}}
{{IncrementalDisks.DayNewFiles}}
{{(directoryChanges ? NewTree : "")}}
crowd = rnd.choice(leaves())
for i in range(300):
    with open('%s/crowd-%d-%03d-%s.txt' % (crowd, seed, i, 'x' * (i % 40)), 'wb') as h: h.write(rnd.randbytes(i % 300))
""";

    // A new directory tree of 20 files in two levels.
    private const string NewTree = """
tree = os.path.join(rnd.choice(leaves()), 'newdir-%d' % seed)
os.makedirs(tree + '/inner')
for i in range(20):
    with open('%s/%s/n%02d' % (tree, 'inner' if i % 2 else '.', i), 'wb') as h: h.write(rnd.randbytes(i * 50))
""";

    // More new files than $MFT has free records: $MFT grows (its run list or size changes).
    private const string GrowScript = """
import os, sys
m = sys.argv[1]
os.makedirs(m + '/grow')
for i in range(2500):
    with open('%s/grow/g%05d' % (m, i), 'wb') as h: h.write(b'g' * (i % 100))
""";

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void WalkIncremental_GuestChangeSet_EqualsFullWalkAndMount(int seed)
    {
        fixture.Require();
        (string vhdx, string image) = fixture.MakeClone(fixture.GoldenVhdx!, fixture.GoldenImage!, ChangeScript, seed.ToString(CultureInfo.InvariantCulture));
        List<ByteRange> divergence = Divergence(vhdx);
        using VhdxDisk clone = VhdxDisk.Open(vhdx);

        var incrementalReads = new CountingSource(clone);
        NtfsWalkResult result = OpenVolume(incrementalReads).WalkIncremental(fixture.GoldenSnapshot!, divergence);
        var fullReads = new CountingSource(clone);
        NtfsWalkSnapshot full = OpenVolume(fullReads).CaptureSnapshot();
        var visitReads = new CountingSource(clone);
        var errors = new List<NtfsEnumerationError>();
        List<string> visit = VisitLines(OpenVolume(visitReads), errors);

        Assert.Empty(errors);
        Assert.True(result.IsIncremental, result.ToString());
        Assert.Empty(result.Snapshot.Problems);
        Assert.True(visit.Count > 10_000);
        IncrementalDisks.AssertSameLines(visit, [.. full.Files.Select(Line)], "capture");
        IncrementalDisks.AssertSameLines(visit, [.. result.Snapshot.Files.Select(Line)], "incremental");

        // A directory was deleted and one moved: the file list was assembled again, not patched from the parent's.
        Assert.Null(result.Snapshot.Base);

        // ntfs-3g's view of the changed volume: every path with its inode (MFT record) and size.
        using var mountDir = new TempDir();
        using (NtfsImages.Mount mount = NtfsImages.MountImage(mountDir, image, readOnly: true))
        {
            Dictionary<string, (long Record, long Size, bool IsDirectory)> mounted = NtfsImages.FindListing(mount.Path);
            Assert.Equal(mounted.Keys.Order(StringComparer.Ordinal), result.Snapshot.Files.Select(f => f.Path));
            foreach (NtfsSnapshotFile f in result.Snapshot.Files)
            {
                (long record, long size, bool isDirectory) = mounted[f.Path];
                Assert.True(record == f.RecordNumber && isDirectory == f.IsDirectory && (isDirectory || size == f.Size),
                    $"{f.Path}: ntfs-3g says record {record}, {size} bytes, directory {isDirectory}; the patched snapshot {Line(f)}");
            }

            // What the changes touched reads through the chain as ntfs-3g reads it, every stream.
            NtfsVolume volume = OpenVolume(clone);
            int compared = 0;
            foreach (NtfsSnapshotFile f in result.Snapshot.Files.Where(f => !f.IsDirectory
                && (f.Path.Contains("/new-", StringComparison.Ordinal) || f.Path.Contains("/moved-", StringComparison.Ordinal)
                    || f.Path.Contains("/hl-", StringComparison.Ordinal) || f.Streams.Any(s => s.Name.StartsWith("ads", StringComparison.Ordinal)))))
            {
                foreach (NtfsSnapshotStream s in f.Streams)
                {
                    byte[] expected = File.ReadAllBytes(mount.Path + f.Path + (s.Name.Length == 0 ? string.Empty : ":" + s.Name));
                    IDiskSource stream = volume.OpenStream(f, s.Name);
                    byte[] actual = new byte[stream.Length];
                    stream.ReadExactly(actual, 0);
                    Assert.True(expected.AsSpan().SequenceEqual(actual), $"{f.Path}:{s.Name}: content differs from the ntfs-3g mount");
                    compared++;
                }
            }

            Assert.True(compared > 20, $"{compared} streams compared");
        }

        // The patched snapshot survives its binary form.
        IncrementalDisks.AssertSameLines(visit, [.. RoundTrip(result.Snapshot).Files.Select(Line)], "round trip");

        long divergent = divergence.Sum(r => r.Length);
        output.WriteLine($"seed {seed}: divergence {divergent:N0} B; incremental read {incrementalReads.BytesRead:N0} B ({result}); "
            + $"capture {fullReads.BytesRead:N0} B; Visit {visitReads.BytesRead:N0} B; ratio {(double)visitReads.BytesRead / incrementalReads.BytesRead:F1}x");
        Assert.True(incrementalReads.BytesRead * 4 < visitReads.BytesRead,
            $"incremental read {incrementalReads.BytesRead} bytes, a full walk {visitReads.BytesRead}");
    }

    [SkippableTheory]
    [InlineData(5)]
    [InlineData(6)]
    public void WalkIncremental_FileChangesOnly_PatchesTheParentsFileListAndEqualsCapture(int seed)
    {
        fixture.Require();
        (string vhdx, _) = fixture.MakeClone(fixture.GoldenVhdx!, fixture.GoldenImage!, FileChangeScript, seed.ToString(CultureInfo.InvariantCulture));
        List<ByteRange> divergence = Divergence(vhdx);
        using VhdxDisk clone = VhdxDisk.Open(vhdx);
        NtfsWalkResult result = OpenVolume(clone).WalkIncremental(fixture.GoldenSnapshot!, divergence);
        NtfsWalkSnapshot full = OpenVolume(clone).CaptureSnapshot();
        var errors = new List<NtfsEnumerationError>();
        List<string> visit = VisitLines(OpenVolume(clone), errors);

        Assert.Empty(errors);
        Assert.True(result.IsIncremental, result.ToString());
        IncrementalDisks.AssertSameLines(visit, [.. full.Files.Select(Line)], "capture");
        IncrementalDisks.AssertSameLines(visit, [.. result.Snapshot.Files.Select(Line)], "patched");

        // The list is the parent's with what changed: the names of the changed records and the changed directories' new
        // names made, nothing else; the records and directories kept are the capture's (their binary forms are equal).
        NtfsWalkSnapshot patched = result.Snapshot;
        Assert.Same(fixture.GoldenSnapshot, patched.Base);
        Assert.InRange(patched.AddedToBase.Length, 300, 1000);
        Assert.InRange(patched.RemovedFromBase.Length, 20, 600);
        Assert.Equal(fixture.GoldenSnapshot!.Files.Length - patched.RemovedFromBase.Length + patched.AddedToBase.Length, patched.Files.Length);
        Assert.Equal(Serialized(full), Serialized(patched));
        Assert.Equal(full.GetMetadataRanges(), patched.GetMetadataRanges());
        output.WriteLine($"seed {seed}: {result}; {patched.AddedToBase.Length} names made, {patched.RemovedFromBase.Length} of the parent's replaced or gone");
    }

    private static byte[] Serialized(NtfsWalkSnapshot snapshot)
    {
        using var stream = new MemoryStream();
        snapshot.Write(stream);
        return stream.ToArray();
    }

    [SkippableFact]
    public void WalkIncremental_NoDivergence_IsTheParentWithoutReadingRecords()
    {
        fixture.Require();
        using VhdxDisk golden = VhdxDisk.Open(fixture.GoldenVhdx!);
        NtfsWalkResult result = OpenVolume(golden).WalkIncremental(fixture.GoldenSnapshot!, []);
        Assert.True(result.IsIncremental, result.ToString());
        Assert.Equal(0, result.RecordsDecoded);
        Assert.Equal(0, result.IndexBlocksRead);
        IncrementalDisks.AssertSameLines(VisitLines(OpenVolume(golden)), [.. result.Snapshot.Files.Select(Line)], "unchanged");
    }

    [SkippableFact]
    public void WalkIncremental_BootSectorRewrittenUnchanged_StaysIncremental()
    {
        fixture.Require();
        byte[] boot = new byte[512];
        using (FileStream f = File.OpenRead(fixture.GoldenImage!))
        {
            f.ReadExactly(boot);
        }

        (string vhdx, _) = fixture.MakePatchedClone(fixture.GoldenVhdx!, fixture.GoldenImage!, (0, boot));
        using VhdxDisk clone = VhdxDisk.Open(vhdx);
        NtfsWalkResult result = OpenVolume(clone).WalkIncremental(fixture.GoldenSnapshot!, Divergence(vhdx));
        Assert.True(result.IsIncremental, result.ToString());
        Assert.Equal(0, result.RecordsDecoded);
    }

    [SkippableFact]
    public void WalkIncremental_BootSectorChanged_FallsBackToFullWalk()
    {
        fixture.Require();
        // A byte of the boot code: the volume still opens, with the same geometry.
        (string vhdx, _) = fixture.MakePatchedClone(fixture.GoldenVhdx!, fixture.GoldenImage!, (0x1F0, [0x5A]));
        AssertFallback(vhdx, NtfsWalkFallback.BootSectorChanged, "boot sector differs from the parent's at byte 0x1F0");
    }

    [SkippableFact]
    public void WalkIncremental_MftGrewInPlace_StaysIncrementalAndEqualsFullWalk()
    {
        fixture.Require();
        (string vhdx, _) = fixture.MakeClone(fixture.GoldenVhdx!, fixture.GoldenImage!, GrowScript);
        using VhdxDisk clone = VhdxDisk.Open(vhdx);
        NtfsWalkResult result = OpenVolume(clone).WalkIncremental(fixture.GoldenSnapshot!, Divergence(vhdx));
        output.WriteLine(result.ToString());
        Assert.True(result.IsIncremental, result.ToString());
        var errors = new List<NtfsEnumerationError>();
        List<string> visit = VisitLines(OpenVolume(clone), errors);
        Assert.Empty(errors);
        Assert.Contains(visit, l => l.StartsWith("/grow/g02499 ", StringComparison.Ordinal));
        IncrementalDisks.AssertSameLines(visit, [.. result.Snapshot.Files.Select(Line)], "grown $MFT");
    }

    [SkippableFact]
    public void WalkIncremental_MftMoved_FallsBackToFullWalk()
    {
        fixture.Require();
        (string vhdx, _) = MovedMftClone();
        AssertFallback(vhdx, NtfsWalkFallback.MftLayoutChanged, "$MFT's run 0 was 2979 clusters at VCN 0, LCN 4, is 2979 clusters at VCN 0, LCN ");
    }

    [SkippableFact]
    public void WalkIncremental_DamagedRecord_FallsBackAndMatchesFullWalkErrors()
    {
        fixture.Require();
        (string vhdx, _) = DamagedClone();
        NtfsWalkResult result = AssertFallback(vhdx, NtfsWalkFallback.DamagedMetadata, "could not be loaded", expectErrors: true);
        Assert.Contains(result.Snapshot.Problems, p => p.Contains("f0001.txt", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void WalkIncremental_ParentWithProblems_FallsBackToFullWalk()
    {
        fixture.Require();
        (string damagedVhdx, string damagedImage) = DamagedClone();
        NtfsWalkSnapshot parent;
        using (VhdxDisk damaged = VhdxDisk.Open(damagedVhdx))
        {
            parent = OpenVolume(damaged).CaptureSnapshot();
        }

        Assert.True(parent.HasErrors);
        (string vhdx, _) = fixture.MakeClone(damagedVhdx, damagedImage, """
import sys
with open(sys.argv[1] + '/t05/d050/late.txt', 'wb') as h: h.write(b'late')
""");
        AssertFallback(vhdx, NtfsWalkFallback.ParentHadErrors, "the parent's walk skipped 1 entries", expectErrors: true, parent: parent);
    }

    [SkippableFact]
    public void WalkIncremental_SnapshotOfAnotherVolume_FallsBackToFullWalk()
    {
        fixture.Require();
        // The golden's volume opened on its own: sector maps without the disk offset, so the snapshot does not fit.
        using var raw = new FileDiskSource(fixture.GoldenImage!);
        NtfsVolume volume = NtfsVolume.Open(raw, "raw golden");
        NtfsWalkResult result = volume.WalkIncremental(fixture.GoldenSnapshot!, []);
        Assert.Equal(NtfsWalkFallback.ParentMismatch, result.Fallback);
        Assert.Contains("another volume", result.FallbackDetail, StringComparison.Ordinal);
        IncrementalDisks.AssertSameLines(VisitLines(volume), [.. result.Snapshot.Files.Select(Line)], "mismatch");
    }

    [SkippableFact]
    public void Snapshot_RoundTrip_SameFilesAndBytes()
    {
        fixture.Require();
        NtfsWalkSnapshot golden = fixture.GoldenSnapshot!;
        using var first = new MemoryStream();
        golden.Write(first);
        NtfsWalkSnapshot read = NtfsWalkSnapshot.Read(new MemoryStream(first.ToArray()));
        Assert.Equal(golden.Files.Select(Line), read.Files.Select(Line));
        Assert.Equal(golden.Problems, read.Problems);
        Assert.Equal(golden.GetMetadataRanges(), read.GetMetadataRanges());
        using var second = new MemoryStream();
        read.Write(second);
        Assert.Equal(first.ToArray(), second.ToArray());
        output.WriteLine($"golden snapshot: {golden.Files.Length:N0} files, {first.Length:N0} bytes serialized");

        // And the read snapshot works as a parent.
        using VhdxDisk disk = VhdxDisk.Open(fixture.GoldenVhdx!);
        Assert.True(OpenVolume(disk).WalkIncremental(read, []).IsIncremental);
    }

    [SkippableFact]
    public void Snapshot_Read_CorruptOrForeign_TypedErrors()
    {
        fixture.Require();
        using var stream = new MemoryStream();
        fixture.GoldenSnapshot!.Write(stream);
        byte[] good = stream.ToArray();

        byte[] flipped = (byte[])good.Clone();
        flipped[good.Length / 2] ^= 0x40;
        Assert.Contains("checksum", Assert.Throws<InvalidDataException>(() => NtfsWalkSnapshot.Read(new MemoryStream(flipped))).Message,
            StringComparison.Ordinal);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => NtfsWalkSnapshot.Read(new MemoryStream(good[..^10]))).Message,
            StringComparison.Ordinal);
        byte[] version = (byte[])good.Clone();
        version[4] = 99;
        Assert.Contains("version 99", Assert.Throws<NotSupportedException>(() => NtfsWalkSnapshot.Read(new MemoryStream(version))).Message,
            StringComparison.Ordinal);
        byte[] magic = (byte[])good.Clone();
        magic[0] = (byte)'X';
        Assert.Contains("signature", Assert.Throws<InvalidDataException>(() => NtfsWalkSnapshot.Read(new MemoryStream(magic))).Message,
            StringComparison.Ordinal);
    }

    // A clone whose $MFT was moved (as a defragmenter moves it): its clusters copied to an unused place of the volume and
    // the one run of $MFT's $DATA in record 0 pointed there. The boot sector is untouched; every record reads the same.
    private (string Vhdx, string Image) MovedMftClone()
    {
        const int ClusterSize = 4096, RecordSize = 1024;
        byte[] volume = File.ReadAllBytes(fixture.GoldenImage!);
        long mftLcn = BinaryPrimitives.ReadInt64LittleEndian(volume.AsSpan(0x30));
        byte[] record = volume.AsSpan((int)(mftLcn * ClusterSize), RecordSize).ToArray();
        int usaOffset = BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(4));
        int usaCount = BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(6));
        for (int i = 1; i < usaCount; i++)
        {
            record.AsSpan(usaOffset + (2 * i), 2).CopyTo(record.AsSpan((512 * i) - 2));
        }

        int at = BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(0x14));
        while (BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(at)) != 0x80 || record[at + 8] == 0 || record[at + 9] != 0)
        {
            at += BinaryPrimitives.ReadInt32LittleEndian(record.AsSpan(at + 4));
        }

        int pairs = at + BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(at + 0x20));
        int lengthSize = record[pairs] & 0xF, offsetSize = record[pairs] >> 4;
        Assert.Equal(0, record[pairs + 1 + lengthSize + offsetSize]); // one run
        long clusters = ReadField(record.AsSpan(pairs + 1, lengthSize));
        Assert.Equal(mftLcn, ReadField(record.AsSpan(pairs + 1 + lengthSize, offsetSize)));

        // An unused place: no file content, no index, no file record, not $MFT; its LCN encodable in the same field.
        var used = fixture.GoldenSnapshot!.GetMetadataRanges().Concat(fixture.GoldenSnapshot.Files.SelectMany(f => f.Streams.SelectMany(s => s.Ranges)))
            .Select(r => new ByteRange(r.Offset - VolumeOffset, r.Length)).Append(new ByteRange(mftLcn * ClusterSize, clusters * ClusterSize)).ToList();
        long target = (volume.Length / ClusterSize) - clusters - 64;
        while (used.Any(r => r.Overlaps(new ByteRange(target * ClusterSize, clusters * ClusterSize))))
        {
            target -= 256;
            Assert.True(target > 0, "no unused room for $MFT");
        }

        // Widen the LCN field when the new LCN needs it and the attribute has room after the run list's end marker.
        int room = at + BinaryPrimitives.ReadInt32LittleEndian(record.AsSpan(at + 4)) - (pairs + 2 + lengthSize + offsetSize);
        int needed = 1;
        while (target >= 1L << ((8 * needed) - 1))
        {
            needed++;
        }

        Assert.True(needed <= offsetSize + room, $"$MFT's run list has no room for a {needed}-byte LCN (field {offsetSize}, room {room})");
        offsetSize = Math.Max(offsetSize, needed);
        record[pairs] = (byte)((offsetSize << 4) | lengthSize);
        record[pairs + 1 + lengthSize + offsetSize] = 0;
        for (int i = 0; i < offsetSize; i++)
        {
            record[pairs + 1 + lengthSize + i] = (byte)(target >> (8 * i));
        }

        ushort usn = BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(usaOffset));
        for (int i = 1; i < usaCount; i++)
        {
            record.AsSpan((512 * i) - 2, 2).CopyTo(record.AsSpan(usaOffset + (2 * i)));
            BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan((512 * i) - 2), usn);
        }

        byte[] moved = volume.AsSpan((int)(mftLcn * ClusterSize), (int)(clusters * ClusterSize)).ToArray();
        record.CopyTo(moved, 0);
        return fixture.MakePatchedClone(fixture.GoldenVhdx!, fixture.GoldenImage!, (mftLcn * ClusterSize, record), (target * ClusterSize, moved));

        static long ReadField(ReadOnlySpan<byte> field)
        {
            long value = 0;
            for (int i = field.Length - 1; i >= 0; i--)
            {
                value = (value << 8) | field[i];
            }

            return value;
        }
    }

    // A clone whose record of /t00/d000/f0001.txt lost its "FILE" signature.
    private (string Vhdx, string Image) DamagedClone()
    {
        NtfsSnapshotFile victim = fixture.GoldenSnapshot!.Files.Single(f => f.Path == "/t00/d000/f0001.txt");
        return fixture.MakePatchedClone(fixture.GoldenVhdx!, fixture.GoldenImage!, (victim.MftRecords[0].Offset - VolumeOffset, "BAAD"u8.ToArray()));
    }

    private NtfsWalkResult AssertFallback(string vhdx, NtfsWalkFallback reason, string detail, bool expectErrors = false, NtfsWalkSnapshot? parent = null)
    {
        using VhdxDisk clone = VhdxDisk.Open(vhdx);
        NtfsWalkResult result = OpenVolume(clone).WalkIncremental(parent ?? fixture.GoldenSnapshot!, Divergence(vhdx));
        output.WriteLine(result.ToString());
        Assert.Equal(reason, result.Fallback);
        Assert.False(result.IsIncremental);
        Assert.Contains(detail, result.FallbackDetail, StringComparison.Ordinal);
        var errors = new List<NtfsEnumerationError>();
        IncrementalDisks.AssertSameLines(VisitLines(OpenVolume(clone), errors), [.. result.Snapshot.Files.Select(Line)], reason.ToString());
        Assert.Equal(expectErrors, errors.Count > 0);
        Assert.Equal(errors.Count, result.Snapshot.Problems.Length);
        return result;
    }

    private static NtfsWalkSnapshot RoundTrip(NtfsWalkSnapshot snapshot)
    {
        using var stream = new MemoryStream();
        snapshot.Write(stream);
        stream.Position = 0;
        return NtfsWalkSnapshot.Read(stream);
    }
}
