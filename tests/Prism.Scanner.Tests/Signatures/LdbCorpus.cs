using System.Globalization;
using System.Text;
using Prism.Testing;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// Seeded random logical signatures and files for comparison with clamscan: expressions of '&amp;'/'|' with counted
/// leaves (=X, &gt;X, &lt;X, =0 negation) and blocks with modifiers (=X, &gt;X,Y, ...), subsignatures with offsets
/// (n, n,shift, EOF-n) and the modifiers ::i, ::w, ::f, ::a and their combinations, target description blocks with
/// FileSize; plus the documented examples. Files hold each chosen subsignature 0-3 times (case-varied, wide, inside
/// or outside word boundaries) and near misses. Which file matches what is for clamscan to say, not this class.
/// </summary>
internal sealed class LdbCorpus : ISignatureCorpus
{
    private readonly Random _rng;
    private readonly StringBuilder _ldb = new();
    private readonly List<Sub[]> _signatures = [];

    private LdbCorpus(int seed) => _rng = new Random(seed);

    public string DatabaseDirectory { get; private set; } = string.Empty;

    public List<string> Files { get; } = [];

    /// <summary>How one subsignature is written, and the bytes that satisfy it in a file.</summary>
    private sealed record Sub(string Text, Func<Random, byte[]> Instance, Func<Random, byte[]> NearMiss);

    public static LdbCorpus Create(TempDir dir, int seed, int signatureCount, int fileCount)
    {
        var corpus = new LdbCorpus(seed);
        string dbDir = Directory.CreateDirectory(Path.Combine(dir.Path, "ldb-db")).FullName;
        string dataDir = Directory.CreateDirectory(Path.Combine(dir.Path, "ldb-files")).FullName;
        corpus.AddDocumentedExamples();
        for (int s = 0; s < signatureCount; s++)
        {
            corpus.AddRandomSignature($"Ldb{seed}x{s}");
        }

        for (int f = 0; f < fileCount; f++)
        {
            string path = Path.Combine(dataDir, $"f{f:D2}.bin");
            File.WriteAllBytes(path, corpus.BuildFile());
            corpus.Files.Add(path);
        }

        File.WriteAllText(Path.Combine(dbDir, "gen.ldb"), corpus._ldb.ToString());
        corpus.DatabaseDirectory = dbDir;
        return corpus;
    }

    private static string Hex(byte[] b) => Convert.ToHexStringLower(b);

    private static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);

    private static byte[] Wide(byte[] b) => [.. b.SelectMany(x => new byte[] { x, 0 })];

    private void AddDocumentedExamples()
    {
        Sub Plain(string text) => new(Hex(Ascii(text)), _ => Ascii(text), _ => Ascii(text.ToUpperInvariant()));
        Sub[] words = [Plain("kotek"), Plain("ala"), Plain("zolw"), Plain("stefan"), new("deadbeef", _ => [0xDE, 0xAD, 0xBE, 0xEF], _ => [0xDE, 0xAD])];
        Add("Doc.Sig1", "Target:0", "(0&1&2&3)&(4|1)", words);
        Add("Doc.Sig2", "Target:0", "((0|1|2)>5,2)&(3|1)", words[..4]);
        Add("Doc.Sig3", "Target:0", "((0|1|2|3)=2)&(4|1)", words);
        Sub Mod(string text, string modifiers, Func<Random, byte[]> instance) => new(Hex(Ascii(text)) + "::" + modifiers, instance, _ => Ascii(text[..^1]));
        Add("Doc.Nocase", "Engine:81-255,Target:0", "0&1", [Mod("AAAA", "i", _ => Ascii("aAaA")), Mod("BBBBBB", "i", _ => Ascii("bbbBBB"))]);
        Add("Doc.Fullword", "Engine:81-255,Target:0", "0&1", [Plain("AAA"), Mod("hello", "f", _ => Ascii(" hello."))]);
        Add("Doc.WideAscii", "Engine:81-255,Target:0", "0&1", [Plain("AAA"), Mod("hello", "wa", r => r.Next(2) == 0 ? Wide(Ascii("hello")) : Ascii("hello"))]);
        Add("Doc.All", "Engine:81-255,Target:0", "0&1", [Plain("AAA"), Mod("hello", "iwfa", _ => [0x20, .. Wide(Ascii("HeLLo")), 0x21])]);
    }

    private void Add(string name, string tdb, string expression, Sub[] subs)
    {
        _ldb.Append(CultureInfo.InvariantCulture, $"{name};{tdb};{expression};{string.Join(';', subs.Select(s => s.Text))}\n");
        _signatures.Add(subs);
    }

    private void AddRandomSignature(string name)
    {
        int count = _rng.Next(1, 6);
        var subs = new Sub[count];
        for (int i = 0; i < count; i++)
        {
            subs[i] = RandomSub();
        }

        // ClamAV demands exactly as many subsignatures as the highest index in the expression names.
        string expression = RandomExpression(count, 0);
        while (Prism.Scanner.Signatures.LogicalExpression.Parse(expression).HighestIndex != count - 1)
        {
            expression = $"({expression}|{count - 1})";
        }

        string tdb = _rng.Next(5) switch
        {
            0 => "Engine:51-255,Target:0",
            1 => $"Engine:51-255,Target:0,FileSize:{_rng.Next(0, 40000)}-{_rng.Next(40000, 200000)}",
            _ => "Target:0",
        };
        Add(name, tdb, expression, subs);
    }

    private Sub RandomSub()
    {
        byte[] token = new byte[_rng.Next(4, 9)];
        _rng.NextBytes(token);
        token[0] = (byte)_rng.Next(0x80, 0x100);
        byte[] Spoil(byte[] b)
        {
            byte[] c = (byte[])b.Clone();
            c[_rng.Next(c.Length)] ^= 0x11;
            return c;
        }

        switch (_rng.Next(9))
        {
            case 0:
                {
                    // Case-insensitive word.
                    string word = new([.. Enumerable.Range(0, _rng.Next(4, 8)).Select(_ => (char)('a' + _rng.Next(26)))]);
                    return new(Hex(Ascii(word)) + "::i", r => Ascii(new string([.. word.Select(c => r.Next(2) == 0 ? char.ToUpperInvariant(c) : c)])), _ => Ascii(word[1..]));
                }

            case 1:
                {
                    // Fullword: alone (a hit) or glued to letters (no hit).
                    string word = new([.. Enumerable.Range(0, _rng.Next(4, 8)).Select(_ => (char)('a' + _rng.Next(26)))]);
                    return new(Hex(Ascii(word)) + "::f", r => Ascii(" " + word + "."), _ => Ascii("x" + word + "y"));
                }

            case 2:
                return new(Hex(token) + "::w", r => Wide(token), _ => token);
            case 3:
                return new(Hex(token) + "::wa", r => r.Next(2) == 0 ? Wide(token) : token, _ => Spoil(token));
            case 4:
                {
                    int at = _rng.Next(0, 3000);
                    return new($"{at},4000:" + Hex(token), r => token, _ => Spoil(token));
                }

            case 5:
                return new($"EOF-{_rng.Next(token.Length, 20000)}:" + Hex(token), r => token, _ => Spoil(token));
            case 6:
                // A wildcard in the middle.
                return new(Hex(token[..2]) + "??" + Hex(token[3..]), r => token, _ => Spoil(token));
            default:
                return new(Hex(token), r => token, _ => Spoil(token));
        }
    }

    private string RandomExpression(int count, int depth)
    {
        if (depth >= 3 || _rng.Next(3) == 0)
        {
            string leaf = _rng.Next(count).ToString(CultureInfo.InvariantCulture);
            return _rng.Next(10) switch
            {
                0 => leaf + "=0",
                1 => leaf + "=" + _rng.Next(1, 4).ToString(CultureInfo.InvariantCulture),
                2 => leaf + ">" + _rng.Next(0, 3).ToString(CultureInfo.InvariantCulture),
                3 => leaf + "<" + _rng.Next(1, 4).ToString(CultureInfo.InvariantCulture),
                _ => leaf,
            };
        }

        int operands = _rng.Next(2, 4);
        var parts = Enumerable.Range(0, operands).Select(_ => RandomExpression(count, depth + 1)).ToList();
        var text = new StringBuilder("(");
        for (int i = 0; i < parts.Count; i++)
        {
            if (i > 0)
            {
                text.Append(_rng.Next(2) == 0 ? '&' : '|');
            }

            text.Append(parts[i]);
        }

        text.Append(')');
        switch (_rng.Next(8))
        {
            case 0:
                text.Append('=').Append(_rng.Next(0, 5));
                break;
            case 1:
                text.Append('>').Append(_rng.Next(0, 4)).Append(',').Append(_rng.Next(1, 3));
                break;
            case 2:
                text.Append('<').Append(_rng.Next(1, 5));
                break;
            case 3:
                text.Append('=').Append(_rng.Next(1, 5)).Append(',').Append(_rng.Next(1, 3));
                break;
        }

        return text.ToString();
    }

    private byte[] BuildFile()
    {
        byte[] file = new byte[_rng.Next(2000, 120_000)];
        _rng.NextBytes(file);

        // clamscan types most random data as UTF-16BE text and scans it a second time normalised, where logical
        // signatures are evaluated again; a non-text character pair at offset 2 makes the file binary data instead.
        file[2] = 0x00;
        file[3] = 0x01;
        void Put(byte[] b)
        {
            if (b.Length < file.Length - 4)
            {
                b.CopyTo(file, _rng.Next(4, file.Length - b.Length));
            }
        }

        foreach (Sub[] subs in _signatures)
        {
            if (_rng.Next(3) != 0)
            {
                continue;
            }

            foreach (Sub s in subs)
            {
                int times = _rng.Next(0, 4);
                for (int t = 0; t < times; t++)
                {
                    Put(s.Instance(_rng));
                }

                if (_rng.Next(3) == 0)
                {
                    Put(s.NearMiss(_rng));
                }
            }
        }

        return file;
    }
}
