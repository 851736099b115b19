using System.Text;
using FsCheck;
using Prism.Scanner.Signatures;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>The streaming matcher against <see cref="ReferenceMatcher"/> on random signatures, data and chunkings.</summary>
public sealed class MatcherPropertyTests
{
    [FsCheck.Xunit.Property(MaxTest = 500)]
    public void Scan_RandomSignaturesAndData_EqualsReferenceForEveryChunking(int seed)
    {
        var rng = new Random(seed);
        byte[] alphabet = rng.Next(3) == 0 ? [0x41, 0x42, 0x43] : Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        byte[] data = new byte[rng.Next(0, 3000)];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = alphabet[rng.Next(alphabet.Length)];
        }

        var signatures = new List<ReferenceMatcher.Signature>();
        int count = rng.Next(1, 7);
        for (int i = 0; i < count; i++)
        {
            (ReferenceMatcher.Signature signature, byte[] instance) = SignatureGenerator.Next(rng, alphabet, $"P{i}", data.Length);
            signatures.Add(signature);
            int insertions = rng.Next(0, 3);
            for (int k = 0; k < insertions && instance.Length <= data.Length; k++)
            {
                int at = signature.Absolute is long a && rng.Next(2) == 0 ? (int)Math.Min(a, data.Length - instance.Length)
                    : signature.FromEnd is long e && rng.Next(2) == 0 ? (int)Math.Max(0, data.Length - e)
                    : rng.Next(0, data.Length - instance.Length + 1);
                instance.AsSpan(0, Math.Min(instance.Length, data.Length - at)).CopyTo(data.AsSpan(at));
            }
        }

        string ndb = string.Join('\n', signatures.Select(s => s.NdbLine)) + "\n";
        var expected = new SortedSet<string>(signatures.Where(s => ReferenceMatcher.Matches(s, data)).Select(s => s.Name), StringComparer.Ordinal);
        foreach (AnchorStrategy strategy in new[] { AnchorStrategy.AutomatonOnly, AnchorStrategy.QuadWherePossible })
        {
            SignatureDatabase db = SignatureDatabase.LoadFromText(strategy, ("random.ndb", ndb));
            Assert.Empty(db.Issues);
            CheckAllChunkings(db, data, expected, rng, $"{strategy}\n{ndb}");
        }
    }

    private static void CheckAllChunkings(SignatureDatabase db, byte[] data, SortedSet<string> expected, Random rng, string ndb)
    {

        Check(expected, db.Scan(data), "whole", ndb);
        Check(expected, db.Scan(new MemoryStream(data)), "stream", ndb);
        foreach (int chunk in new[] { 1, 2, 7, 64, rng.Next(1, 512) })
        {
            using ScanSession session = db.CreateSession();
            for (int offset = 0; offset < data.Length; offset += chunk)
            {
                session.Append(data.AsSpan(offset, Math.Min(chunk, data.Length - offset)));
            }

            Check(expected, session.Complete(), $"chunks of {chunk}", ndb);
        }

        using (ScanSession session = db.CreateSession())
        {
            for (int offset = 0; offset < data.Length;)
            {
                int n = Math.Min(rng.Next(0, 300), data.Length - offset);
                session.Append(data.AsSpan(offset, n));
                offset += n;
            }

            Check(expected, session.Complete(), "random chunks", ndb);
        }
    }

    [FsCheck.Xunit.Property(MaxTest = 100)]
    public void Scan_HashSignatures_MatchOnlyWithRightSize(NonEmptyArray<byte> content, bool anySize, bool wrongSize)
    {
        byte[] data = content.Get;
#pragma warning disable CA5351, CA5350
        string md5 = Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(data));
#pragma warning restore CA5351, CA5350
        string sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data));
        string size = anySize ? "*" : (data.Length + (wrongSize ? 1 : 0)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        string level = anySize ? ":73" : string.Empty;
        SignatureDatabase db = SignatureDatabase.LoadFromText(
            ("h.hdb", $"{md5}:{size}:M{level}\n"), ("h.hsb", $"{sha256}:{size}:S{level}\n"));
        bool expectMatch = anySize || !wrongSize;
        foreach (IReadOnlyList<Detection> result in new[] { db.Scan(data), db.Scan(new NonSeekableStream(data)) })
        {
            Assert.Equal(expectMatch ? ["M", "S"] : [], result.Select(d => d.SignatureName).Order(StringComparer.Ordinal));
        }
    }

    private static void Check(SortedSet<string> expected, IReadOnlyList<Detection> actual, string how, string ndb)
    {
        var names = new SortedSet<string>(actual.Select(d => d.SignatureName), StringComparer.Ordinal);
        Assert.True(expected.SetEquals(names),
            $"{how}: reference [{string.Join(",", expected)}] vs engine [{string.Join(",", names)}]\n{ndb}");
        Assert.Equal(names.Count, actual.Count);
    }

    /// <summary>A read-only stream without Length, so the session cannot know the file size in advance.</summary>
    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data, writable: false)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();
    }
}

/// <summary>Random ndb signatures in both notations (ClamAV hex and regex) plus one byte string each matches.</summary>
internal static class SignatureGenerator
{
    public static (ReferenceMatcher.Signature Signature, byte[] Instance) Next(Random rng, byte[] alphabet, string name, int dataLength)
    {
        var hex = new StringBuilder();
        var regex = new StringBuilder();
        var instance = new List<byte>();
        int parts = rng.Next(4) == 0 ? rng.Next(2, 4) : 1;
        for (int p = 0; p < parts; p++)
        {
            if (p > 0)
            {
                if (rng.Next(2) == 0)
                {
                    hex.Append('*');
                    regex.Append(@"[\s\S]*");
                    AddRandom(rng, alphabet, instance, rng.Next(0, 20));
                }
                else
                {
                    int min = rng.Next(0, 12);
                    hex.Append('{').Append(min).Append("-}");
                    regex.Append(@"[\s\S]{").Append(min).Append(",}");
                    // Sometimes closer than the minimum: an instance that must not match.
                    AddRandom(rng, alphabet, instance, rng.Next(0, min + 10));
                }
            }

            AppendPart(rng, alphabet, hex, regex, instance);
        }

        string offsetText = "*";
        long? absolute = null, fromEnd = null;
        long shift = 0;
        switch (rng.Next(6))
        {
            case 0:
                absolute = rng.Next(0, Math.Max(1, dataLength));
                shift = rng.Next(2) == 0 ? 0 : rng.Next(1, 50);
                offsetText = shift > 0 ? $"{absolute},{shift}" : $"{absolute}";
                break;
            case 1 when parts == 1:
                fromEnd = rng.Next(instance.Count, instance.Count + 40);
                shift = rng.Next(2) == 0 ? 0 : rng.Next(1, 20);
                offsetText = shift > 0 ? $"EOF-{fromEnd},{shift}" : $"EOF-{fromEnd}";
                break;
        }

        return (new ReferenceMatcher.Signature(name, hex.ToString(), regex.ToString(), offsetText, absolute, fromEnd, shift), [.. instance]);
    }

    private static void AppendPart(Random rng, byte[] alphabet, StringBuilder hex, StringBuilder regex, List<byte> instance)
    {
        int elements = rng.Next(1, 5);
        int anchorAt = rng.Next(elements);
        for (int e = 0; e < elements; e++)
        {
            int kind = e == anchorAt ? 0 : rng.Next(8);
            switch (kind)
            {
                case 0:
                case 1:
                    int length = rng.Next(e == anchorAt ? 2 : 1, 6);
                    for (int i = 0; i < length; i++)
                    {
                        byte b = Pick(rng, alphabet);
                        hex.Append(b.ToString("x2"));
                        regex.Append(Escape(b));
                        instance.Add(b);
                    }

                    break;
                case 2:
                    hex.Append("??");
                    regex.Append(@"[\s\S]");
                    instance.Add(Pick(rng, alphabet));
                    break;
                case 3:
                    byte nb = Pick(rng, alphabet);
                    if (rng.Next(2) == 0)
                    {
                        hex.Append($"{nb >> 4:x}?");
                        regex.Append('[').Append(Escape((byte)(nb & 0xF0))).Append('-').Append(Escape((byte)(nb | 0x0F))).Append(']');
                    }
                    else
                    {
                        hex.Append($"?{nb & 0xF:x}");
                        regex.Append('[');
                        for (int h = 0; h < 16; h++)
                        {
                            regex.Append(Escape((byte)((h << 4) | (nb & 0xF))));
                        }

                        regex.Append(']');
                    }

                    instance.Add(nb);
                    break;
                case 4:
                    // max >= 1: clamscan reads {0}, {0-0} and {-0} as '*' (BodyFormTests covers them).
                    int min = rng.Next(0, 6), max = Math.Max(1, min + rng.Next(0, 6));
                    hex.Append(rng.Next(3) switch
                    {
                        0 when min == max => $"{{{min}}}",
                        1 when min == 0 => $"{{-{max}}}",
                        _ => $"{{{min}-{max}}}",
                    });
                    regex.Append(@"[\s\S]{").Append(min).Append(',').Append(max).Append('}');
                    AddRandom(rng, alphabet, instance, rng.Next(min, max + 1));
                    break;
                case 5:
                case 6:
                    int options = rng.Next(2, 4);
                    bool multi = kind == 6;
                    var texts = new List<byte[]>();
                    for (int o = 0; o < options; o++)
                    {
                        var opt = new byte[multi ? rng.Next(1, 4) : 1];
                        for (int i = 0; i < opt.Length; i++)
                        {
                            opt[i] = Pick(rng, alphabet);
                        }

                        texts.Add(opt);
                    }

                    hex.Append('(').Append(string.Join('|', texts.Select(t => Convert.ToHexStringLower(t)))).Append(')');
                    regex.Append("(?:").Append(string.Join('|', texts.Select(t => string.Concat(t.Select(Escape))))).Append(')');
                    instance.AddRange(texts[rng.Next(texts.Count)]);
                    break;
                default:
                    var excluded = new HashSet<byte> { Pick(rng, alphabet), Pick(rng, alphabet) };
                    hex.Append("!(").Append(string.Join('|', excluded.Select(b => b.ToString("x2")))).Append(')');
                    regex.Append("[^").Append(string.Concat(excluded.Select(Escape))).Append(']');
                    byte pick = Pick(rng, alphabet);
                    instance.Add(excluded.Contains(pick) ? (byte)(pick ^ 0x80) : pick);
                    break;
            }
        }
    }

    private static void AddRandom(Random rng, byte[] alphabet, List<byte> instance, int count)
    {
        for (int i = 0; i < count; i++)
        {
            instance.Add(Pick(rng, alphabet));
        }
    }

    private static byte Pick(Random rng, byte[] alphabet) => alphabet[rng.Next(alphabet.Length)];

    private static string Escape(byte b) => $@"\x{b:x2}";
}
