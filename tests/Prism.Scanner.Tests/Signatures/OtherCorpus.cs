using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Prism.Testing;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// Seeded files for clamscan's second scan of binary data as type OTHER (target type 14) and its internal type
/// (target 13): binary data (also one whose only non-text bytes end the 1024-byte typing window, and a short one),
/// the MPEG stream magic on text, compiled Python by magic and by its content rule (and that rule followed by a
/// self-extractor's, which leaves the file text), tar headers with a right and a wrong checksum, ClamAV's internal JSON,
/// and decoys typed otherwise: ASCII and UTF-16 text, a file whose non-text bytes lie past the typing window, PE and
/// PDF. Each file gets a payload planted once or twice and a second one near its end; the database signs them under
/// target types 0, 13 and 14 in every offset form (any, exact, range, EOF-n, wildcards, jumps, alternatives) with
/// off-by-one near misses, and as logical signatures (counts, FileSize, PCRE, byte compare) and an MD5. Which file
/// matches what is for clamscan to say.
/// </summary>
internal sealed class OtherCorpus : ISignatureCorpus
{
    private const int PayloadLength = 24;

    private readonly Random _rng;
    private readonly StringBuilder _ndb = new();
    private readonly StringBuilder _ldb = new();
    private readonly StringBuilder _hdb = new();

    private OtherCorpus(int seed) => _rng = new Random(seed);

    public string DatabaseDirectory { get; private set; } = string.Empty;

    public List<string> Files { get; } = [];

    public static OtherCorpus Create(TempDir dir, int seed)
    {
        var corpus = new OtherCorpus(seed);
        string dbDir = Directory.CreateDirectory(Path.Combine(dir.Path, $"other-db-{seed}")).FullName;
        string dataDir = Directory.CreateDirectory(Path.Combine(dir.Path, $"other-files-{seed}")).FullName;
        foreach (string kind in new[]
        {
            "bin", "binagain", "binshort", "binedge", "binlate", "mpeg", "pycmagic", "pyc27", "pycrule", "pycsfx", "tarok",
            "tarbad", "internal", "text", "utf16", "pe", "pdf", "binhtmlsfx", "pycpdf", "binpdf", "sfxpdf",
        })
        {
            corpus.AddFile(dataDir, $"O{seed}{kind}", kind);
        }

        File.WriteAllText(Path.Combine(dbDir, "other.ndb"), corpus._ndb.ToString());
        File.WriteAllText(Path.Combine(dbDir, "other.ldb"), corpus._ldb.ToString());
        File.WriteAllText(Path.Combine(dbDir, "other.hdb"), corpus._hdb.ToString());
        corpus.DatabaseDirectory = dbDir;
        return corpus;
    }

    private void AddFile(string dataDir, string id, string kind)
    {
        bool text = kind is "binedge" or "binlate" or "mpeg" or "pycrule" or "pycsfx" or "internal" or "text" or "pycpdf";
        byte[] p = Payload(text);
        byte[] q = Payload(text);
        byte[] file = Body(kind, text);
        int start = kind switch
        {
            "pe" => 0x400,
            "tarok" or "tarbad" or "binedge" or "binlate" or "binhtmlsfx" or "pycpdf" or "binpdf" or "sfxpdf" => 1024,
            "pdf" or "internal" or "pycsfx" => 64,
            _ => 16,
        };
        int pos = start + _rng.Next(Math.Max(1, (file.Length / 2) - start - PayloadLength));
        p.CopyTo(file, pos);
        int last = pos;
        if (kind is "binagain" or "pycmagic" or "text" || _rng.Next(3) == 0)
        {
            last = (file.Length / 2) + _rng.Next((file.Length / 2) - (3 * PayloadLength));
            p.CopyTo(file, last);
        }

        int fromEnd = PayloadLength + _rng.Next(8);
        q.CopyTo(file, file.Length - fromEnd);
        if (kind is "tarok" or "tarbad")
        {
            WriteTarChecksum(file, kind == "tarbad");
        }

        string path = Path.Combine(dataDir, id + ".bin");
        File.WriteAllBytes(path, file);
        Files.Add(path);
        Sign(id, file, p, q, pos, last, fromEnd);
    }

    /// <summary>The file without its payloads, shaped for its kind.</summary>
    private byte[] Body(string kind, bool text)
    {
        int length = kind == "binshort" ? 200 + _rng.Next(100) : 3000 + _rng.Next(3000);
        byte[] file = text ? TextBytes(length) : RandomBytes(length);
        switch (kind)
        {
            case "bin" or "binagain" or "binshort":
                // A 0000 unit from the third byte on: neither ASCII, UTF-8 nor UTF-16 text.
                file[2] = file[3] = 0;
                break;
            case "binedge":
                file[1022] = file[1023] = 0;
                break;
            case "binlate":
                file[1100] = file[1101] = file[1102] = 0;
                break;
            case "mpeg":
                file[0] = 0x00;
                file[1] = 0x00;
                file[2] = 0x01;
                file[3] = _rng.Next(2) == 0 ? (byte)0xB3 : (byte)0xBA;
                break;
            case "pycmagic":
                string[] magics = ["330d0d0a", "3f0d0d0a", "550d0d0a", "f00d0d0a"];
                Convert.FromHexString(magics[_rng.Next(magics.Length)]).CopyTo(file, 0);
                break;
            case "pyc27":
                Convert.FromHexString("03f30d0a").CopyTo(file, 0);
                break;
            case "pycrule" or "pycsfx":
                "Z\r\r\n"u8.CopyTo(file);
                if (kind == "pycsfx")
                {
                    // A ZIP self-extractor's rule after the Python one: clamscan keeps the text type.
                    "PK\x03\x04"u8.CopyTo(file.AsSpan(20 + _rng.Next(30)));
                }

                break;
            case "tarok" or "tarbad":
                // An empty member, then an end-of-archive block: clamscan extracts nothing from it.
                file.AsSpan(0, 1024).Clear();
                "readme.txt"u8.CopyTo(file);
                "0000644\0"u8.CopyTo(file.AsSpan(100));
                "00000000000\0"u8.CopyTo(file.AsSpan(124));
                break;
            case "internal":
                "{\n  \"Magic\":\"CLAMJSONv0\", \"x\": \""u8.CopyTo(file);
                break;
            case "utf16":
                for (int i = 0; i < file.Length; i++)
                {
                    file[i] |= 0x80;
                }

                break;
            case "pe":
                byte[] pe = new PeBuilder
                {
                    EntryRva = 0x1000,
                    Sections = [new PeSectionSpec(".text", 0x1000, (uint)(file.Length - 0x400), 0x400, (uint)(file.Length - 0x400))],
                    FileLength = file.Length,
                }.Build();
                pe.AsSpan(0, 0x400).CopyTo(file);
                break;
            case "pdf":
                "%PDF-1.4\n"u8.CopyTo(file);
                break;
            case "binhtmlsfx":
                // An HTML tag rule and a ZIP self-extractor's, in either order: clamscan keeps binary data.
                file[2] = file[3] = 0;
                int html = 100 + _rng.Next(600);
                "<html>"u8.CopyTo(file.AsSpan(html));
                "PK\x03\x04"u8.CopyTo(file.AsSpan(html < 400 ? 700 + _rng.Next(300) : 20 + _rng.Next(60)));
                break;
            case "pycpdf":
                // The Python rule ranks above the PDF one.
                "Z\r\r\n"u8.CopyTo(file);
                "%PDF-1.4"u8.CopyTo(file.AsSpan(200 + _rng.Next(600)));
                break;
            case "binpdf" or "sfxpdf":
                file[2] = file[3] = 0;
                "%PDF-1.4"u8.CopyTo(file.AsSpan(300 + _rng.Next(300)));
                if (kind == "sfxpdf")
                {
                    "Rar!\x1A\x07\x00"u8.CopyTo(file.AsSpan(_rng.Next(2) == 0 ? 100 : 700));
                }

                break;
        }

        return file;
    }

    /// <summary>The signatures of one file's payloads (p at <paramref name="pos"/>, and last at <paramref name="last"/>; q ending <paramref name="fromEnd"/> bytes before the end minus its length).</summary>
    private void Sign(string id, byte[] file, byte[] p, byte[] q, int pos, int last, int fromEnd)
    {
        string ph = Convert.ToHexStringLower(p);
        string qh = Convert.ToHexStringLower(q);
        foreach (int t in new[] { 0, 10, 13, 14 })
        {
            _ndb.Append(CultureInfo.InvariantCulture, $"{id}.N{t}:{t}:*:{ph}\n");
        }

        _ndb.Append(CultureInfo.InvariantCulture, $"{id}.At14:14:{pos}:{ph}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"{id}.AtMiss14:14:{pos + 1}:{ph}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"{id}.Range14:14:{pos - 3},3:{ph}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"{id}.RangeMiss14:14:{pos - 3},2:{ph}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"{id}.Eof14:14:EOF-{fromEnd}:{qh}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"{id}.EofMiss14:14:EOF-{fromEnd - 1}:{qh}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"{id}.EofRange14:14:EOF-{fromEnd + 2},4:{qh}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"{id}.Eof0:0:EOF-{fromEnd}:{qh}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"{id}.Eof13:13:EOF-{fromEnd}:{qh}\n");

        // Wildcards, a variable jump, '*' and an alternative over the payload; the near miss changes its last byte.
        string wild = $"{ph[..6]}??{ph[8..12]}{{1-3}}{ph[16..20]}*{ph[24..40]}({ph[40..42]}|{(p[20] ^ 0xFF):x2}){ph[42..]}";
        _ndb.Append(CultureInfo.InvariantCulture, $"{id}.Wild14:14:*:{wild}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"{id}.WildMiss14:14:*:{wild[..^2]}{(p[^1] ^ 0x01):x2}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"{id}.Pair14:14:*:{ph[..16]}*{qh[..16]}\n");
        _ndb.Append(CultureInfo.InvariantCulture, $"{id}.PairMiss14:14:*:{qh[..16]}*{ph[..16]}\n");

        int size = file.Length;
        Ldb($"{id}.L14", "51", "", $"0&1;{ph};{qh}");
        Ldb($"{id}.L0", "51", "", $"0&1;{ph};{qh}", target: 0);
        Ldb($"{id}.L13", "51", "", $"0&1;{ph};{qh}", target: 13);
        Ldb($"{id}.L14Twice", "51", "", $"0>1;{ph}");
        Ldb($"{id}.L14Once", "51", "", $"0=1;{ph}");
        Ldb($"{id}.L14Range", "51", "", $"(0|1)>1,2;{ph};{qh}");
        Ldb($"{id}.L14Size", "51", $",FileSize:{size}-{size}", $"0;{ph}");
        Ldb($"{id}.L14SizeMiss", "51", $",FileSize:{size + 1}-{size + 10}", $"0;{ph}");
        byte[] lower = [.. p.Select(b => b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b)];
        Ldb($"{id}.L14Nocase", "51", "", $"0;{Convert.ToHexStringLower(lower)}::i");
        string regex = string.Concat(q.Take(6).Select(b => $"\\x{b:x2}"));
        Ldb($"{id}.L14Pcre", "81", "", $"0&1;{ph};0/{regex}/");
        Ldb($"{id}.L14PcreAt", "81", "", $"0&1;{ph};{size - fromEnd}:0/{regex}/");
        Ldb($"{id}.L14PcreMiss", "81", "", $"0&1;{ph};{size - fromEnd + 1}:0/{regex}/");
        int value = (file[last + PayloadLength] << 8) | file[last + PayloadLength + 1];
        Ldb($"{id}.L14Bc", "81", "", $"0&1;{ph};0(>>{PayloadLength}#ib2#={value})");
        Ldb($"{id}.L0Bc", "81", "", $"0&1;{ph};0(>>{PayloadLength}#ib2#={value})", target: 0);
        Ldb($"{id}.L14BcMiss", "81", "", $"0&1;{ph};0(>>{PayloadLength}#ib2#={value + 1})");

        if (id.EndsWith("bin", StringComparison.Ordinal))
        {
            // clamscan's second scan hashes the file again and reports the name twice; Prism reports it once.
#pragma warning disable CA5351 // ClamAV hdb signatures are MD5.
            _hdb.Append(CultureInfo.InvariantCulture, $"{Convert.ToHexStringLower(MD5.HashData(file))}:{size}:{id}.Md5\n");
#pragma warning restore CA5351
        }
    }

    private void Ldb(string name, string engine, string block, string rest, int target = 14) =>
        _ldb.Append(CultureInfo.InvariantCulture, $"{name};Engine:{engine}-255,Target:{target}{block};{rest}\n");

    /// <summary>A random payload; for text kinds, of letters and digits (neither text typing nor normalisation can break it).</summary>
    private byte[] Payload(bool text)
    {
        const string Alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
        return text ? [.. Enumerable.Range(0, PayloadLength).Select(_ => (byte)Alphabet[_rng.Next(Alphabet.Length)])] : RandomBytes(PayloadLength);
    }

    private byte[] RandomBytes(int length)
    {
        byte[] b = new byte[length];
        _rng.NextBytes(b);
        return b;
    }

    /// <summary>Lower-case words and line breaks: ASCII text with no HTML, mail or other content rule.</summary>
    private byte[] TextBytes(int length)
    {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++)
        {
            int r = _rng.Next(30);
            b[i] = r < 26 ? (byte)('a' + r) : r < 29 ? (byte)' ' : (byte)'\n';
        }

        return b;
    }

    /// <summary>Writes the tar header checksum of the first 512 bytes (octal, NUL and space terminated), or one off.</summary>
    private static void WriteTarChecksum(byte[] file, bool wrong)
    {
        "        "u8.CopyTo(file.AsSpan(148));
        int sum = 0;
        for (int i = 0; i < 512; i++)
        {
            sum += file[i];
        }

        Encoding.ASCII.GetBytes(Convert.ToString(sum + (wrong ? 1 : 0), 8).PadLeft(6, '0') + "\0 ").CopyTo(file, 148);
    }
}
