using Prism.Disks.IO;

namespace Prism.Disks.Tests.IO;

/// <summary>The range index answers exactly what comparing every indexed range with every query range answers.</summary>
public sealed class ByteRangeIndexTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Overlapping_EqualsComparingEveryPair(int seed)
    {
        var rnd = new Random(seed);

        // Mostly disjoint allocations (a volume's), a few long ranges spanning others, empty ones, and a file's ranges
        // sharing its tag.
        var ranges = new List<(ByteRange Range, int Tag)>();
        long at = 0;
        for (int i = 0; i < 3000; i++)
        {
            at += rnd.Next(0, 5000);
            long length = rnd.Next(10) == 0 ? 0 : rnd.Next(1, 9000);
            ranges.Add((new ByteRange(at, length), i / 3));
            at += length;
        }

        for (int i = 0; i < 5; i++)
        {
            ranges.Add((new ByteRange(rnd.NextInt64(0, at), rnd.NextInt64(1, at / 4)), 5000 + i));
        }

        var index = new ByteRangeIndex(ranges.OrderBy(_ => rnd.Next()));
        Assert.Equal(ranges.Count(r => r.Range.Length > 0), index.Count);
        for (int q = 0; q < 200; q++)
        {
            List<ByteRange> query = [.. Enumerable.Range(0, rnd.Next(0, 6)).Select(_ => new ByteRange(rnd.NextInt64(-100, at + 100), rnd.Next(0, 20000)))];
            var found = new HashSet<int>();
            index.Overlapping(query, found);
            HashSet<int> expected = [.. ranges.Where(r => query.Any(x => x.Length > 0 && r.Range.Length > 0 && x.Overlaps(r.Range))).Select(r => r.Tag)];
            Assert.True(expected.SetEquals(found), $"query {q} [{string.Join(' ', query)}]: expected {expected.Count} tags, found {found.Count}");
        }
    }

    [Fact]
    public void Overlapping_TouchingEndsDoNotOverlap()
    {
        var index = new ByteRangeIndex([(new ByteRange(100, 100), 1), (new ByteRange(200, 50), 2)]);
        var found = new HashSet<int>();
        index.Overlapping([new ByteRange(0, 100), new ByteRange(250, 10)], found);
        Assert.Empty(found);
        index.Overlapping([new ByteRange(199, 2)], found);
        Assert.Equal([1, 2], found.Order());
    }
}
