using Prism.Scanner.Signatures;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// The normaliser's two vectorised passes (<see cref="TextNormalizer.DropAndMap"/>, <see cref="TextNormalizer.CollapseSpaces"/>)
/// against the byte-by-byte rule they replace, on seeded inputs cut into random pieces: text, binary data and runs of
/// white space and dropped bytes (the rule itself is checked against clamscan in <see cref="TextRescanBufferTests"/>
/// and <see cref="TextComparisonTests"/>).
/// </summary>
public sealed class TextNormalizerPassTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void TwoPasses_SameBytesAsTheByteRule(int seed)
    {
        var rng = new Random(seed);
        for (int round = 0; round < 200; round++)
        {
            byte[] input = MakeInput(rng, rng.Next(0, 3000));
            byte[] expected = Reference(input, out _);

            var produced = new List<byte>();
            bool spaceWritten = false;
            byte[] mid = new byte[input.Length];
            byte[] output = new byte[input.Length];
            for (int at = 0; at < input.Length;)
            {
                int n = Math.Min(input.Length - at, rng.Next(1, 200));
                int kept = TextNormalizer.DropAndMap(input.AsSpan(at, n), mid);
                int written = TextNormalizer.CollapseSpaces(mid.AsSpan(0, kept), output, ref spaceWritten);
                produced.AddRange(output.AsSpan(0, written).ToArray());
                at += n;
            }

            Assert.Equal(expected, produced.ToArray());
        }
    }

    [Fact]
    public void SpaceRun_BrokenOnlyByDroppedBytes_StaysOneSpace()
    {
        byte[] input = [(byte)'A', 0x20, 0x01, 0x80, 0x09, 0x02, 0x20, 0x0A, 0x20, (byte)'B'];
        byte[] mid = new byte[input.Length];
        byte[] output = new byte[input.Length];
        bool spaceWritten = false;
        int kept = TextNormalizer.DropAndMap(input, mid);
        int written = TextNormalizer.CollapseSpaces(mid.AsSpan(0, kept), output, ref spaceWritten);
        Assert.Equal("a b"u8.ToArray(), output.AsSpan(0, written).ToArray());
        Assert.False(spaceWritten);
    }

    /// <summary>The rule as clamscan's textnorm states it, one byte at a time.</summary>
    private static byte[] Reference(byte[] input, out bool spaceWritten)
    {
        var output = new List<byte>();
        spaceWritten = false;
        foreach (byte c in input)
        {
            if (c is (>= 0x09 and <= 0x0D) or 0x20)
            {
                if (!spaceWritten)
                {
                    output.Add((byte)' ');
                }

                spaceWritten = true;
            }
            else if (c is > 0x20 and < 0x80)
            {
                output.Add(c is >= (byte)'A' and <= (byte)'Z' ? (byte)(c + 32) : c);
                spaceWritten = false;
            }
        }

        return output.ToArray();
    }

    private static byte[] MakeInput(Random rng, int length)
    {
        byte[] data = new byte[length];
        byte[] text = "Text with  Spaces\t\r\n"u8.ToArray();
        byte[] edges = [0x20, 0x09, 0x0A, 0x01, 0x7F, 0x80, 0xFF, (byte)'A', (byte)'z'];
        int kind = rng.Next(4);
        for (int i = 0; i < length; i++)
        {
            data[i] = kind switch
            {
                0 => (byte)rng.Next(256),
                1 => (byte)rng.Next(0x20, 0x80),
                2 => rng.Next(8) == 0 ? (byte)rng.Next(256) : text[rng.Next(text.Length)],
                _ => edges[rng.Next(edges.Length)],
            };
        }

        return data;
    }
}
