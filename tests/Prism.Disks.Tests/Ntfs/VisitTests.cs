using System.Collections.Concurrent;
using System.Text;
using Prism.Disks.Errors;
using Prism.Disks.IO;
using Prism.Disks.Ntfs;
using Prism.Disks.Partitions;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.Ntfs;

/// <summary>
/// <see cref="NtfsVolume.Visit"/> against <see cref="NtfsVolume.Enumerate"/> + <see cref="NtfsVolume.GetExtents"/> (which the
/// other tests check against ntfsls, ntfscat and fsntfsinfo): every view is copied out inside the visitor (fields, streams,
/// sector map) and the walk, errors included, must be the enumeration's, in its order, on every kind of volume the suite
/// builds, clean and corrupted. Also ToEntry, a throwing visitor, cancellation and argument checks. The tests that switch
/// the walk's helper thread on and off are in <see cref="HelperSwitch"/>.
/// </summary>
public sealed class VisitTests(RichVolumeFixture rich, ComplexVolumeFixture complex, PartitionedChainFixture chain)
    : IClassFixture<RichVolumeFixture>, IClassFixture<ComplexVolumeFixture>, IClassFixture<PartitionedChainFixture>
{
    // A reparse file (with an ADS) and a reparse directory, as ReparsePointTests tags them.
    private const string ReparseScript = """
import os, struct, sys
m = sys.argv[1]
os.makedirs(m + '/rp/dir/inner')
open(m + '/rp/dir/inner/hidden.txt', 'w').write('behind a reparse point')
open(m + '/rp/dir/visible.txt', 'w').write('in the reparse directory')
open(m + '/rp/file.bin', 'wb').write(b'payload' * 1000)
open(m + '/rp/file.bin:side', 'wb').write(b'a stream on a reparse point')
open(m + '/rp/plain.txt', 'wb').write(b'plain')
os.makedirs(m + '/other/sub')
open(m + '/other/sub/x.txt', 'wb').write(b'x' * 5000)
def tag(p, t, payload):
    os.setxattr(p, 'system.ntfs_reparse_data', struct.pack('<IHH', t, len(payload), 0) + payload)
tag(m + '/rp/file.bin', 0x80000099, b'custom reparse payload!!')
tag(m + '/rp/dir', 0x8000009A, b'directory reparse data')
""";

    public static TheoryData<string, bool, bool> RichWalks => new()
    {
        { "/", true, false }, { "/", true, true }, { "/", false, false }, { "/", false, true }, { string.Empty, false, false },
        { "/many", true, false }, { "many/d03/", false, false }, { "/UNICODE", false, true }, { "/level00/level01", true, false },
        { "/links", true, true }, { "/ads", false, false }, { "/compressed", false, false }, { "/$Extend", true, true },
    };

    public static TheoryData<string, bool, bool> ComplexWalks => new()
    {
        { "/", true, false }, { "/", true, true }, { "/", false, false }, { "/", false, true },
        { "/dir1", true, false }, { "/dir0", false, true }, { "/c", false, false }, { "/$Extend", true, false },
    };

    public static TheoryData<int> ClusterSizes => [512, 4096, 65536];

    public static TheoryData<string> Disks => [.. PartitionedChainFixture.DiskNames];

    [SkippableTheory]
    [MemberData(nameof(RichWalks))]
    public void Visit_RichVolume_MatchesEnumerateAndGetExtents(string directory, bool recursive, bool includeSystemFiles)
    {
        using var source = new FileDiskSource(rich.RequireImage());
        NtfsVolume volume = NtfsVolume.Open(source, rich.Image);
        int files = AssertSameWalk(volume, directory, recursive, includeSystemFiles);
        Assert.True(files > (directory == "/" && recursive ? 10_000 : 0), $"{files} files");
    }

    [SkippableTheory]
    [MemberData(nameof(ComplexWalks))]
    public void Visit_ComplexVolume_MatchesEnumerateAndGetExtents(string directory, bool recursive, bool includeSystemFiles)
    {
        NtfsVolume volume = NtfsVolume.Open(new MemoryDiskSource(complex.Bytes ?? []), complex.RequireImage());
        int files = AssertSameWalk(volume, directory, recursive, includeSystemFiles);
        Assert.True(files > (directory == "/" && recursive ? 200 : 0), $"{files} files");
    }

    [SkippableFact]
    public void Visit_ComplexVolume_CoversAttributeListsFragmentedMftAndSpecialStreams()
    {
        // What the complex volume equivalence above covers: a file with extension records (an attribute list), $MFT in
        // many runs, several streams, compressed, sparse, non-resident and resident streams.
        NtfsVolume volume = NtfsVolume.Open(new MemoryDiskSource(complex.Bytes ?? []), complex.RequireImage());
        var seen = new List<(string Path, int Records, int Streams, int FirstStreamRanges)>();
        volume.Visit((in NtfsFileView f) =>
        {
            NtfsSectorMap map = f.GetSectorMap();
            seen.Add((f.Path.ToString(), map.MftRecords.Length, f.StreamCount, f.StreamCount > 0 ? map.StreamRanges(0).Length : 0));
        }, includeSystemFiles: true);
        Assert.Contains(seen, s => s.Path == "/$MFT" && s.FirstStreamRanges > 10);
        Assert.Contains(seen, s => s.Path == "/fragmented.bin" && s.Records > 1 && s.FirstStreamRanges > 100);
        Assert.Contains(seen, s => s.Path == "/dir0/ads.txt" && s.Streams == 2);
        NtfsFileEntry[] entries = [.. volume.Enumerate(includeSystemFiles: true)];
        Assert.Contains(entries, e => e.Streams.Any(s => s.IsCompressed));
        Assert.Contains(entries, e => e.Streams.Any(s => s.IsSparse));
        Assert.Contains(entries, e => e.Streams.Any(s => s.IsResident && s.Size > 0));
    }

    [SkippableTheory]
    [MemberData(nameof(ClusterSizes))]
    public void Visit_ClusterSize_MatchesEnumerateAndGetExtents(int clusterSize)
    {
        using var dir = new TempDir();
        string image = ClusterSizeTests.BuildVolume(dir, clusterSize, 512, out string[] names);
        using var source = new FileDiskSource(image);
        NtfsVolume volume = NtfsVolume.Open(source, image);
        Assert.Equal(clusterSize, volume.ClusterSize);
        Assert.True(AssertSameWalk(volume, "/", recursive: true, includeSystemFiles: false) == names.Length, "one view per copied file");
        AssertSameWalk(volume, "/", recursive: true, includeSystemFiles: true);
        AssertSameWalk(volume, "/", recursive: false, includeSystemFiles: true);
        AssertSameWalk(volume, "/$Extend", recursive: true, includeSystemFiles: false);
        AssertSameWalk(volume, "$extend/", recursive: false, includeSystemFiles: true);
    }

    [SkippableFact]
    public void Visit_ReparsePointVolume_MatchesEnumerateAndGetExtents()
    {
        // The rich volume has no reparse points: a small volume with a reparse file (with an ADS) and a reparse directory.
        using var dir = new TempDir();
        string image = NtfsImages.Create(dir, "reparse.img", 16L * 1024 * 1024, 4096);
        using (NtfsImages.Mount mount = NtfsImages.MountImage(dir, image, readOnly: false))
        {
            NtfsImages.RunPython(ReparseScript, mount.Path);
        }

        using var source = new FileDiskSource(image);
        NtfsVolume volume = NtfsVolume.Open(source, image);
        var reparse = new List<string>();
        volume.Visit((in NtfsFileView f) =>
        {
            if (f.IsReparsePoint)
            {
                reparse.Add(f.Path.ToString());
            }
        });
        Assert.Equal(["/rp/dir", "/rp/file.bin"], reparse.Order(StringComparer.Ordinal));
        AssertSameWalk(volume, "/", recursive: true, includeSystemFiles: false);
        AssertSameWalk(volume, "/", recursive: true, includeSystemFiles: true);
        AssertSameWalk(volume, "/rp", recursive: false, includeSystemFiles: false);
        // A reparse directory is not followed, but it is walked when asked for by name.
        AssertSameWalk(volume, "/rp/dir", recursive: true, includeSystemFiles: false);
    }

    [SkippableTheory]
    [MemberData(nameof(Disks))]
    public void Visit_PartitionedChainThroughTwoDifferencingLevels_MatchesEnumerateAndGetExtents(string name)
    {
        PartitionedChainFixture.ChainDisk d = chain.RequireDisk(name);
        using VhdxDisk disk = VhdxDisk.Open(d.Child2Path);
        PartitionTable table = PartitionTable.Read(disk, disk.LogicalSectorSize);
        foreach ((int number, PartitionedChainFixture.VolumeHistory history) in d.NtfsPartitions)
        {
            NtfsVolume volume = NtfsVolume.Open(table.Partitions.Single(p => p.Number == number));
            Assert.True(volume.DiskOffset > 0, "sector maps relative to the disk");
            int files = AssertSameWalk(volume, "/", recursive: true, includeSystemFiles: false);
            Assert.True(files > history.MinFiles, $"partition {number}: {files} files");
            AssertSameWalk(volume, "/", recursive: true, includeSystemFiles: true);
            AssertSameWalk(volume, "/", recursive: false, includeSystemFiles: false);
            string sub = LargestSubdirectory(volume);
            AssertSameWalk(volume, sub, recursive: true, includeSystemFiles: false);
            AssertSameWalk(volume, sub, recursive: false, includeSystemFiles: true);
        }
    }

    [SkippableTheory]
    [InlineData("vhdx/fixed.vhdx.gz")]
    [InlineData("vhdx/dynamic.vhdx.gz")]
    public void Visit_WindowsFormattedCorpusVolume_MatchesEnumerateAndGetExtents(string corpusFile)
    {
        // As CorpusVolumeTests opens them: qemu-img makes the raw disk, the NTFS volume is its only partition.
        using var dir = new TempDir();
        string qemu = Oracle.Require("qemu-img", "qemu-utils");
        string vhdx = Corpus.Unpack(corpusFile, dir);
        string raw = dir.File("disk.raw");
        Oracle.Run(qemu, ["convert", "-O", "raw", vhdx, raw]);
        using var disk = new FileDiskSource(raw);
        NtfsVolume volume = NtfsVolume.Open(Assert.Single(PartitionTable.Read(disk).Partitions));
        // Freshly formatted by Windows: only the metadata files, with $Extend/$RmMetadata/$TxfLog two levels down.
        AssertSameWalk(volume, "/", recursive: true, includeSystemFiles: true, atLeast: 15);
        AssertSameWalk(volume, "/", recursive: true, includeSystemFiles: false, atLeast: 0);
        AssertSameWalk(volume, "/", recursive: false, includeSystemFiles: true, atLeast: 10);
        AssertSameWalk(volume, "/$Extend", recursive: true, includeSystemFiles: false, atLeast: 5);
        AssertSameWalk(volume, "/$Extend/$RmMetadata", recursive: false, includeSystemFiles: false, atLeast: 2);
    }

    [SkippableFact]
    public void Visit_CorruptFileRecord_SameFilesAndErrorsAsEnumerate()
    {
        complex.RequireImage();
        byte[] bytes = (byte[])complex.Bytes!.Clone();
        NtfsVolume clean = NtfsVolume.Open(new MemoryDiskSource(complex.Bytes!), "clean");
        NtfsFileEntry victim = clean.Find("/dir2/entry-005-xxxxx.txt")!;
        long offset = clean.GetExtents(victim).MftRecords[0].Offset;
        bytes[offset + 0x18] = 0x10; // bytes in use below the header size (as FuzzTests corrupts it)
        bytes[offset + 0x19] = 0;
        foreach (bool includeSystemFiles in (bool[])[false, true])
        {
            List<string> events = AssertSameEvents(bytes, "/", recursive: true, includeSystemFiles);
            Assert.Single(events, e => e.StartsWith($"error {victim.Path} #{victim.RecordNumber} ", StringComparison.Ordinal));
        }

        AssertSameEvents(bytes, "/dir2", recursive: false, includeSystemFiles: false);
    }

    [SkippableFact]
    public void Visit_EachIndexBlockCorrupt_SameFilesAndErrorsAsEnumerate()
    {
        complex.RequireImage();
        // Most INDX signatures on this volume are stale blocks of the deleted /fill directory: corrupting them changes nothing.
        int[] blocks = FuzzTests.FindStructures(complex.Bytes!, "INDX");
        int reported = 0;
        foreach (int block in blocks)
        {
            byte[] bytes = (byte[])complex.Bytes!.Clone();
            bytes[block] = (byte)'X';
            List<string> events = AssertSameEvents(bytes, "/", recursive: true, includeSystemFiles: true, $"INDX at 0x{block:X}");
            reported += events.Any(IsError) ? 1 : 0;
        }

        Assert.True(reported >= 10, $"only {reported} of {blocks.Length} corrupted index blocks reported");
    }

    [SkippableTheory]
    [InlineData("FILE", 1)]
    [InlineData("FILE", 2)]
    [InlineData("INDX", 3)]
    public void Visit_SeededMutations_SameFilesAndErrorsAsEnumerate(string signature, int seed)
    {
        complex.RequireImage();
        byte[] bytes = (byte[])complex.Bytes!.Clone();
        NtfsVolume clean = NtfsVolume.Open(new MemoryDiskSource(complex.Bytes!), "clean");
        int[] targets = signature == "FILE" ? FuzzTests.LiveRecords(bytes) : FuzzTests.FindStructures(bytes, signature);
        Assert.True(targets.Length > 10, $"too few {signature} structures");
        int structureSize = signature == "FILE" ? clean.MftRecordSize : clean.IndexBlockSize;
        var rnd = new Random(seed);
        int reported = 0;
        const int Iterations = 250;
        for (int iteration = 0; iteration < Iterations; iteration++)
        {
            int start = targets[rnd.Next(targets.Length)];
            List<(int At, byte Value)> saved = FuzzTests.Mutate(bytes, start, structureSize, rnd);
            List<string> events = AssertSameEvents(bytes, "/", recursive: true, includeSystemFiles: true,
                $"seed {seed} iteration {iteration} ({signature} at 0x{start:X})");
            reported += events.Count(e => !e.StartsWith("file ", StringComparison.Ordinal));
            FuzzTests.Restore(bytes, saved);
        }

        Assert.True(reported > Iterations / 50, $"only {reported} errors in {Iterations} mutations: the comparison saw too few");
    }

    [SkippableTheory]
    [InlineData("rich")]
    [InlineData("complex")]
    public void ToEntry_EveryView_EqualsTheEnumeratedEntryAndItsExtents(string volumeName)
    {
        NtfsVolume volume = OpenFixtureVolume(volumeName, out IDisposable? owner);
        using (owner)
        {
            var fromViews = new List<NtfsFileEntry>();
            var mismatches = new List<string>();
            volume.Visit((in NtfsFileView f) =>
            {
                NtfsFileEntry entry = f.ToEntry();
                fromViews.Add(entry);

                // The view's map and GetExtents of its entry use different buffers: the map is still the file's afterwards.
                NtfsSectorMap map = f.GetSectorMap();
                NtfsFileExtents extents = volume.GetExtents(entry);
                string fromMap = DescribeMap(f, map);
                string fromExtents = DescribeExtents(entry, extents);
                if (fromMap != fromExtents)
                {
                    mismatches.Add($"{fromMap} <> {fromExtents}");
                }
            }, includeSystemFiles: true);
            Assert.Empty(mismatches);
            string[] expected = [.. volume.Enumerate(includeSystemFiles: true).Select(e => DescribeEntry(volume, e))];
            Assert.Equal(expected, fromViews.Select(e => DescribeEntry(volume, e)));
        }
    }

    [SkippableTheory]
    [InlineData("rich", false)]
    [InlineData("complex", false)]
    [InlineData("complex", true)]
    public void ToEntry_OpenStream_ReadsTheSameBytesAsTheEnumeratedEntry(string volumeName, bool readInsideVisitor)
    {
        NtfsVolume volume = OpenFixtureVolume(volumeName, out IDisposable? owner);
        using (owner)
        {
            NtfsFileEntry[] enumerated = [.. volume.Enumerate(includeSystemFiles: true)];
            var kept = new List<NtfsFileEntry>();
            var insideReads = new List<byte[]>();
            volume.Visit((in NtfsFileView f) =>
            {
                NtfsFileEntry entry = f.ToEntry();
                kept.Add(entry);
                if (readInsideVisitor)
                {
                    for (int i = 0; i < f.StreamCount; i++)
                    {
                        insideReads.Add(RichVolumeTests.ReadAll(volume.OpenStream(entry, f.StreamName(i))));
                    }
                }
            }, includeSystemFiles: true);
            Assert.Equal(enumerated.Select(e => e.Path), kept.Select(e => e.Path));
            int streams = 0;
            int resident = 0;
            for (int n = 0; n < enumerated.Length; n++)
            {
                foreach (NtfsStreamInfo s in enumerated[n].Streams)
                {
                    byte[] expected = RichVolumeTests.ReadAll(volume.OpenStream(enumerated[n], s.Name));
                    byte[] actual = readInsideVisitor ? insideReads[streams] : RichVolumeTests.ReadAll(volume.OpenStream(kept[n], s.Name));
                    Assert.True(expected.AsSpan().SequenceEqual(actual), $"{enumerated[n].Path}:{s.Name} reads differently through ToEntry");
                    streams++;
                    resident += s.IsResident && s.Size > 0 ? 1 : 0;
                }
            }

            if (readInsideVisitor)
            {
                Assert.Equal(streams, insideReads.Count);
            }

            Assert.True(resident > 3, $"only {resident} non-empty resident streams read");
        }
    }

    [SkippableFact]
    public void Visit_TwoWalksAtOnceOnOneVolume_BothMatchEnumerate()
    {
        // NtfsVolume is documented thread-safe for reads: concurrent walks share its $MFT cache but not their buffers.
        using var source = new FileDiskSource(rich.RequireImage());
        NtfsVolume volume = NtfsVolume.Open(source, rich.Image);
        List<string> expected = EnumerateEvents(volume, "/", recursive: true, includeSystemFiles: true);
        var walks = new List<string>[4];
        Parallel.For(0, walks.Length, new ParallelOptions { MaxDegreeOfParallelism = 2 },
            i => walks[i] = VisitEvents(volume, "/", recursive: true, includeSystemFiles: true));
        foreach (List<string> walk in walks)
        {
            AssertSameSequence(expected, walk, "concurrent walk");
        }
    }

    [SkippableTheory]
    [InlineData(1, false)]
    [InlineData(300, false)]
    [InlineData(5000, false)]
    [InlineData(777, true)]
    public void Visit_VisitorThrowsAfterNFiles_RethrowsAndVolumeStaysUsable(int throwAt, bool formatLikeException)
    {
        string image = rich.RequireImage();
        List<string> full;
        using (var clean = new FileDiskSource(image))
        {
            full = VisitEvents(NtfsVolume.Open(clean, image), "/", recursive: true, includeSystemFiles: true);
        }

        Assert.True(full.Count > throwAt);
        var source = new RecordingSource(new FileDiskSource(image));
        NtfsVolume volume = NtfsVolume.Open(source, image);
        // An EndOfStreamException is what the walk itself reports and skips as an entry's error; from the visitor it must end the walk.
        Exception thrown = formatLikeException ? new EndOfStreamException("visitor gave up") : new InvalidOperationException("visitor gave up");
        int calls = 0;
        var errors = new List<NtfsEnumerationError>();
        void Visitor(in NtfsFileView f)
        {
            if (++calls == throwAt)
            {
                throw thrown;
            }
        }

        Assert.Same(thrown, Assert.ThrowsAny<Exception>(() => volume.Visit(Visitor, includeSystemFiles: true, onError: errors.Add)));
        Assert.Equal(throwAt, calls);
        Assert.Empty(errors);
        Assert.Equal(0, source.ReadsInFlight);

        // The same volume walks in full again, both ways.
        Assert.Equal(full, VisitEvents(volume, "/", recursive: true, includeSystemFiles: true));
        Assert.Equal(full, EnumerateEvents(volume, "/", recursive: true, includeSystemFiles: true));

        // Thrown again, then the source is disposed at once: no read is running then, and none comes later.
        calls = 0;
        Assert.Same(thrown, Assert.ThrowsAny<Exception>(() => volume.Visit(Visitor, includeSystemFiles: true)));
        source.Dispose();
        Assert.Equal(0, source.ReadsInFlightAtDispose);
        Assert.Equal(throwAt, calls);
        Assert.Equal(0, source.ReadsAfterDispose);

        // (The recording sees a read after disposal when there is one.)
        Assert.Throws<ObjectDisposedException>(() => volume.Visit((in NtfsFileView f) => { }, includeSystemFiles: true));
        Assert.True(source.ReadsAfterDispose > 0);
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(256)]
    [InlineData(257)]
    [InlineData(4000)]
    public void Visit_TokenCancelledInsideVisitor_ThrowsOperationCanceledException(int cancelAt)
    {
        using var source = new FileDiskSource(rich.RequireImage());
        NtfsVolume volume = NtfsVolume.Open(source, rich.Image);
        using var cts = new CancellationTokenSource();
        int calls = 0;
        OperationCanceledException ex = Assert.Throws<OperationCanceledException>(() => volume.Visit((in NtfsFileView f) =>
        {
            if (++calls == cancelAt)
            {
                cts.Cancel();
            }
        }, cancellationToken: cts.Token));
        Assert.Equal(cts.Token, ex.CancellationToken);

        // Enumerate stops at the same file.
        using var enumerateCts = new CancellationTokenSource();
        int enumerated = 0;
        Assert.Throws<OperationCanceledException>(() =>
        {
            foreach (NtfsFileEntry e in volume.Enumerate(cancellationToken: enumerateCts.Token))
            {
                if (++enumerated == cancelAt)
                {
                    enumerateCts.Cancel();
                }
            }
        });
        Assert.Equal(enumerated, calls);
        Assert.Equal(cancelAt, calls);

        // And the volume walks in full afterwards.
        Assert.True(AssertSameWalk(volume, "/", recursive: true, includeSystemFiles: false) > 10_000);
    }

    [SkippableFact]
    public void Visit_AlreadyCancelledToken_ThrowsBeforeTheFirstFile()
    {
        NtfsVolume volume = NtfsVolume.Open(new MemoryDiskSource(complex.Bytes ?? []), complex.RequireImage());
        int calls = 0;
        Assert.Throws<OperationCanceledException>(() => volume.Visit((in NtfsFileView f) => calls++, cancellationToken: new CancellationToken(true)));
        Assert.Equal(0, calls);
        Assert.Throws<OperationCanceledException>(() => volume.Enumerate(cancellationToken: new CancellationToken(true)).Count());
    }

    [SkippableFact]
    public void Visit_NullVisitorOrDirectory_ThrowsArgumentNullException()
    {
        NtfsVolume volume = NtfsVolume.Open(new MemoryDiskSource(complex.Bytes ?? []), complex.RequireImage());
        Assert.Throws<ArgumentNullException>("visitor", () => volume.Visit(null!));
        Assert.Throws<ArgumentNullException>("visitor", () => volume.Visit(null!, "/no-such-directory"));
        Assert.Throws<ArgumentNullException>("directory", () => volume.Enumerate(null!));
        Assert.Throws<ArgumentNullException>("directory", () => volume.Visit((in NtfsFileView f) => { }, null!));
    }

    [SkippableTheory]
    [InlineData("/no-such-directory")]
    [InlineData("/many/no-such-directory")]
    [InlineData("/tiny.txt")]
    [InlineData("/many/d00/file_00000.dat")]
    [InlineData("/tiny.txt/below")]
    [InlineData("/ads/host.txt")]
    public void Visit_MissingDirectoryOrFilePath_ThrowsFileNotFoundExceptionAsEnumerate(string directory)
    {
        using var source = new FileDiskSource(rich.RequireImage());
        NtfsVolume volume = NtfsVolume.Open(source, rich.Image);
        FileNotFoundException expected = Assert.Throws<FileNotFoundException>(() => volume.Enumerate(directory).Count());
        int calls = 0;
        var errors = new List<NtfsEnumerationError>();
        FileNotFoundException actual = Assert.Throws<FileNotFoundException>(() => volume.Visit((in NtfsFileView f) => calls++, directory, onError: errors.Add));
        Assert.Equal(expected.Message, actual.Message);
        Assert.Equal(expected.FileName, actual.FileName);
        Assert.Equal(directory, actual.FileName);
        Assert.Equal(0, calls);
        Assert.Empty(errors);
    }

    [SkippableTheory]
    [InlineData("rich")]
    [InlineData("complex")]
    public void Visit_NestedVisitOfEachDirectory_MatchesEnumerateAndKeepsTheOuterView(string volumeName)
    {
        NtfsVolume volume = OpenFixtureVolume(volumeName, out IDisposable? owner);
        using (owner)
        {
            var problems = new List<string>();
            int directories = 0;
            volume.Visit((in NtfsFileView f) =>
            {
                if (!f.IsDirectory)
                {
                    return;
                }

                directories++;
                string before = DescribeView(f);
                string path = f.Path.ToString();
                List<string> inner = VisitEvents(volume, path, recursive: false, includeSystemFiles: false);
                if (!inner.SequenceEqual(EnumerateEvents(volume, path, recursive: false, includeSystemFiles: false)))
                {
                    problems.Add($"{path}: nested Visit differs from Enumerate");
                }

                // The outer view (its path and sector map buffers) is untouched by the walk inside.
                string after = DescribeView(f);
                if (before != after)
                {
                    problems.Add($"{before} became {after}");
                }
            }, includeSystemFiles: true);
            Assert.Empty(problems);
            Assert.True(directories > 3, $"{directories} directories");
        }
    }

    // Visit against Enumerate + GetExtents on a clean volume: the same files (at least atLeast) in the same order, no errors.
    // Returns the file count.
    internal static int AssertSameWalk(NtfsVolume volume, string directory, bool recursive, bool includeSystemFiles, int atLeast = 1)
    {
        List<string> expected = EnumerateEvents(volume, directory, recursive, includeSystemFiles);
        List<string> actual = VisitEvents(volume, directory, recursive, includeSystemFiles);
        string? problem = expected.FirstOrDefault(e => !e.StartsWith("file ", StringComparison.Ordinal));
        Assert.True(problem is null, $"walk of {directory}: {problem}");
        Assert.True(expected.Count >= atLeast, $"walk of {directory}: {expected.Count} files, expected at least {atLeast}");
        AssertSameSequence(expected, actual, $"walk of {directory} (recursive {recursive}, system files {includeSystemFiles})");
        return expected.Count;
    }

    // The same comparison on a (corrupted) image, each side on a volume of its own; returns the events.
    private static List<string> AssertSameEvents(byte[] bytes, string directory, bool recursive, bool includeSystemFiles, string? context = null)
    {
        List<string> expected = WalkEvents(bytes, volume => EnumerateEvents(volume, directory, recursive, includeSystemFiles));
        List<string> actual = WalkEvents(bytes, volume => VisitEvents(volume, directory, recursive, includeSystemFiles));
        AssertSameSequence(expected, actual, context ?? $"walk of {directory}");
        return expected;
    }

    private static List<string> WalkEvents(byte[] bytes, Func<NtfsVolume, List<string>> walk)
    {
        NtfsVolume volume;
        try
        {
            volume = NtfsVolume.Open(new MemoryDiskSource(bytes), "corrupt");
        }
        catch (DiskFormatException ex)
        {
            return [Describe(ex, "open")];
        }

        return walk(volume);
    }

    private static void AssertSameSequence(List<string> expected, List<string> actual, string context)
    {
        int common = Math.Min(expected.Count, actual.Count);
        int at = Enumerable.Range(0, common).FirstOrDefault(i => expected[i] != actual[i], common);
        if (at == common && expected.Count == actual.Count)
        {
            return;
        }

        Assert.Fail($"{context}: Visit differs from Enumerate at event {at} of {expected.Count} (Visit: {actual.Count})\n"
            + $"Enumerate: {(at < expected.Count ? expected[at] : "<end>")}\nVisit:     {(at < actual.Count ? actual[at] : "<end>")}");
    }

    /// <summary>Enumerate's walk as events: each entry with its GetExtents, each reported error, and what ended the walk if it threw.</summary>
    internal static List<string> EnumerateEvents(NtfsVolume volume, string directory, bool recursive, bool includeSystemFiles)
    {
        var events = new List<string>();
        try
        {
            foreach (NtfsFileEntry e in volume.Enumerate(directory, recursive, includeSystemFiles, error => events.Add(Describe(error))))
            {
                events.Add(DescribeEnumerated(e, volume.GetExtents(e)));
            }
        }
        catch (Exception ex) when (ex is DiskFormatException or EndOfStreamException or IOException)
        {
            events.Add(Describe(ex, "threw"));
        }

        return events;
    }

    /// <summary>Visit's walk as events: each view copied out inside the visitor, each reported error, and what ended the walk if it threw.</summary>
    internal static List<string> VisitEvents(NtfsVolume volume, string directory, bool recursive, bool includeSystemFiles)
    {
        var events = new List<string>();
        try
        {
            volume.Visit((in NtfsFileView f) => events.Add(DescribeView(f)), directory, recursive, includeSystemFiles, error => events.Add(Describe(error)));
        }
        catch (Exception ex) when (ex is DiskFormatException or EndOfStreamException or IOException)
        {
            events.Add(Describe(ex, "threw"));
        }

        return events;
    }

    private static bool IsError(string e) => e.StartsWith("error ", StringComparison.Ordinal);

    private static string Describe(NtfsEnumerationError error) =>
        $"error {error.Path} #{error.RecordNumber?.ToString() ?? "?"} {error.Exception.GetType().FullName}: {error.Exception.Message}";

    private static string Describe(Exception ex, string what) => $"{what} {ex.GetType().FullName}: {ex.Message}";

    // Every field of a view, its streams and its sector map, read inside the visitor.
    private static string DescribeView(in NtfsFileView f)
    {
        var s = new StringBuilder();
        s.Append($"file {f.Path} name={f.Name} dir={f.IsDirectory} reparse={f.IsReparsePoint} record={f.RecordNumber}.{f.SequenceNumber} ");
        s.Append($"parent={f.ParentRecordNumber} attributes={f.Attributes} modified={f.LastWriteTime:O}/{f.LastWriteTime.Kind} size={f.Size} ");
        s.Append(DescribeMap(f, f.GetSectorMap()));
        return s.ToString();
    }

    // The same for an entry and its GetExtents.
    private static string DescribeEnumerated(NtfsFileEntry e, NtfsFileExtents x)
    {
        var s = new StringBuilder();
        s.Append($"file {e.Path} name={e.Name} dir={e.IsDirectory} reparse={e.IsReparsePoint} record={e.RecordNumber}.{e.SequenceNumber} ");
        s.Append($"parent={e.ParentRecordNumber} attributes={e.Attributes} modified={e.LastWriteTime:O}/{e.LastWriteTime.Kind} size={e.Size} ");
        s.Append(DescribeExtents(e, x));
        return s.ToString();
    }

    private static string DescribeMap(in NtfsFileView f, NtfsSectorMap map)
    {
        var s = new StringBuilder();
        s.Append($"streams={f.StreamCount}/{map.StreamCount} records=");
        AppendRanges(s, map.MftRecords);
        for (int i = 0; i < f.StreamCount; i++)
        {
            s.Append($" '{f.StreamName(i)}' size={f.StreamSize(i)} resident={f.IsStreamResident(i)} ranges=");
            AppendRanges(s, map.StreamRanges(i));
        }

        return s.ToString();
    }

    private static string DescribeExtents(NtfsFileEntry e, NtfsFileExtents x)
    {
        var s = new StringBuilder();
        s.Append($"streams={e.Streams.Count}/{x.Streams.Count} records=");
        AppendRanges(s, [.. x.MftRecords]);
        for (int i = 0; i < e.Streams.Count; i++)
        {
            NtfsStreamInfo info = e.Streams[i];
            Assert.True(x.Streams[i].Name == info.Name && x.Streams[i].IsResident == info.IsResident, $"{e.Path}: GetExtents stream {i}");
            s.Append($" '{info.Name}' size={info.Size} resident={info.IsResident} ranges=");
            AppendRanges(s, [.. x.Streams[i].Ranges]);
        }

        return s.ToString();
    }

    // Every public member of an entry (and its extents), for ToEntry.
    private static string DescribeEntry(NtfsVolume volume, NtfsFileEntry e)
    {
        var s = new StringBuilder(DescribeEnumerated(e, volume.GetExtents(e)));
        s.Append($" links={e.HardLinkCount} tag={e.ReparseTag?.ToString() ?? "none"} created={e.CreationTime:O} changed={e.MftChangeTime:O} ");
        s.Append($"accessed={e.LastAccessTime:O} text={e}");
        foreach (NtfsStreamInfo info in e.Streams)
        {
            s.Append($" [{info} allocated={info.AllocatedSize} compressed={info.IsCompressed} sparse={info.IsSparse} encrypted={info.IsEncrypted}]");
        }

        return s.ToString();
    }

    private static void AppendRanges(StringBuilder s, ReadOnlySpan<ByteRange> ranges)
    {
        foreach (ByteRange r in ranges)
        {
            s.Append(r.ToString());
        }
    }

    private NtfsVolume OpenFixtureVolume(string volumeName, out IDisposable? owner)
    {
        if (volumeName == "rich")
        {
            var source = new FileDiskSource(rich.RequireImage());
            owner = source;
            return NtfsVolume.Open(source, rich.Image);
        }

        owner = null;
        return NtfsVolume.Open(new MemoryDiskSource(complex.Bytes ?? []), complex.RequireImage());
    }

    // The root's subdirectory (not a reparse point) with the most entries below it.
    private static string LargestSubdirectory(NtfsVolume volume) =>
        volume.Enumerate(recursive: false).Where(e => e.IsDirectory && !e.IsReparsePoint)
            .MaxBy(e => volume.Enumerate(e.Path).Count())!.Path;

    /// <summary>
    /// An <see cref="IDiskSource"/> that records which threads read, how many reads run at a time, and reads after
    /// it was disposed (which throw <see cref="ObjectDisposedException"/>).
    /// </summary>
    internal sealed class RecordingSource(IDiskSource inner) : IDiskSource, IDisposable
    {
        private readonly ConcurrentDictionary<int, int> _threads = new();
        private int _inFlight;
        private int _readsAfterDispose;
        private volatile bool _disposed;

        public long Length => inner.Length;

        public int ReadsInFlight => Volatile.Read(ref _inFlight);

        public int ReadsInFlightAtDispose { get; private set; } = -1;

        public int ReadsAfterDispose => Volatile.Read(ref _readsAfterDispose);

        public ICollection<int> Threads => _threads.Keys;

        public int Read(Span<byte> buffer, long offset)
        {
            Interlocked.Increment(ref _inFlight);
            try
            {
                _threads.TryAdd(Environment.CurrentManagedThreadId, 0);
                if (_disposed)
                {
                    Interlocked.Increment(ref _readsAfterDispose);
                    throw new ObjectDisposedException(nameof(RecordingSource));
                }

                return inner.Read(buffer, offset);
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }

        public void ClearThreads() => _threads.Clear();

        public void Dispose()
        {
            _disposed = true;
            ReadsInFlightAtDispose = ReadsInFlight;
            (inner as IDisposable)?.Dispose();
        }
    }

    [CollectionDefinition(Name, DisableParallelization = true)]
    public sealed class HelperSwitchCollection
    {
        public const string Name = "NtfsVolume.s_useHelper";
    }

    /// <summary>
    /// The walk with <see cref="NtfsVolume.s_useHelper"/> off and on: the same files, maps and errors, in the same order.
    /// The switch is static, so these tests run alone (their own collection, not in parallel with any other).
    /// </summary>
    [Collection(HelperSwitchCollection.Name)]
    public sealed class HelperSwitch(RichVolumeFixture rich, ComplexVolumeFixture complex)
        : IClassFixture<RichVolumeFixture>, IClassFixture<ComplexVolumeFixture>
    {
        [SkippableTheory]
        [InlineData("rich", "/", true)]
        [InlineData("rich", "/many", false)]
        [InlineData("complex", "/", true)]
        public void VisitAndEnumerate_HelperOffAndOn_SameWalk(string volumeName, string directory, bool includeSystemFiles)
        {
            string image = volumeName == "rich" ? rich.RequireImage() : complex.RequireImage();
            using var source = new RecordingSource(new FileDiskSource(image));
            NtfsVolume volume = NtfsVolume.Open(source, image);
            int caller = Environment.CurrentManagedThreadId;

            source.ClearThreads();
            List<string> visitOff = WithHelper(false, () => VisitEvents(volume, directory, recursive: true, includeSystemFiles));
            List<string> enumerateOff = WithHelper(false, () => EnumerateEvents(volume, directory, recursive: true, includeSystemFiles));
            Assert.Equal(caller, Assert.Single(source.Threads));

            source.ClearThreads();
            List<string> visitOn = WithHelper(true, () => VisitEvents(volume, directory, recursive: true, includeSystemFiles));
            List<string> enumerateOn = WithHelper(true, () => EnumerateEvents(volume, directory, recursive: true, includeSystemFiles));
            if (volumeName == "rich")
            {
                Assert.True(source.Threads.Count > 1, "with the helper on, a second thread should have read part of a 10,000-file walk");
            }

            Assert.True(visitOff.Count > 100 && visitOff.All(e => e.StartsWith("file ", StringComparison.Ordinal)));
            AssertSameSequence(visitOff, visitOn, "Visit, helper off vs on");
            AssertSameSequence(enumerateOff, enumerateOn, "Enumerate, helper off vs on");
            AssertSameSequence(enumerateOff, visitOff, "helper off, Enumerate vs Visit");
        }

        [SkippableFact]
        public void VisitAndEnumerate_HelperOffAndOn_SameErrorsOnCorruptedImages()
        {
            complex.RequireImage();
            NtfsVolume clean = NtfsVolume.Open(new MemoryDiskSource(complex.Bytes!), "clean");
            var images = new List<(string What, byte[] Bytes)>();

            byte[] record = (byte[])complex.Bytes!.Clone();
            long offset = clean.GetExtents(clean.Find("/dir2/entry-005-xxxxx.txt")!).MftRecords[0].Offset;
            record[offset + 0x18] = 0x10;
            record[offset + 0x19] = 0;
            images.Add(("corrupt record", record));
            foreach (int block in FuzzTests.FindStructures(complex.Bytes!, "INDX"))
            {
                byte[] index = (byte[])complex.Bytes!.Clone();
                index[block] = (byte)'X';
                images.Add(($"INDX at 0x{block:X}", index));
            }

            int[] records = FuzzTests.LiveRecords(complex.Bytes!);
            var rnd = new Random(5);
            for (int i = 0; i < 60; i++)
            {
                byte[] mutated = (byte[])complex.Bytes!.Clone();
                int start = records[rnd.Next(records.Length)];
                for (int k = 1 + rnd.Next(4); k > 0; k--)
                {
                    mutated[start + rnd.Next(Math.Min(clean.MftRecordSize, 400))] = (byte)rnd.Next(256);
                }

                images.Add(($"mutation {i} at 0x{start:X}", mutated));
            }

            int withErrors = 0;
            foreach ((string what, byte[] bytes) in images)
            {
                List<string> visitOff = WithHelper(false, () => WalkEvents(bytes, v => VisitEvents(v, "/", recursive: true, includeSystemFiles: true)));
                List<string> visitOn = WithHelper(true, () => WalkEvents(bytes, v => VisitEvents(v, "/", recursive: true, includeSystemFiles: true)));
                List<string> enumerateOff = WithHelper(false, () => WalkEvents(bytes, v => EnumerateEvents(v, "/", recursive: true, includeSystemFiles: true)));
                List<string> enumerateOn = WithHelper(true, () => WalkEvents(bytes, v => EnumerateEvents(v, "/", recursive: true, includeSystemFiles: true)));
                AssertSameSequence(visitOff, visitOn, $"{what}: Visit, helper off vs on");
                AssertSameSequence(enumerateOff, enumerateOn, $"{what}: Enumerate, helper off vs on");
                AssertSameSequence(enumerateOff, visitOff, $"{what}: helper off, Enumerate vs Visit");
                withErrors += visitOff.Any(e => !e.StartsWith("file ", StringComparison.Ordinal)) ? 1 : 0;
            }

            Assert.True(withErrors >= 20, $"only {withErrors} of {images.Count} corrupted images gave errors");
        }

        private static T WithHelper<T>(bool useHelper, Func<T> run)
        {
            bool saved = NtfsVolume.s_useHelper;
            NtfsVolume.s_useHelper = useHelper;
            try
            {
                return run();
            }
            finally
            {
                NtfsVolume.s_useHelper = saved;
            }
        }
    }
}
