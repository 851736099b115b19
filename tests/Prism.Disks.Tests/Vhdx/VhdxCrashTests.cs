using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.Vhdx;

/// <summary>
/// Power-cut simulation: a scripted workload crashes at its k-th storage operation, for every k; every possible
/// outcome (nothing / everything / random torn subsets of the unflushed operations) must open, check clean and hold
/// every write acknowledged by a completed Flush.
/// </summary>
public sealed class VhdxCrashTests
{
    private const long MiB = VhdxTestKit.MiB;
    private const long Size = 4 * MiB;

    private sealed record Op(bool IsFlush, long Offset, byte[] Data);

    /// <summary>What the disk must show after a crash: the state at the last completed flush, or for sectors written since, one of the versions written.</summary>
    private sealed class Expectation(byte[] initial, int lss)
    {
        public byte[] Flushed { get; } = (byte[])initial.Clone();

        public byte[] Current { get; } = (byte[])initial.Clone();

        public Dictionary<long, List<byte[]>> DirtyVersions { get; } = [];

        public void BeforeWrite(long offset, byte[] data)
        {
            data.CopyTo(Current, offset);
            for (long s = offset / lss; s <= (offset + data.Length - 1) / lss; s++)
            {
                if (!DirtyVersions.TryGetValue(s, out List<byte[]>? versions))
                {
                    DirtyVersions[s] = versions = [];
                }

                versions.Add(Current.AsSpan((int)(s * lss), lss).ToArray());
            }
        }

        public void AfterCompletedFlush()
        {
            foreach (long s in DirtyVersions.Keys)
            {
                Current.AsSpan((int)(s * lss), lss).CopyTo(Flushed.AsSpan((int)(s * lss), lss));
            }

            DirtyVersions.Clear();
        }

        public void Verify(byte[] actual, string what)
        {
            for (long s = 0; s < actual.Length / lss; s++)
            {
                ReadOnlySpan<byte> got = actual.AsSpan((int)(s * lss), lss);
                if (got.SequenceEqual(Flushed.AsSpan((int)(s * lss), lss)))
                {
                    continue;
                }

                bool ok = false;
                if (DirtyVersions.TryGetValue(s, out List<byte[]>? versions))
                {
                    foreach (byte[] v in versions)
                    {
                        ok |= got.SequenceEqual(v);
                    }
                }

                Assert.True(ok, $"{what}: sector {s} (0x{s * lss:X}) holds neither the flushed data nor a version written since"
                    + (versions is null ? " (it was not written after the last completed flush)" : ""));
            }
        }
    }

    private static List<Op> Workload(int lss)
    {
        var rng = new Random(4242 + lss);
        var ops = new List<Op>();
        int[] lengths = [100, lss, 70_000, (int)(1.5 * MiB), 300, 4096 * 3, 513, (int)MiB, 9000, 2];
        for (int i = 0; i < lengths.Length; i++)
        {
            long offset = i == 3 ? MiB - 777 : rng.NextInt64(0, Size - lengths[i]);
            ops.Add(new Op(false, offset, VhdxTestKit.RandomBytes(rng, lengths[i])));
            if (i % 3 == 2)
            {
                ops.Add(new Op(true, 0, []));
            }
        }

        return ops;
    }

    public static TheoryData<bool, int> Cases => new()
    {
        { false, 512 },
        { false, 4096 },
        { true, 512 },
    };

    private static (string Path, byte[] Image, byte[] Initial, string? ParentPath) Setup(TempDir dir, bool differencing, int lss)
    {
        string path = dir.File("disk.vhdx");
        byte[] initial = new byte[Size];
        string? parentPath = null;
        if (differencing)
        {
            parentPath = dir.File("parent.vhdx");
            VhdxDisk.Create(parentPath, new VhdxCreateOptions { VirtualSize = Size, BlockSize = MiB, LogicalSectorSize = lss });
            using (VhdxDisk parent = VhdxDisk.Open(parentPath, new VhdxOpenOptions { Writable = true }))
            {
                var rng = new Random(77);
                for (int i = 0; i < 6; i++)
                {
                    (long offset, byte[] data) = VhdxTestKit.RandomWrite(rng, Size, 800_000);
                    VhdxTestKit.WriteBoth(parent, initial, data, offset);
                }
            }

            VhdxDisk.CreateDifferencing(path, parentPath, new VhdxDifferencingOptions { BlockSize = MiB });
        }
        else
        {
            VhdxDisk.Create(path, new VhdxCreateOptions { VirtualSize = Size, BlockSize = MiB, LogicalSectorSize = lss });
        }

        return (path, File.ReadAllBytes(path), initial, parentPath);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Open_AfterCrashAtEveryOperation_RecoversFlushedData(bool differencing, int lss)
    {
        using var dir = new TempDir();
        (string path, byte[] image, byte[] initial, string? parentPath) = Setup(dir, differencing, lss);
        string? parentHash = parentPath is null ? null : VhdxTestKit.FileSha256(parentPath);
        List<Op> ops = Workload(lss);
        CrashEverywhere(path, image, initial, lss, ops, firstCrash: 1, modes: 3);
        if (parentPath is not null)
        {
            Assert.Equal(parentHash, VhdxTestKit.FileSha256(parentPath));
        }
    }

    [Fact]
    public void Open_AfterCrashOnceTheLogHasWrapped_RecoversFlushedData()
    {
        // 140 one-sector flushes into one PARTIALLY_PRESENT block: each commits an 8 KiB log entry (a sector-bitmap
        // page), 1.1 MiB in all, so the 1 MiB log wraps; then crash at every operation of the last 10 transactions.
        using var dir = new TempDir();
        (string path, byte[] image, byte[] initial, _) = Setup(dir, differencing: true, 512);
        var ops = new List<Op>();
        var rng = new Random(99);
        for (int i = 0; i < 140; i++)
        {
            ops.Add(new Op(false, (2 * MiB) + (i * 1024L), VhdxTestKit.RandomBytes(rng, 512)));
            ops.Add(new Op(true, 0, []));
        }

        (CrashStorage full, _) = RunWorkload(path, image, initial, 512, ops, int.MaxValue);
        int total = full.Operations;
        CrashEverywhere(path, image, initial, 512, ops, firstCrash: total - (10 * 5), modes: 2);
    }

    [Fact]
    public void Open_AfterCrashAroundEachWrapOfTheLog_RecoversFlushedData()
    {
        // 420 one-sector flushes commit 8 KiB log entries (a sector-bitmap page), with a 12 KiB one (bitmap and BAT
        // pages) whenever a block is allocated: 3.3 MiB in all, so the 1 MiB log wraps three times, at odd and even
        // positions, and entries straddle its end. Crash at every operation around each wrap.
        using var dir = new TempDir();
        (string path, byte[] image, byte[] initial, _) = Setup(dir, differencing: true, 512);
        var ops = new List<Op>();
        var rng = new Random(2026);
        for (int i = 0; i < 420; i++)
        {
            long block = i < 210 ? 1 : 2;
            ops.Add(new Op(false, (block * MiB) + ((i % 210) * 4096L) + 512, VhdxTestKit.RandomBytes(rng, 512)));
            ops.Add(new Op(true, 0, []));
        }

        (CrashStorage full, _) = RunWorkload(path, image, initial, 512, ops, int.MaxValue);
        long logStart;
        long logEnd;
        using (VhdxDisk d = VhdxTestKit.OpenMemory(image, path))
        {
            logStart = (long)d.Header.LogOffset;
            logEnd = logStart + d.Header.LogLength;
        }

        // The writes that reach the last 12 KiB of the log: the entry before a wrap, or the first half of a straddling one.
        var wraps = full.Writes.Where(w => w.Offset >= logStart && w.Offset < logEnd && w.Offset + w.Length > logEnd - (12 * 1024))
            .Select(w => w.Operation).ToList();
        int straddling = full.Writes.Count(w => w.Offset >= logStart && w.Offset < logEnd && w.Offset + w.Length == logEnd
            && full.Writes.Any(n => n.Operation == w.Operation + 1 && n.Offset == logStart));
        Assert.True(wraps.Count >= 3, $"the log wrapped only {wraps.Count} times");
        Assert.True(straddling >= 1, "no log entry straddled the end of the log");
        var crashPoints = wraps.SelectMany(op => Enumerable.Range(op - 2, 12)).Distinct().Order().ToList();
        CrashAt(path, image, initial, 512, ops, crashPoints, modes: 3);
    }

    private static void CrashEverywhere(string path, byte[] image, byte[] initial, int lss, List<Op> ops, int firstCrash, int modes)
    {
        // A run without a crash counts the storage operations and checks the workload itself.
        (CrashStorage full, Expectation fullModel) = RunWorkload(path, image, initial, lss, ops, int.MaxValue);
        Assert.False(full.Crashed);
        int total = full.Operations;
        Assert.True(total > 30, $"workload made only {total} storage operations");
        VerifyImage(path, full.Recover(1, new Random(0)), fullModel, lss, "no crash");

        CrashAt(path, image, initial, lss, ops, Enumerable.Range(Math.Max(1, firstCrash), total - Math.Max(1, firstCrash) + 1), modes);
    }

    private static void CrashAt(string path, byte[] image, byte[] initial, int lss, List<Op> ops, IEnumerable<int> crashPoints, int modes)
    {
        foreach (int k in crashPoints)
        {
            (CrashStorage storage, Expectation model) = RunWorkload(path, image, initial, lss, ops, k);
            Assert.True(storage.Crashed, $"crash point {k} was not reached");
            for (int mode = 0; mode < modes; mode++)
            {
                byte[] after = storage.Recover(mode, new Random((k * 31) + mode));
                VerifyImage(path, after, model, lss, $"crash at op {k}, recovery mode {mode}");
            }
        }
    }

    private static (CrashStorage Storage, Expectation Model) RunWorkload(string path, byte[] image, byte[] initial, int lss, List<Op> ops, int crashAt)
    {
        var storage = new CrashStorage(path, image, crashAt);
        var model = new Expectation(initial, lss);
        VhdxDisk? disk = null;
        try
        {
            disk = VhdxDisk.Open(storage, new VhdxOpenOptions { Writable = true }, new ChainContext(64));
            foreach (Op op in ops)
            {
                if (op.IsFlush)
                {
                    disk.Flush();
                    model.AfterCompletedFlush();
                }
                else
                {
                    model.BeforeWrite(op.Offset, op.Data);
                    disk.Write(op.Data, op.Offset);
                }
            }

            VhdxDisk closing = disk;
            disk = null;
            closing.Dispose();
            model.AfterCompletedFlush();
        }
        catch (IOException) when (storage.Crashed)
        {
            // The power cut.
        }
        finally
        {
            try
            {
                disk?.Dispose();
            }
            catch (IOException) when (storage.Crashed)
            {
            }
        }

        return (storage, model);
    }

    private static void VerifyImage(string path, byte[] image, Expectation model, int lss, string what)
    {
        using (VhdxDisk ro = VhdxTestKit.OpenMemory(image, path, copy: false))
        {
            VhdxTestKit.AssertNoCheckErrors(ro);
            model.Verify(VhdxTestKit.ReadAll(ro), what + ", read-only open");
        }

        var storage = new MemoryStorage(path, image, canWrite: true, copy: false);
        using (VhdxDisk rw = VhdxDisk.Open(storage, new VhdxOpenOptions { Writable = true }, new ChainContext(64)))
        {
            Assert.Equal(Guid.Empty, rw.LogGuid);
            VhdxTestKit.AssertNoCheckErrors(rw);
            model.Verify(VhdxTestKit.ReadAll(rw), what + ", writable open");
        }

        byte[] replayed = storage.ToArray();
        using VhdxDisk again = VhdxTestKit.OpenMemory(replayed, path, copy: false);
        Assert.Equal(Guid.Empty, again.LogGuid);
        Assert.False(again.LogReplayedInMemory);
        Assert.Equal(lss, again.LogicalSectorSize);
        model.Verify(VhdxTestKit.ReadAll(again), what + ", after writable replay");
    }
}
