using System.Diagnostics;
using Prism.Disks.Errors;
using Prism.Disks.IO;
using Prism.Disks.Ntfs;

namespace Prism.Disks.Tests.Ntfs;

/// <summary>
/// Seeded random mutations of file records (attribute headers, run lists, attribute lists) and index blocks:
/// the reader may only report typed errors or skip entries; no crash, hang or unbounded allocation.
/// </summary>
public sealed class FuzzTests(ComplexVolumeFixture fixture) : IClassFixture<ComplexVolumeFixture>
{
    [SkippableTheory]
    [InlineData("FILE", 1)]
    [InlineData("FILE", 2)]
    [InlineData("INDX", 3)]
    public void MutatedStructures_OnlyTypedErrors(string signature, int seed)
    {
        fixture.RequireImage();
        byte[] bytes = (byte[])fixture.Bytes!.Clone();
        int[] targets = signature == "FILE" ? LiveRecords(bytes) : FindStructures(bytes, signature);
        Assert.True(targets.Length > 10, $"too few {signature} structures");
        int structureSize = signature == "FILE" ? 1024 : 4096;
        var rnd = new Random(seed);
        var total = Stopwatch.StartNew();
        int typedErrors = 0;
        const int Iterations = 1200;
        for (int iteration = 0; iteration < Iterations; iteration++)
        {
            int start = targets[rnd.Next(targets.Length)];
            List<(int At, byte Value)> saved = Mutate(bytes, start, structureSize, rnd);

            var one = Stopwatch.StartNew();
            try
            {
                typedErrors += Exercise(bytes);
            }
            catch (Exception ex) when (ex is not DiskFormatException)
            {
                Assert.Fail($"seed {seed} iteration {iteration} (structure at 0x{start:X}): untyped {ex.GetType().Name}: {ex}");
            }
            catch (DiskFormatException)
            {
                typedErrors++;
            }

            Assert.True(one.ElapsedMilliseconds < 5000, $"iteration {iteration} took {one.ElapsedMilliseconds} ms");
            Restore(bytes, saved);
        }

        Assert.True(typedErrors > Iterations / 50, $"only {typedErrors} reported errors in {Iterations} mutations");
        Assert.True(total.Elapsed < TimeSpan.FromSeconds(120), $"fuzzing took {total.Elapsed}");
    }

    [SkippableFact]
    public void CorruptIndexBlock_ReportedWithDirectoryRecordAndVolumeOffset()
    {
        fixture.RequireImage();
        byte[] bytes = (byte[])fixture.Bytes!.Clone();
        int block = FindStructures(bytes, "INDX")[^1];
        bytes[block] = (byte)'X';
        var errors = new List<NtfsEnumerationError>();
        _ = NtfsVolume.Open(new MemoryDiskSource(bytes), "corrupt").Enumerate(includeSystemFiles: true, onError: errors.Add).Count();
        NtfsEnumerationError error = Assert.Single(errors);
        var ex = Assert.IsType<NtfsFormatException>(error.Exception);
        Assert.Equal(block, ex.FileOffset);
        Assert.Equal(error.RecordNumber, ex.RecordNumber);
        Assert.Contains($"$I30 index of file record {error.RecordNumber} at 0x{block:X}", ex.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void CorruptFileRecord_ReportedWithRecordNumberAndOffset()
    {
        fixture.RequireImage();
        byte[] bytes = (byte[])fixture.Bytes!.Clone();
        NtfsVolume clean = NtfsVolume.Open(new MemoryDiskSource(fixture.Bytes!), "clean");
        int cleanCount = clean.Enumerate().Count();
        NtfsFileEntry victim = clean.Find("/dir2/entry-005-xxxxx.txt")!;
        long offset = clean.GetExtents(victim).MftRecords[0].Offset;
        Assert.True(bytes.AsSpan((int)offset, 4).SequenceEqual("FILE"u8), $"{victim} at 0x{offset:X}");
        bytes[offset + 0x18] = 0x10; // bytes in use below the header size
        bytes[offset + 0x19] = 0;
        var errors = new List<NtfsEnumerationError>();
        int listed = NtfsVolume.Open(new MemoryDiskSource(bytes), "corrupt").Enumerate(onError: errors.Add).Count();
        NtfsEnumerationError error = Assert.Single(errors);
        Assert.Equal(cleanCount - 1, listed);
        Assert.Equal(victim.Path, error.Path);
        var ex = Assert.IsType<NtfsFormatException>(error.Exception);
        Assert.Equal(victim.RecordNumber, ex.RecordNumber);
        Assert.Contains($"NTFS file record {victim.RecordNumber} at 0x{offset:X}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RandomLznt1Input_NeverThrowsOrOverruns()
    {
        var rnd = new Random(7);
        byte[] output = new byte[65536];
        for (int i = 0; i < 5000; i++)
        {
            byte[] input = new byte[rnd.Next(1, 9000)];
            rnd.NextBytes(input);
            int n = Lznt1.Decompress(input, output, out string? problem);
            Assert.True(n >= 0 ? problem is null : problem is not null);
            Assert.True(n <= output.Length);
        }
    }

    [Fact]
    public void RandomRunLists_OnlyTypedErrors()
    {
        var rnd = new Random(11);
        int decoded = 0;
        for (int i = 0; i < 20000; i++)
        {
            byte[] pairs = new byte[rnd.Next(1, 40)];
            rnd.NextBytes(pairs);
            try
            {
                var runs = DataRunDecoder.Decode(pairs, 0, rnd.Next(1, 5000), 100_000, "fuzz", 42, 0);
                Assert.All(runs, r => Assert.True(r.ClusterCount > 0 && (r.IsSparse || r.Lcn + r.ClusterCount <= 100_000)));
                decoded++;
            }
            catch (NtfsFormatException ex)
            {
                Assert.Equal(42, ex.RecordNumber);
            }
        }

        Assert.True(decoded >= 0);
    }

    // Opens, walks, looks up and reads everything; returns the number of reported (skipped) errors.
    private static int Exercise(byte[] bytes)
    {
        int errors = 0;
        NtfsVolume volume = NtfsVolume.Open(new MemoryDiskSource(bytes), "fuzz");
        byte[] buffer = new byte[64 * 1024];
        foreach (NtfsFileEntry e in volume.Enumerate(includeSystemFiles: true, onError: _ => errors++))
        {
            _ = volume.GetExtents(e);
            foreach (NtfsStreamInfo s in e.Streams)
            {
                try
                {
                    IDiskSource stream = volume.OpenStream(e, s.Name);
                    for (long pos = 0; pos < Math.Min(stream.Length, 1024 * 1024); pos += buffer.Length)
                    {
                        stream.Read(buffer, pos);
                    }
                }
                catch (DiskFormatException)
                {
                    errors++;
                }
            }
        }

        try
        {
            _ = volume.Find("/dir1/entry-010-xxxxxxxxxx.txt");
        }
        catch (DiskFormatException)
        {
            errors++;
        }

        return errors;
    }

    /// <summary>
    /// Changes 1 to 4 bytes of the structure at <paramref name="start"/>, biased towards headers and the first attributes
    /// (where lengths, offsets and run lists live); returns what to give to <see cref="Restore"/>.
    /// </summary>
    internal static List<(int At, byte Value)> Mutate(byte[] bytes, int start, int structureSize, Random rnd)
    {
        int count = 1 + rnd.Next(4);
        var saved = new List<(int At, byte Value)>(count);
        for (int k = 0; k < count; k++)
        {
            int at = start + (rnd.Next(3) == 0 ? rnd.Next(structureSize) : rnd.Next(Math.Min(structureSize, 400)));
            saved.Add((at, bytes[at]));
            bytes[at] = rnd.Next(4) switch
            {
                0 => 0,
                1 => 0xFF,
                2 => (byte)(bytes[at] ^ (1 << rnd.Next(8))),
                _ => (byte)rnd.Next(256),
            };
        }

        return saved;
    }

    /// <summary>Undoes <see cref="Mutate"/>, last change first.</summary>
    internal static void Restore(byte[] bytes, List<(int At, byte Value)> saved)
    {
        for (int k = saved.Count - 1; k >= 0; k--)
        {
            bytes[saved[k].At] = saved[k].Value;
        }
    }

    // Records of files the walk reaches (base and extension records, system files included).
    internal static int[] LiveRecords(byte[] bytes)
    {
        NtfsVolume volume = NtfsVolume.Open(new MemoryDiskSource(bytes), "clean");
        return [.. volume.Enumerate(includeSystemFiles: true).SelectMany(e => volume.GetExtents(e).MftRecords)
            .Where(r => bytes.AsSpan((int)r.Offset, 4).SequenceEqual("FILE"u8)).Select(r => (int)r.Offset).Distinct()];
    }

    internal static int[] FindStructures(byte[] bytes, string signature)
    {
        byte[] sig = System.Text.Encoding.ASCII.GetBytes(signature);
        var found = new List<int>();
        for (int at = 0; at + 4096 <= bytes.Length; at += 512)
        {
            if (bytes.AsSpan(at, 4).SequenceEqual(sig))
            {
                found.Add(at);
            }
        }

        return [.. found];
    }
}
