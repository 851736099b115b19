using System.Text;
using Prism.Scanner.Signatures;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>The name table shares a name repeated on nearby lines and numbers names by the order they are added in.</summary>
public sealed class SignatureNameTableTests
{
    [Fact]
    public void Add_RepeatedNearbyName_SharesOneIndex_NewNamesAppended()
    {
        var table = new SignatureNameTable();
        int a = table.Add("Win.Trojan.Agent-1-0"u8);
        int b = table.Add("Win.Trojan.Agent-2-0"u8);
        Assert.Equal(a, table.Add("Win.Trojan.Agent-1-0"u8));
        Assert.Equal(b, table.Add("Win.Trojan.Agent-2-0"u8));
        Assert.Equal((0, 1, 2), (a, b, table.Count));
        Assert.Equal(2, table.Add("Win.Trojan.Agent-3-0"u8));
        table.Freeze();
        Assert.Equal("Win.Trojan.Agent-2-0", table.GetString(1));
        Assert.Equal("Win.Trojan.Agent-1-0Win.Trojan.Agent-2-0Win.Trojan.Agent-3-0", Encoding.UTF8.GetString(table.Blob));
    }

    [Fact]
    public void Add_SameSequence_SameNumbering_EveryIndexNamesWhatWasAdded()
    {
        // Far more names than the table of recent ones holds, with repeats near and far.
        var rng = new Random(3);
        var names = new List<byte[]>();
        for (int i = 0; i < SignatureNameTable.RecentNames * 3; i++)
        {
            int id = rng.Next(4) == 0 && i > 0 ? rng.Next(i) : i;
            names.Add(Encoding.UTF8.GetBytes($"Test.Name-{id}-0"));
        }

        var first = new SignatureNameTable();
        var second = new SignatureNameTable();
        second.EnsureCapacity(names.Count, names.Sum(n => (long)n.Length));
        int[] indices = [.. names.Select(n => first.Add(n))];
        Assert.Equal(indices, names.Select(n => second.Add(n)).ToArray());
        for (int i = 0; i < names.Count; i++)
        {
            Assert.True(first[indices[i]].SequenceEqual(names[i]));
        }

        Assert.True(first.Count < names.Count, "nearby repeats are shared");
    }
}
