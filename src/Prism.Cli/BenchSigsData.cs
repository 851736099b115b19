using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Prism.Cli;

/// <summary>
/// The seeded data of <c>prism bench sigs</c>: a file set of random binaries, text and PE files, then a ClamAV database
/// shaped like main/daily (mdb section hashes, hdb/hsb file hashes, ndb body and ldb logical signatures) in which some
/// entries are planted to match those files: section and whole-file hashes of chosen files, body patterns and logical
/// subsignatures written into chosen files. Lines are written as bytes through a buffered stream.
/// </summary>
#pragma warning disable CA5351 // MD5 is what ClamAV's hdb and mdb signatures hash with; not a security decision.
internal static class BenchSigsData
{
    private static readonly string[] s_platforms = ["Win", "Unix", "Doc", "Pdf", "Html", "Js", "Andr", "Osx", "Xls", "Email"];
    private static readonly string[] s_categories = ["Trojan", "Malware", "Downloader", "Worm", "Virus", "Exploit", "Adware", "Dropper", "Packed", "Ransomware"];
    private static readonly string[] s_families =
    [
        "Agent", "Zbot", "Emotet", "Generic", "Kryptik", "Ursnif", "Dridex", "Remcos", "Mirai", "Qakbot", "Tofsee", "Sality", "Ramnit",
        "Virut", "Expiro", "Parite", "Nanocore", "Formbook", "Lokibot", "AgentTesla", "Gafgyt", "Tsunami", "Xmrig", "CoinMiner", "Vobfus",
        "Allaple", "Bladabindi", "Fareit", "Ymacco", "Razy", "Lazy", "Midie", "Doina", "Ulise", "Johnnie", "Zusy", "Barys", "Strictor",
    ];

    private static readonly string[] s_words =
    [
        "the", "of", "and", "report", "invoice", "server", "config", "value", "error", "warning", "user", "system", "update", "file",
        "network", "address", "client", "request", "response", "status", "record", "table", "index", "order", "amount", "date",
    ];

    /// <summary>Database line counts per type (the issue's figures at scale 1).</summary>
    public sealed record Shape(int Mdb, int Hdb, int Hsb, int Ndb, int Ldb)
    {
        public static Shape Scaled(double scale) => new(
            (int)(4_000_000 * scale), (int)(1_000_000 * scale), (int)(300_000 * scale), (int)(100_000 * scale), (int)(30_000 * scale));
    }

    /// <summary>What was planted, for the log.</summary>
    public sealed record Planted(int Sections, int FileHashes, int Bodies, int Logicals);

    /// <summary>Writes the file set (about <paramref name="totalBytes"/>) and the database; returns what was planted.</summary>
    public static Planted Generate(string filesDir, string dbDir, long totalBytes, Shape shape, int seed)
    {
        Directory.CreateDirectory(filesDir);
        Directory.CreateDirectory(dbDir);
        var rng = new Random(seed);
        var sectionHashes = new List<(long Size, byte[] Md5)>();
        var fileHashes = new List<(long Size, byte[] Md5, byte[] Sha256)>();
        var bodies = new List<byte[]>();
        var logicals = new List<(byte[] A, byte[] B)>();
        long written = 0;
        byte[] buffer = new byte[8 << 20];
        for (int i = 0; written < totalBytes; i++)
        {
            int kind = rng.Next(100);
            int length = (int)Math.Max(64 << 10, Math.Min(totalBytes - written, kind < 35 ? rng.Next(64 << 10, 8 << 20) : rng.Next(16 << 10, 4 << 20)));
            Span<byte> file = buffer.AsSpan(0, length);
            string name;
            if (kind < 35)
            {
                name = $"pe-{i:D5}.exe";
                length = WritePe(rng, file, sectionHashes, plant: i % 3 == 0);
                file = file[..length];
            }
            else if (kind < 60)
            {
                name = $"text-{i:D5}.txt";
                WriteText(rng, file);
            }
            else
            {
                name = $"data-{i:D5}.bin";
                rng.NextBytes(file);
            }

            // Plant body patterns and logical subsignatures into some non-PE files (PEs keep their planted section hashes).
            if (kind >= 35 && i % 4 == 0 && length > 8192)
            {
                byte[] pattern = RandomPattern(rng, rng.Next(12, 32));
                pattern.CopyTo(file[rng.Next(0, length - pattern.Length)..]);
                bodies.Add(pattern);
            }

            if (kind >= 35 && i % 5 == 1 && length > 8192)
            {
                byte[] a = RandomPattern(rng, rng.Next(8, 16)), b = RandomPattern(rng, rng.Next(8, 16));
                a.CopyTo(file[rng.Next(0, (length / 2) - a.Length)..]);
                b.CopyTo(file[rng.Next(length / 2, length - b.Length)..]);
                logicals.Add((a, b));
            }

            if (i % 7 == 3)
            {
                fileHashes.Add((length, MD5.HashData(file), SHA256.HashData(file)));
            }

            File.WriteAllBytes(Path.Combine(filesDir, name), file.ToArray());
            written += length;
        }

        WriteDatabase(dbDir, shape, rng, sectionHashes, fileHashes, bodies, logicals);
        return new Planted(sectionHashes.Count, fileHashes.Count, bodies.Count, logicals.Count);
    }

    /// <summary>A PE32 image: headers, 3–5 sections of random data; returns the file length. Planted: one section's (size, MD5).</summary>
    private static int WritePe(Random rng, Span<byte> file, List<(long, byte[])> sections, bool plant)
    {
        int count = rng.Next(3, 6);
        const int headers = 0x400, lfanew = 0x80, optional = 96 + (16 * 8);
        int raw = headers;
        var specs = new (int Pointer, int Size)[count];
        int budget = file.Length - headers;
        for (int s = 0; s < count; s++)
        {
            int size = Math.Max(512, budget / count / 512 * 512);
            specs[s] = (raw, size);
            raw += size;
        }

        file[..raw].Clear();
        rng.NextBytes(file[headers..raw]);
        file[0] = (byte)'M';
        file[1] = (byte)'Z';
        BinaryPrimitives.WriteUInt32LittleEndian(file[0x3C..], lfanew);
        Span<byte> pe = file[lfanew..];
        "PE\0\0"u8.CopyTo(pe);
        BinaryPrimitives.WriteUInt16LittleEndian(pe[4..], 0x14C);
        BinaryPrimitives.WriteUInt16LittleEndian(pe[6..], (ushort)count);
        BinaryPrimitives.WriteUInt16LittleEndian(pe[20..], optional);
        BinaryPrimitives.WriteUInt16LittleEndian(pe[22..], 0x0102);
        Span<byte> opt = pe[24..];
        BinaryPrimitives.WriteUInt16LittleEndian(opt, 0x10B);
        BinaryPrimitives.WriteUInt32LittleEndian(opt[16..], 0x1000);
        BinaryPrimitives.WriteUInt32LittleEndian(opt[28..], 0x400000);
        BinaryPrimitives.WriteUInt32LittleEndian(opt[32..], 0x1000);
        BinaryPrimitives.WriteUInt32LittleEndian(opt[36..], 0x200);
        uint va = 0x1000;
        Span<byte> table = opt[optional..];
        for (int s = 0; s < count; s++)
        {
            Span<byte> h = table.Slice(s * 40, 40);
            Encoding.ASCII.GetBytes($".s{s}", h);
            BinaryPrimitives.WriteUInt32LittleEndian(h[8..], (uint)specs[s].Size);
            BinaryPrimitives.WriteUInt32LittleEndian(h[12..], va);
            BinaryPrimitives.WriteUInt32LittleEndian(h[16..], (uint)specs[s].Size);
            BinaryPrimitives.WriteUInt32LittleEndian(h[20..], (uint)specs[s].Pointer);
            BinaryPrimitives.WriteUInt32LittleEndian(h[36..], 0x60000020);
            va += (uint)((specs[s].Size + 0xFFF) & ~0xFFF);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(opt[56..], va);
        BinaryPrimitives.WriteUInt32LittleEndian(opt[60..], headers);
        BinaryPrimitives.WriteUInt16LittleEndian(opt[68..], 2);
        BinaryPrimitives.WriteUInt32LittleEndian(opt[92..], 16);
        if (plant)
        {
            (int pointer, int size) = specs[rng.Next(count)];
            sections.Add((size, MD5.HashData(file.Slice(pointer, size))));
        }

        return raw;
    }

    private static void WriteText(Random rng, Span<byte> file)
    {
        int pos = 0;
        while (pos < file.Length)
        {
            string word = s_words[rng.Next(s_words.Length)];
            for (int c = 0; c < word.Length && pos < file.Length; c++)
            {
                file[pos++] = (byte)word[c];
            }

            if (pos < file.Length)
            {
                file[pos++] = rng.Next(12) == 0 ? (byte)'\n' : (byte)' ';
            }
        }
    }

    /// <summary>Random bytes without long runs of one value (as real signature bodies).</summary>
    private static byte[] RandomPattern(Random rng, int length)
    {
        byte[] p = new byte[length];
        rng.NextBytes(p);
        return p;
    }

    private static string Name(Random rng, int id) =>
        $"{s_platforms[rng.Next(s_platforms.Length)]}.{s_categories[rng.Next(s_categories.Length)]}.{s_families[rng.Next(s_families.Length)]}-{id}-{rng.Next(3)}";

    private static void WriteDatabase(string dir, Shape shape, Random rng, List<(long Size, byte[] Md5)> sections,
        List<(long Size, byte[] Md5, byte[] Sha256)> files, List<byte[]> bodies, List<(byte[] A, byte[] B)> logicals)
    {
        int id = 1_000_000;
        Span<byte> hash = stackalloc byte[32];
        using (var w = new LineWriter(Path.Combine(dir, "bench.mdb")))
        {
            int planted = 0;
            for (int i = 0; i < shape.Mdb; i++)
            {
                // About one signature in ten shares its predecessor's name (several sections of one sample).
                string name = w.LastName.Length > 0 && rng.Next(10) == 0 ? w.LastName : Name(rng, id++);
                if (planted < sections.Count && i % Math.Max(1, shape.Mdb / (sections.Count + 1)) == 0)
                {
                    (long size, byte[] md5) = sections[planted];
                    w.Line($"{size}:{Convert.ToHexStringLower(md5)}:Prism.Bench.Section-{planted++}-0");
                    continue;
                }

                rng.NextBytes(hash[..16]);
                w.Number(rng.Next(1, 4096) * 512).Char(':').Hex(hash[..16]).Char(':').Name(name).End();
            }
        }

        using (var w = new LineWriter(Path.Combine(dir, "bench.hdb")))
        {
            for (int i = 0; i < shape.Hdb; i++)
            {
                rng.NextBytes(hash[..16]);
                w.Hex(hash[..16]).Char(':').Number(rng.Next(1024, 8 << 20)).Char(':').Name(Name(rng, id++)).End();
            }

            for (int i = 0; i < files.Count; i += 2)
            {
                w.Line($"{Convert.ToHexStringLower(files[i].Md5)}:{files[i].Size}:Prism.Bench.FileMd5-{i}-0");
            }
        }

        using (var w = new LineWriter(Path.Combine(dir, "bench.hsb")))
        {
            for (int i = 0; i < shape.Hsb; i++)
            {
                int bytes = rng.Next(3) == 0 ? 20 : 32;
                rng.NextBytes(hash[..bytes]);
                w.Hex(hash[..bytes]).Char(':').Number(rng.Next(1024, 8 << 20)).Char(':').Name(Name(rng, id++)).End();
            }

            for (int i = 1; i < files.Count; i += 2)
            {
                w.Line($"{Convert.ToHexStringLower(files[i].Sha256)}:{files[i].Size}:Prism.Bench.FileSha256-{i}-0");
            }
        }

        using (var w = new LineWriter(Path.Combine(dir, "bench.ndb")))
        {
            for (int i = 0; i < shape.Ndb; i++)
            {
                w.Line(NdbLine(rng, Name(rng, id++), RandomPattern(rng, rng.Next(10, 40))));
            }

            for (int i = 0; i < bodies.Count; i++)
            {
                w.Line(NdbLine(rng, $"Prism.Bench.Body-{i}-0", bodies[i]));
            }
        }

        using (var w = new LineWriter(Path.Combine(dir, "bench.ldb")))
        {
            for (int i = 0; i < shape.Ldb; i++)
            {
                w.Line(LdbLine(rng, Name(rng, id++), RandomPattern(rng, rng.Next(8, 16)), RandomPattern(rng, rng.Next(8, 16))));
            }

            for (int i = 0; i < logicals.Count; i++)
            {
                w.Line(LdbLine(rng, $"Prism.Bench.Logical-{i}-0", logicals[i].A, logicals[i].B));
            }
        }
    }

    /// <summary>
    /// An ndb line over <paramref name="body"/> in one of the common shapes: plain hex, a "??" or "{n-m}" gap, an
    /// alternative, or two parts joined by "*"; each replaces one byte of the body, which stays in a planted file, so
    /// the pattern still matches it.
    /// </summary>
    private static string NdbLine(Random rng, string name, byte[] body)
    {
        string hex = Convert.ToHexStringLower(body);
        int mid = body.Length / 2 * 2;
        string pattern = rng.Next(10) switch
        {
            0 => hex[..mid] + "??" + hex[(mid + 2)..],
            1 => hex[..mid] + "{1-4}" + hex[(mid + 2)..],
            2 => hex[..mid] + "*" + hex[(mid + 2)..],
            3 => hex[..mid] + "(" + hex[mid..(mid + 2)] + "|00)" + hex[(mid + 2)..],
            _ => hex,
        };
        return $"{name}:0:*:{pattern}";
    }

    private static string LdbLine(Random rng, string name, byte[] a, byte[] b) =>
        $"{name};Engine:51-255,Target:0;{(rng.Next(4) == 0 ? "0|1" : "0&1")};{Convert.ToHexStringLower(a)};{Convert.ToHexStringLower(b)}";

    /// <summary>ASCII lines written as bytes through a 1 MiB buffered stream.</summary>
    private sealed class LineWriter(string path) : IDisposable
    {
        private readonly FileStream _file = new(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        private readonly byte[] _line = new byte[4096];
        private int _used;

        public string LastName { get; private set; } = "";

        public LineWriter Char(char c)
        {
            _line[_used++] = (byte)c;
            return this;
        }

        public LineWriter Number(long value)
        {
            value.TryFormat(_line.AsSpan(_used), out int n, default, System.Globalization.CultureInfo.InvariantCulture);
            _used += n;
            return this;
        }

        public LineWriter Hex(ReadOnlySpan<byte> bytes)
        {
            const string digits = "0123456789abcdef";
            foreach (byte b in bytes)
            {
                _line[_used++] = (byte)digits[b >> 4];
                _line[_used++] = (byte)digits[b & 15];
            }

            return this;
        }

        public LineWriter Name(string name)
        {
            LastName = name;
            _used += Encoding.ASCII.GetBytes(name, _line.AsSpan(_used));
            return this;
        }

        public void Line(string text)
        {
            _used += Encoding.ASCII.GetBytes(text, _line.AsSpan(_used));
            End();
        }

        public void End()
        {
            _line[_used++] = (byte)'\n';
            _file.Write(_line, 0, _used);
            _used = 0;
        }

        public void Dispose() => _file.Dispose();
    }
}
#pragma warning restore CA5351
