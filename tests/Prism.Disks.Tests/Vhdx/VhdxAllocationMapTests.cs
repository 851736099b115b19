using Prism.Disks.IO;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.Vhdx;

/// <summary>
/// The allocation map against a per-sector model: BAT and bitmap pages in memory (unflushed changes), read from the
/// file (fresh open), and a mix of both; sector bitmaps that span several pages; a huge sparse child.
/// </summary>
public sealed class VhdxAllocationMapTests
{
    private const long MiB = VhdxTestKit.MiB;

    [Theory]
    [InlineData(512, 32)] // 32 MiB blocks of 512-byte sectors: each block's bitmap spans two 4 KiB pages
    [InlineData(4096, 1)]
    [InlineData(512, 2)]
    public void GetAllocatedRanges_InMemoryFromFileAndMixed_MatchTheModel(int lss, int blockMiB)
    {
        using var dir = new TempDir();
        const long Size = 160 * MiB;
        string parent = dir.File("p.vhdx");
        VhdxDisk.Create(parent, new VhdxCreateOptions { VirtualSize = Size, LogicalSectorSize = lss });
        string child = dir.File("c.vhdx");
        VhdxDisk.CreateDifferencing(child, parent, new VhdxDifferencingOptions { BlockSize = blockMiB * MiB });
        bool[] owned = new bool[Size / lss];
        var rng = new Random((lss * 100) + blockMiB);

        using (VhdxDisk c = VhdxDisk.Open(child, new VhdxOpenOptions { Writable = true }))
        {
            WriteRandom(c, owned, lss, rng, 40);
            AssertMatches(owned, lss, c, "in memory, unflushed");
        }

        using (VhdxDisk c = VhdxDisk.Open(child))
        {
            AssertMatches(owned, lss, c, "fresh read-only open");
        }

        using (VhdxDisk c = VhdxDisk.Open(child, new VhdxOpenOptions { Writable = true }))
        {
            WriteRandom(c, owned, lss, rng, 6); // a few pages now in memory, the rest only in the file
            AssertMatches(owned, lss, c, "mixed");
            c.Flush();
            AssertMatches(owned, lss, c, "mixed, flushed");
        }

        using (VhdxDisk c = VhdxDisk.Open(child))
        {
            AssertMatches(owned, lss, c, "reopened");
        }
    }

    [Fact]
    public void GetAllocatedRanges_HugeSparseChild_IsExactlyTheScatteredWrites()
    {
        using var dir = new TempDir();
        const long Size = 64L << 40;
        string parent = dir.File("p.vhdx");
        VhdxDisk.Create(parent, new VhdxCreateOptions { VirtualSize = Size });
        string child = dir.File("c.vhdx");
        VhdxDisk.CreateDifferencing(child, parent);
        var rng = new Random(64);
        var written = new SortedSet<long>();
        using (VhdxDisk c = VhdxDisk.Open(child, new VhdxOpenOptions { Writable = true }))
        {
            byte[] data = new byte[4096];
            for (int i = 0; i < 1500; i++)
            {
                long page = rng.NextInt64(Size / 4096);
                rng.NextBytes(data);
                c.Write(data, page * 4096);
                written.Add(page);
            }
        }

        var expected = new List<ByteRange>();
        foreach (long page in written)
        {
            if (expected.Count > 0 && expected[^1].End == page * 4096)
            {
                expected[^1] = new ByteRange(expected[^1].Offset, expected[^1].Length + 4096);
            }
            else
            {
                expected.Add(new ByteRange(page * 4096, 4096));
            }
        }

        using VhdxDisk disk = VhdxDisk.Open(child);
        Assert.Equal(expected, disk.GetAllocatedRanges().ToList());
        Assert.Equal(expected.Select(r => new ChainRange(r.Offset, r.Length, 0)), disk.GetChainMap());
    }

    private static void WriteRandom(VhdxDisk disk, bool[] owned, int lss, Random rng, int count)
    {
        for (int i = 0; i < count; i++)
        {
            int length = rng.Next(1, rng.Next(2) == 0 ? 9000 : 3 * (int)MiB);
            long offset = rng.NextInt64(0, disk.VirtualSize - length);
            disk.Write(VhdxTestKit.RandomBytes(rng, length), offset);
            long first = offset / lss;
            long end = (offset + length + lss - 1) / lss;
            Array.Fill(owned, true, (int)first, (int)(end - first));
        }
    }

    private static void AssertMatches(bool[] owned, int lss, VhdxDisk disk, string when)
    {
        bool[] mapped = new bool[owned.Length];
        long previousEnd = -1;
        foreach (ByteRange r in disk.GetAllocatedRanges())
        {
            Assert.True(r.Offset > previousEnd, $"{when}: ranges are not ascending and coalesced at 0x{r.Offset:X}");
            Assert.True(r.Offset % lss == 0 && r.Length % lss == 0, $"{when}: range 0x{r.Offset:X}+{r.Length} is not sector aligned");
            Array.Fill(mapped, true, (int)(r.Offset / lss), (int)(r.Length / lss));
            previousEnd = r.End;
        }

        for (int s = 0; s < owned.Length; s++)
        {
            if (owned[s] != mapped[s])
            {
                Assert.Fail($"{when}: sector {s} is {(owned[s] ? "written" : "not written")} but the map says {(mapped[s] ? "held" : "not held")}");
            }
        }
    }
}
