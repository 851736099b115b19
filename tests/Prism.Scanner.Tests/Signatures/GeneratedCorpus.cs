using System.Security.Cryptography;
using System.Text;
using Prism.Testing;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// A deterministic custom signature database (hdb, hsb, ndb written to a directory) and files of seeded random bytes
/// with matching and almost-matching instances embedded at random places, many straddling 64 KiB and 1 MiB
/// boundaries. Which files match which signatures is for clamscan to say, not this class.
/// </summary>
internal sealed class GeneratedCorpus : ISignatureCorpus
{
    public const string Eicar = @"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

    private GeneratedCorpus(string databaseDirectory, List<string> files)
    {
        DatabaseDirectory = databaseDirectory;
        Files = files;
    }

    public string DatabaseDirectory { get; }

    public List<string> Files { get; }

    /// <summary>A body signature line and bytes that satisfy it (and a spoiled copy that should not).</summary>
    private sealed record Instance(string Name, byte[] Match, byte[] Spoiled, int? FixedOffset = null, int? EofDistance = null);

    public static GeneratedCorpus Create(TempDir dir, int seed, int fileCount, int maxFileSize)
    {
        var rng = new Random(seed);
        string dbDir = Directory.CreateDirectory(Path.Combine(dir.Path, "db")).FullName;
        string dataDir = Directory.CreateDirectory(Path.Combine(dir.Path, "files")).FullName;
        var ndb = new StringBuilder();
        var instances = new List<Instance>();
        byte[] eicar = Encoding.ASCII.GetBytes(Eicar);

        byte[] Fragment(int length)
        {
            var b = new byte[length];
            rng.NextBytes(b);
            return b;
        }

        static string Hex(ReadOnlySpan<byte> b) => Convert.ToHexStringLower(b);

        static byte[] Spoil(byte[] match, int index)
        {
            byte[] copy = (byte[])match.Clone();
            copy[index] ^= 0x5A;
            return copy;
        }

        void Add(string name, string offset, string hex, Instance instance)
        {
            ndb.Append(name).Append(":0:").Append(offset).Append(':').Append(hex).Append('\n');
            instances.Add(instance);
        }

        Add("Prism.Test.EicarNdb", "*", Hex(eicar), new("EicarNdb", eicar, Spoil(eicar, 40)));
        Add("Prism.Test.EicarWild", "*", Hex(eicar.AsSpan(0, 12)) + "????" + Hex(eicar.AsSpan(14, 16)) + "{2-6}" + Hex(eicar.AsSpan(34)),
            new("EicarWild", eicar, Spoil(eicar, 50)));

        byte[] f = Fragment(32);
        Add("Prism.Test.Plain", "*", Hex(f), new("Plain", f, Spoil(f, 20)));

        f = Fragment(24);
        string nibble = Hex(f.AsSpan(0, 8)) + $"{f[8] >> 4:x}?" + $"?{f[9] & 0xF:x}" + Hex(f.AsSpan(10));
        Add("Prism.Test.Nibble", "*", nibble, new("Nibble", f, Spoil(f, 2)));

        f = Fragment(28);
        string alt = Hex(f.AsSpan(0, 8)) + $"({Hex(Fragment(1))}|{f[8]:x2}|{Hex(Fragment(1))})" + $"({Hex(Fragment(3))}|{Hex(f.AsSpan(9, 2))})" + Hex(f.AsSpan(11));
        Add("Prism.Test.Alternatives", "*", alt, new("Alternatives", f, Spoil(f, 9)));

        f = Fragment(40);
        Add("Prism.Test.Gap", "*", Hex(f.AsSpan(0, 10)) + "{4-12}" + Hex(f.AsSpan(18)), new("Gap", f, Spoil(f, 30)));

        f = Fragment(40);
        Add("Prism.Test.GapExact", "*", Hex(f.AsSpan(0, 12)) + "{8}" + Hex(f.AsSpan(20)), new("GapExact", f, Spoil(f, 5)));

        f = Fragment(30);
        f[6] = 0x11;
        byte[] excluded = (byte[])f.Clone();
        excluded[6] = 0x33;
        Add("Prism.Test.Negated", "*", Hex(f.AsSpan(0, 6)) + "!(22|33)" + Hex(f.AsSpan(7)), new("Negated", f, excluded));

        // '*' and {n-}: two parts in order; the spoiled instance swaps them.
        byte[] a = Fragment(20), b = Fragment(20), filler = Fragment(3000);
        byte[] ordered = [.. a, .. filler, .. b];
        byte[] swapped = [.. b, .. filler, .. a];
        Add("Prism.Test.Star", "*", Hex(a) + "*" + Hex(b), new("Star", ordered, swapped));
        a = Fragment(16);
        b = Fragment(16);
        byte[] near = [.. a, .. Fragment(50), .. b];
        byte[] far = [.. a, .. Fragment(150), .. b];
        Add("Prism.Test.OpenGap", "*", Hex(a) + "{100-}" + Hex(b), new("OpenGap", far, near));

        f = Fragment(24);
        Add("Prism.Test.Fixed", "4096", Hex(f), new("Fixed", f, Spoil(f, 3), FixedOffset: 4096));
        f = Fragment(24);
        Add("Prism.Test.Shift", "65500,100", Hex(f), new("Shift", f, Spoil(f, 3), FixedOffset: 65500 + rng.Next(0, 101)));
        f = Fragment(24);
        Add("Prism.Test.Eof", "EOF-300", Hex(f), new("Eof", f, Spoil(f, 3), EofDistance: 300));

        f = Fragment(24);
        Add("Prism.Test.EofShift", "EOF-400,50", Hex(f), new("EofShift", f, Spoil(f, 3), EofDistance: 400 - rng.Next(0, 51)));

        // EOF-n beyond the start of a short file: the shifted range would reach offset 0 (eicar.com is 68 bytes).
        ndb.Append("Prism.Test.EofBeyond:0:EOF-70,5:").Append(Hex(eicar.AsSpan(0, 10))).Append('\n');
        ndb.Append("Prism.Test.EofWithin:0:EOF-68,5:").Append(Hex(eicar.AsSpan(0, 10))).Append('\n');

        // Lines both engines leave unused on raw data: a PE-only target and an entry-point offset.
        ndb.Append("Prism.Test.PeOnly:1:*:").Append(Hex(eicar)).Append('\n');
        ndb.Append("Prism.Test.EntryPoint:1:EP+0:").Append(Hex(eicar)).Append('\n');
        File.WriteAllText(Path.Combine(dbDir, "custom.ndb"), ndb.ToString());

        var files = new List<string>();
        string eicarFile = Path.Combine(dataDir, "eicar.com");
        File.WriteAllBytes(eicarFile, eicar);
        files.Add(eicarFile);
        byte[]? hashed = null;
        for (int i = 0; i < fileCount; i++)
        {
            int size = i switch
            {
                0 => 70_000,
                1 => (1 << 20) + 40_000,
                _ => rng.Next(5_000, maxFileSize),
            };
            byte[] data = Fragment(size);
            Embed(rng, data, instances);
            string path = Path.Combine(dataDir, $"sample{i:D2}.bin");
            File.WriteAllBytes(path, data);
            files.Add(path);
            hashed ??= data;
        }

        // Files that should stay clean: random bytes plus only spoiled instances.
        for (int i = 0; i < 2; i++)
        {
            byte[] data = Fragment(rng.Next(5_000, 200_000));
            Embed(rng, data, instances, spoiledOnly: true);
            string path = Path.Combine(dataDir, $"clean{i:D2}.bin");
            File.WriteAllBytes(path, data);
            files.Add(path);
        }

        // Hash signatures: EICAR's MD5 and SHA-256 (sized), SHA-1 of one sample, an any-size MD5, and a size mismatch.
#pragma warning disable CA5351, CA5350 // ClamAV hdb/hsb signatures are MD5 and SHA-1.
        string hdb = $"{Hex(MD5.HashData(eicar))}:{eicar.Length}:Prism.Test.EicarMd5\n"
            + $"{Hex(MD5.HashData(hashed!))}:*:Prism.Test.AnySizeMd5:73\n"
            + $"{Hex(MD5.HashData(hashed!))}:{hashed!.Length + 1}:Prism.Test.WrongSizeMd5\n";
        string hsb = $"{Hex(SHA256.HashData(eicar))}:{eicar.Length}:Prism.Test.EicarSha256\n"
            + $"{Hex(SHA1.HashData(hashed))}:{hashed.Length}:Prism.Test.SampleSha1\n";
#pragma warning restore CA5351, CA5350
        File.WriteAllText(Path.Combine(dbDir, "custom.hdb"), hdb);
        File.WriteAllText(Path.Combine(dbDir, "custom.hsb"), hsb);
        return new GeneratedCorpus(dbDir, files);
    }

    /// <summary>Places a random subset of matching or spoiled instances without overlaps.</summary>
    private static void Embed(Random rng, byte[] data, List<Instance> instances, bool spoiledOnly = false)
    {
        var used = new List<(int Start, int End)>();
        bool TryPlace(byte[] bytes, int position)
        {
            if (position < 0 || position + bytes.Length > data.Length || used.Exists(u => position < u.End + 4 && u.Start < position + bytes.Length + 4))
            {
                return false;
            }

            bytes.CopyTo(data, position);
            used.Add((position, position + bytes.Length));
            return true;
        }

        foreach (Instance instance in instances)
        {
            if (rng.Next(3) == 0)
            {
                continue;
            }

            byte[] bytes = spoiledOnly || rng.Next(4) == 0 ? instance.Spoiled : instance.Match;
            for (int attempt = 0; attempt < 20; attempt++)
            {
                int position;
                if (instance.FixedOffset is int fixedOffset && rng.Next(3) != 0)
                {
                    position = fixedOffset + (rng.Next(4) == 0 ? rng.Next(-2, 3) : 0);
                }
                else if (instance.EofDistance is int eof && rng.Next(3) != 0)
                {
                    position = data.Length - eof + (rng.Next(4) == 0 ? rng.Next(-2, 3) : 0);
                }
                else if (rng.Next(2) == 0)
                {
                    // Straddle a 64 KiB or 1 MiB boundary.
                    int unit = rng.Next(2) == 0 ? 1 << 16 : 1 << 20;
                    int boundaries = data.Length / unit;
                    if (boundaries == 0)
                    {
                        continue;
                    }

                    position = (unit * rng.Next(1, boundaries + 1)) - rng.Next(1, bytes.Length);
                }
                else
                {
                    position = rng.Next(0, Math.Max(1, data.Length - bytes.Length));
                }

                if (TryPlace(bytes, position))
                {
                    break;
                }
            }
        }
    }
}
