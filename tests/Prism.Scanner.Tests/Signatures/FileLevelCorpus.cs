using System.Globalization;
using System.Text;
using Prism.Testing;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// PCRE and byte-compare subsignatures for comparison with clamscan: the documented examples, hand-made cases for
/// each offset form and flag (anchoring, maxshift with and without e, rolling, g counts, ^ and $ with m and E, x,
/// U, high bytes under i, \s, \v, \w, escaped '/'), and seeded random signatures whose files plant matches, near
/// misses and decoys at random places. Which file matches what is for clamscan to say, not this class.
/// </summary>
internal sealed class FileLevelCorpus : ISignatureCorpus
{
    private const string Pcre = "Engine:81-255,Target:0";

    private static readonly string[] s_words = ["clamav", "evil", "payload", "dropper", "xyzzy", "eval"];

    private readonly Random _rng;
    private readonly StringBuilder _ldb = new();
    private readonly List<Func<Random, byte[]>> _plants = [];

    private FileLevelCorpus(int seed) => _rng = new Random(seed);

    public string DatabaseDirectory { get; private set; } = string.Empty;

    public List<string> Files { get; } = [];

    public static FileLevelCorpus Create(TempDir dir, int seed, int signatureCount, int fileCount)
    {
        var corpus = new FileLevelCorpus(seed);
        string dbDir = Directory.CreateDirectory(Path.Combine(dir.Path, $"fl-db-{seed}")).FullName;
        string dataDir = Directory.CreateDirectory(Path.Combine(dir.Path, $"fl-files-{seed}")).FullName;
        corpus.AddHandMade(dataDir);
        for (int s = 0; s < signatureCount; s++)
        {
            if (corpus._rng.Next(4) == 0)
            {
                corpus.AddRandomTextCompare($"Tc{seed}x{s}");
            }
            else if (corpus._rng.Next(3) == 0)
            {
                corpus.AddRandomByteCompare($"Bc{seed}x{s}");
            }
            else
            {
                corpus.AddRandomPcre($"Re{seed}x{s}");
            }
        }

        for (int f = 0; f < fileCount; f++)
        {
            string path = Path.Combine(dataDir, $"r{f:D2}.bin");
            File.WriteAllBytes(path, corpus.BuildFile());
            corpus.Files.Add(path);
        }

        File.WriteAllText(Path.Combine(dbDir, "fl.ldb"), corpus._ldb.ToString());
        corpus.DatabaseDirectory = dbDir;
        return corpus;
    }

    private static string Hex(string s) => Convert.ToHexStringLower(Encoding.ASCII.GetBytes(s));

    private void Line(string line) => _ldb.Append(line).Append('\n');

    /// <summary>The cases the engine's documentation was checked against, with files made for them.</summary>
    private void AddHandMade(string dataDir)
    {
        // The documented examples.
        Line("Find.All.ClamAV;Engine:81-255,Target:0;1;6265676c6164697427736e6f7462797465636f6465;0/clamav/g");
        Line("Find.ClamAV.OnlyAt.299;Engine:81-255,Target:0;2;7374756c747a67657473;7063726572656765786c6f6c;299:0&1/clamav/");
        Line("Find.ClamAV.StartAt.300;Engine:81-255,Target:0;3;616c61696e;62756731393238;636c6f736564;300:0&1&2/clamav/r");
        Line("Find.All.Encompassed.ClamAV;Engine:81-255,Target:0;3;7768796172656e2774;796f757573696e67;79617261;200,300:0&1&2/clamav/ge");
        Line("Firefox.IDB.UseAfterFree;Engine:81-255,Target:0;0&1;4944424b657952616e6765;0/^\\x2e(only|lowerBound|upperBound|bound)\\x28.*?\\x29.*?\\x2e(lower|upper|lowerOpen|upperOpen)/smi");
        Line("Firefox.boundElements;Engine:81-255,Target:0;0&1&2;6576656e742e626f756e64456c656d656e7473;77696e646f772e636c6f7365;0&1/on(load|click)\\s*=\\s*\\x22?window\\.close\\s*\\x28/si");
        byte[] doc = new byte[1200];
        Array.Fill(doc, (byte)'.');
        Put(doc, 0, "begladitsnotbytecode stultzgets pcreregexlol alain bug1928 closed whyaren't youusing yara");
        Put(doc, 299, "clamav");
        Put(doc, 340, "clamav");
        Put(doc, 480, "clamav");
        Put(doc, 700, "IDBKeyRange\n.bound(1).x.upperOpen event.boundElements window.close onLoad = \"window.close(");
        Files.Add(Write(dataDir, "doc.bin", doc));

        // Offsets, shifts and flags.
        string[] hand =
        [
            "P.Any;Target:0;0&1;41414141;0/clamav/",
            "P.Count1;Target:0;0&1>1;41414141;0/clamav/",
            "P.CountG2;Target:0;0&1=2;41414141;0/clamav/g",
            "P.CountGi3;Target:0;0&1=3;41414141;0/clamav/gi",
            "P.At10;Target:0;0&1;41414141;10:0/clamav/",
            "P.At9;Target:0;0&1;41414141;9:0/clamav/",
            "P.At9r;Target:0;0&1;41414141;9:0/clamav/r",
            "P.At9s1;Target:0;0&1;41414141;9,1:0/clamav/",
            "P.At9s0;Target:0;0&1;41414141;9,0:0/clamav/",
            "P.At9s30g;Target:0;0&1=2;41414141;9,30:0/clamav/g",
            "P.At9s31g;Target:0;0&1=2;41414141;9,31:0/clamav/g",
            "P.At9s37e;Target:0;0&1=2;41414141;9,37:0/clamav/ge",
            "P.At9s36e;Target:0;0&1=2;41414141;9,36:0/clamav/ge",
            "P.Caret10;Target:0;0&1;41414141;10:0/^clamav/",
            "P.CaretRolling;Target:0;0&1;41414141;5:0/^clamav/r",
            "P.Eof;Target:0;0&1;41414141;EOF-130:0/CLAMAV/",
            "P.EofOff;Target:0;0&1;41414141;EOF-129:0/CLAMAV/",
            "P.TriggerFalse;Target:0;1;42424242;0/clamav/",
            "P.AnchoredFlag;Target:0;0&1;41414141;0/clamav/A",
            "P.AnchoredFlag2;Target:0;0&1;41414141;0/\\x41AAA/A",
            "P.Overlap;Target:0;0&1=2;41414141;0/aa/g",
            "P.Chain;Target:0;0&2;41414141;0/clamav/;1/CLAMAV/",
            "P.TriggerCount;Target:0;0&1;41414141;0>1/clamav/",
            "P.Multiline;Target:0;0&1;41414141;0/^line2$/m",
            "P.NoMultiline;Target:0;0&1;41414141;0/^line2$/",
            "P.Dot;Target:0;0&1;41414141;0/aaaaa.line/",
            "P.DotAll;Target:0;0&1;41414141;0/aaaaa.line/s",
            "P.Extended;Target:0;0&1;41414141;0/cla mav # comment/x",
            "P.Slash;Target:0;0&1;41414141;0/x\\/y\\x3Bz/",
            "P.HighCaseless;Target:0;0&1;41414141;0/\\xe9\\xe9/i",
            "P.HighWord;Target:0;0&1;41414141;0/\\xc9\\w/",
            "P.HighSpace;Target:0;0&1;41414141;0/\\xc9\\s/",
            "P.HighVertical;Target:0;0&1;41414141;0/\\xc9\\v/",
            "P.HighClass;Target:0;0&1;41414141;0/[\\x80-\\xff]{4}/",
            "P.Ungreedy;Target:0;0&1=2;41414141;0/c.+a/gU",
            "P.DollarEnd;Target:0;0&1;41414141;0/line2$/",
            "P.DollarEndOnly;Target:0;0&1;41414141;0/line2$/E",
            "P.Boundary;Target:0;0&1;41414141;0/\\bline2\\b/",
            "P.Posix;Target:0;0&1=2;41414141;0/[[:upper:]]{6}|[[:digit:]]{1}[[:alpha:]]{4}/g",
            "P.Backref;Target:0;0&1;41414141;0/(cl)amav.*\\1amav/s",
            "P.Lookahead;Target:0;0&1;41414141;0/clamav(?=\\.\\.)/",
            "P.Named;Target:0;0&1;41414141;0/(?P<w>line)2\\n(?P=w)/",
            "P.TargetOne;Engine:81-255,Target:1;0&1;41414141;0/clamav/",
            "P.FileSize;Engine:81-255,Target:0,FileSize:1-100;0&1;41414141;0/clamav/",
            "B.First;Target:0;0&1;4b455931;0(>>4#il2#<10)",
            "B.Last;Target:0;0&1;4b455931;0(>>4#il2#>10)",
            "B.Both;Target:0;0&1;4b455931;0(>>4#il2#>4,<0x51)",
            "B.Big;Target:0;0&1;4b455931;0(>>4#ib2#=0x500)",
            "B.Back;Target:0;0&1;4b455931;0(<<2#ib2#=0x2e2e)",
            "B.Count1;Target:0;0&1=1;4b455931;0(>>4#il2#>0)",
            "B.Count2;Target:0;0&1=2;4b455931;0(>>4#il2#>0)",
            "B.NoEndian;Target:0;0&1;4b455931;0(>>4#i2#>0)",
            "B.Exact;Target:0;0&1;4b455931;0(>>4#ile2#>0)",
            "B.Eight;Target:0;0&1;4b455931;0(>>4#il8#<0)",
            "B.AtZero;Target:0;0&1;41414141;0(>>0#ib1#=0x41)",
            "B.Past;Target:0;0&1;41414141;0(>>199#ib2#>0)",
            "B.Offset0x;Target:0;0&1;4b455931;0(>>0x4#ib1#=0x50)",
            "B.Negative;Target:0;0&1;4b455931;0(>>4#ib1#>-1)",
            "T.Dec;Target:0;0&1;4e554d3a;0(>>4#d4#=1234)",
            "T.DecExact;Target:0;0&1;4e554d3a;0(>>4#de4#=1234)",
            "T.Dec2;Target:0;0&1;4e554d3a;0(>>4#d2#=12)",
            "T.HexNoEndian;Target:0;0&1;4845583a;0(>>4#h4#=0x1f)",
            "T.AutoNoEndian;Target:0;0&1;4845583a;0(>>4#a4#=31)",
            "T.AutoBig;Target:0;0&1;4845583a;0(>>4#ab4#=31)",
            "T.AutoLittle;Target:0;0&1;4845583a;0(>>4#al4#=0x1f)",
            "T.AutoShort;Target:0;0&1;4e554d3a;0(>>4#ab2#=12)",
            "T.AutoDec;Target:0;0&1;4e554d3a;0(>>4#ab4#=1234)",
            "T.AutoDecLittle;Target:0;0&1;4e554d3a;0(>>4#al4#>0)",
            "T.HexLittle;Target:0;0&1;48584c3a;0(>>4#hl4#=0x1234)",
            "T.HexBig;Target:0;0&1;48584c3a;0(>>4#hb4#=0x3412)",
            "T.HexLittleOdd;Target:0;0&1;48584c3a;0(>>4#hl3#=0x0341)",
            "T.HexLittleExact;Target:0;0&1;48584c3a;0(>>4#hle4#=0x1234)",
            "T.HexBigPrefix;Target:0;0&1;4845583a;0(>>4#hb4#=0x1f)",
            "T.HexLittlePrefix;Target:0;0&1;4845583a;0(>>4#hl4#=0x1f)",
            "T.HexLittlePrefixExact;Target:0;0&1;4845583a;0(>>4#hle4#=0x1f)",
            "T.DecShort;Target:0;0&1;4445433a;0(>>4#d3#=12)",
            "T.DecShortExact;Target:0;0&1;4445433a;0(>>4#de3#=12)",
            "T.DecPadded;Target:0;0&1;5041443a;0(>>4#d4#=42)",
            "T.DecPaddedExact;Target:0;0&1;5041443a;0(>>4#de4#=42)",
            "T.DecSign;Target:0;0&1;53474e3a;0(>>4#d3#<0)",
            "T.HexBad;Target:0;0&1;4241443a;0(>>4#hl4#=0x34)",
            "T.HexBadBig;Target:0;0&1;4241443a;0(>>4#hb4#=0x12)",
        ];
        foreach (string h in hand)
        {
            Line(h.Replace(";Target:0;", ";" + Pcre + ";", StringComparison.Ordinal));
        }

        byte[] a = new byte[200];
        Array.Fill(a, (byte)'.');
        Put(a, 0, "AAAA");
        Put(a, 10, "clamav");
        Put(a, 40, "clamav..");
        Put(a, 70, "CLAMAV");
        Put(a, 100, "aaaaa\nline2\nline");
        Put(a, 120, "x/y;z");
        a[130] = 0xE9;
        a[131] = 0xC9;
        a[132] = 0xC9;
        a[133] = 0x85;
        a[134] = 0xC9;
        a[135] = 0xE9;
        a[150] = (byte)'K';
        Put(a, 151, "EY1");
        a[154] = 0x05;
        a[170] = (byte)'K';
        Put(a, 171, "EY1");
        a[174] = 0x50;
        a[175] = 0xFF;
        a[176] = 0xFF;
        a[177] = 0xFF;
        a[178] = 0xFF;
        a[179] = 0xFF;
        a[180] = 0xFF;
        a[181] = 0xFF;
        Files.Add(Write(dataDir, "a.bin", a));
        byte[] b = (byte[])a.Clone();
        Put(b, 112, "line2");
        b[^1] = (byte)'\n';
        Put(b, 194, "line2");
        Files.Add(Write(dataDir, "b.bin", b));
        Files.Add(Write(dataDir, "mz.bin", [.. "MZ"u8, .. a]));
        byte[] c = new byte[200];
        Array.Fill(c, (byte)'.');
        Put(c, 0, "NUM:1234 HEX:0x1f HXL:3412 DEC:12x PAD:  42 SGN:-12 BAD:12g4");
        Files.Add(Write(dataDir, "c.bin", c));
    }

    private static void Put(byte[] d, int at, string s) => Encoding.ASCII.GetBytes(s).CopyTo(d, at);

    private static string Write(string dir, string name, byte[] data)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllBytes(path, data);
        return path;
    }

    private byte[] Token()
    {
        byte[] t = new byte[_rng.Next(4, 7)];
        _rng.NextBytes(t);
        t[0] = (byte)_rng.Next(0x80, 0x100);
        return t;
    }

    private void AddRandomPcre(string name)
    {
        byte[] anchor = Token();
        string word = s_words[_rng.Next(s_words.Length)];
        (string pattern, Func<Random, string> instance) = _rng.Next(8) switch
        {
            0 => ($"{word}", (Func<Random, string>)(r => word)),
            1 => ($"{word}\\d+", r => word + r.Next(0, 999).ToString(CultureInfo.InvariantCulture)),
            2 => ($"{word}.{{0,5}}end", r => word + new string('x', r.Next(0, 8)) + "end"),
            3 => ($"(foo|bar){word}", r => (r.Next(2) == 0 ? "foo" : "bar") + word),
            4 => ($"\\b{word}\\b", r => (r.Next(2) == 0 ? " " : "_") + word + " "),
            5 => ($"{word}\\s+[a-f]+", r => word + new string(' ', r.Next(0, 3)) + "cafe"),
            6 => ($"[[:alpha:]]{{3}}{word}", r => "Zq" + (r.Next(2) == 0 ? "x" : "1") + word),
            _ => ($"{word}\\xe9+", r => word + "\u00e9\u00e9"),
        };
        string flags = string.Concat("gi".Where(_ => _rng.Next(3) == 0));
        string offset = _rng.Next(5) switch
        {
            0 => string.Empty,
            1 => $"{_rng.Next(0, 400)}:",
            2 => $"{_rng.Next(0, 400)},{_rng.Next(1, 600)}:",
            3 => $"EOF-{_rng.Next(10, 400)}:",
            _ => $"{_rng.Next(0, 400)}:",
        };
        if (offset.Length > 0 && _rng.Next(2) == 0)
        {
            flags += _rng.Next(2) == 0 ? "r" : "e";
        }

        string expression = _rng.Next(4) switch
        {
            0 => "0&1>1",
            1 => "0&1=1",
            _ => "0&1",
        };
        Line($"{name};{Pcre};{expression};{Convert.ToHexStringLower(anchor)};{offset}0/{pattern}/{flags}");
        _plants.Add(r => anchor);
        _plants.Add(r => Encoding.Latin1.GetBytes(instance(r)));
    }

    private void AddRandomByteCompare(string name)
    {
        byte[] anchor = Token();
        int size = new[] { 1, 2, 4, 8 }[_rng.Next(4)];
        bool little = _rng.Next(2) == 0;
        int shift = _rng.Next(-8, 16);
        string offset = shift < 0 ? $"<<{-shift}" : $">>{shift}";
        long limit = _rng.Next(0, 1 << Math.Min(16, size * 8));
        string comparison = _rng.Next(4) switch
        {
            0 => $"<{limit}",
            1 => $">{limit}",
            2 => $">0x{limit / 2:x},<0x{limit + 1000:x}",
            _ => $"={limit}",
        };
        Line($"{name};{Pcre};0&1;{Convert.ToHexStringLower(anchor)};0({offset}#i{(little ? 'l' : 'b')}{size}#{comparison})");
        _plants.Add(r =>
        {
            // The anchor with room around it; sometimes the compared number is exactly the limit.
            byte[] block = new byte[anchor.Length + 32];
            r.NextBytes(block);
            block[0] = 0x20;
            anchor.CopyTo(block, 8);
            if (r.Next(2) == 0 && shift >= -8 && 8 + shift + size <= block.Length)
            {
                Span<byte> at = block.AsSpan(8 + shift, size);
                at.Clear();
                for (int k = 0; k < Math.Min(size, 2); k++)
                {
                    // The limit's low bytes, in the signature's byte order.
                    at[little ? k : size - 1 - k] = (byte)(limit >> (8 * k));
                }
            }

            return block;
        });
    }

    /// <summary>A number written as text after an anchor: decimal or hex, padded, prefixed, signed or cut short.</summary>
    private void AddRandomTextCompare(string name)
    {
        byte[] anchor = Token();
        char type = "hda"[_rng.Next(3)];
        string endian = type == 'd' ? (_rng.Next(2) == 0 ? "b" : string.Empty) : _rng.Next(5) == 0 ? string.Empty : _rng.Next(2) == 0 ? "l" : "b";
        string exact = _rng.Next(3) == 0 ? "e" : string.Empty;
        int length = _rng.Next(1, 9);
        long limit = _rng.Next(0, 5000);
        string comparison = _rng.Next(3) switch
        {
            0 => $"<{limit}",
            1 => $">{limit}",
            _ => $"={limit}",
        };
        Line($"{name};{Pcre};0&1;{Convert.ToHexStringLower(anchor)};0(>>{anchor.Length}#{type}{endian}{exact}{length}#{comparison})");
        _plants.Add(r =>
        {
            long v = r.Next(3) == 0 ? limit : r.Next(0, 5000);
            string text = r.Next(6) switch
            {
                0 => v.ToString(CultureInfo.InvariantCulture),
                1 => v.ToString("x", CultureInfo.InvariantCulture),
                2 => "0x" + v.ToString("X", CultureInfo.InvariantCulture),
                3 => new string(' ', r.Next(1, 3)) + v.ToString(CultureInfo.InvariantCulture),
                4 => "-" + v.ToString(CultureInfo.InvariantCulture),
                _ => v.ToString("x4", CultureInfo.InvariantCulture) + "zz",
            };
            return [.. anchor, .. Encoding.ASCII.GetBytes(text), .. "|q"u8];
        });
    }

    private byte[] BuildFile()
    {
        var data = new List<byte>();
        int length = _rng.Next(600, 3000);
        while (data.Count < length)
        {
            int choice = _rng.Next(10);
            if (choice < 5 && _plants.Count > 0)
            {
                data.AddRange(_plants[_rng.Next(_plants.Count)](_rng));
            }
            else
            {
                // Printable filler with spaces and newlines, so that words, \s and ^/$ have something to find.
                int n = _rng.Next(1, 40);
                for (int i = 0; i < n; i++)
                {
                    data.Add((byte)(_rng.Next(6) == 0 ? ' ' : _rng.Next(20) == 0 ? '\n' : 'a' + _rng.Next(26)));
                }
            }
        }

        return [.. data];
    }
}
