using Prism.Scanner.Signatures;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>The sorted-record hash set against a dictionary of (hash, size) → names, with colliding leading words.</summary>
public sealed class HashSignatureSetTests
{
    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 2)]
    [InlineData(2, 3)]
    public void CollectMatches_RandomRecords_EqualsDictionary(int kind, int seed)
    {
        var rng = new Random(seed);
        var set = new HashSignatureSet((HashKind)kind);
        int bytes = set.HexLength / 2;
        var reference = new Dictionary<(string Hash, long Size), List<string>>();
        var allowed = new HashSet<(string, long)>();
        var hashes = new List<byte[]>();
        for (int i = 0; i < 5000; i++)
        {
            byte[] h = new byte[bytes];
            rng.NextBytes(h);
            if (hashes.Count > 0 && rng.Next(4) == 0)
            {
                // Same first 8 bytes (or the whole hash) as an earlier record: exercises the run ordering.
                byte[] other = hashes[rng.Next(hashes.Count)];
                other.AsSpan(0, rng.Next(2) == 0 ? 8 : bytes).CopyTo(h);
            }

            hashes.Add(h);
            string hex = Convert.ToHexStringLower(h);
            long size = rng.Next(5) == 0 ? -1 : rng.Next(1, 20);
            if (rng.Next(10) == 0)
            {
                Assert.True(set.TryAddAllowed(hex.ToUpperInvariant(), size, "fp"));
                allowed.Add((hex, size));
                continue;
            }

            string name = $"N{i}";
            Assert.True(set.TryAdd(hex, size, name, "hdb"));
            if (!reference.TryGetValue((hex, size), out List<string>? names))
            {
                reference[(hex, size)] = names = [];
            }

            names.Add(name);
        }

        Assert.False(set.TryAdd(new string('z', set.HexLength), 1, "Bad", "hdb"));
        set.Freeze();
        Assert.Equal(reference.Values.Sum(v => v.Count), set.Count);
        foreach (byte[] h in hashes.Take(2000))
        {
            string hex = Convert.ToHexStringLower(h);
            for (long size = 1; size < 20; size += 3)
            {
                var found = new List<Detection>();
                bool isAllowed = set.CollectMatches(h, size, found);
                var expected = new List<string>();
                expected.AddRange(reference.GetValueOrDefault((hex, size)) ?? []);
                expected.AddRange(reference.GetValueOrDefault((hex, -1L)) ?? []);
                Assert.Equal(expected.Order(StringComparer.Ordinal), found.Select(d => d.SignatureName).Order(StringComparer.Ordinal));
                Assert.Equal(allowed.Contains((hex, size)) || allowed.Contains((hex, -1)), isAllowed);
            }
        }
    }
}
