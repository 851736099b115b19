using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Prism.Testing;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// Seeded PE files built by <see cref="PeBuilder"/> (PE32 and PE32+, 1-4 sections, entry point in a section or in
/// the headers, unaligned raw sizes truncated at the end of the file, an unusual file alignment that triggers
/// ClamAV's 512-byte fallback, a section past the end, and broken headers), non-"MZ" copies as decoys, and a database
/// written next to them: .ndb target 1 signatures at EP±n, Sx+n, SL+n, SEx (hits, off-by-one near misses, floating
/// offsets, absent sections), target 0 EOF-n and "*" signatures, and .mdb/.msb section hashes in MD5, SHA-1 and
/// SHA-256 with exact, wrong and "*" sizes. Which file matches what is for clamscan to say, not this class.
/// </summary>
internal sealed class PeCorpus : ISignatureCorpus
{
    private readonly Random _rng;
    private readonly StringBuilder _ndb = new();
    private readonly StringBuilder _mdb = new();
    private readonly StringBuilder _msb = new();
    private readonly StringBuilder _ldb = new();

    private PeCorpus(int seed) => _rng = new Random(seed);

    public string DatabaseDirectory { get; private set; } = string.Empty;

    public List<string> Files { get; } = [];

    private enum Variant
    {
        Plain,
        Plus,
        Unaligned,
        OddFileAlignment,
        EntryInHeaders,
        SectionPastEnd,
        NoSections,
        EntryUnmapped,
        LfanewPastEnd,
        MutatedHeaders,
        MutatedSections,
    }

    public static PeCorpus Create(TempDir dir, int seed, int fileCount)
    {
        var corpus = new PeCorpus(seed);
        string dbDir = Directory.CreateDirectory(Path.Combine(dir.Path, "pe-db")).FullName;
        string dataDir = Directory.CreateDirectory(Path.Combine(dir.Path, "pe-files")).FullName;
        Variant[] variants = Enum.GetValues<Variant>();
        for (int f = 0; f < fileCount; f++)
        {
            Variant variant = variants[f % variants.Length];
            byte[] file = corpus.BuildFile($"Pe{seed}x{f}", variant);
            string path = Path.Combine(dataDir, $"pe{f:D2}-{variant}.exe");
            File.WriteAllBytes(path, file);
            corpus.Files.Add(path);
            if (f % 3 == 0)
            {
                // Same bytes without the "MZ" magic: target 1 and section hashes must not apply.
                byte[] decoy = (byte[])file.Clone();
                decoy[0] = (byte)'N';
                string decoyPath = Path.Combine(dataDir, $"pe{f:D2}-{variant}-nomz.bin");
                File.WriteAllBytes(decoyPath, decoy);
                corpus.Files.Add(decoyPath);
            }
        }

        File.WriteAllText(Path.Combine(dbDir, "pe.ndb"), corpus._ndb.ToString());
        File.WriteAllText(Path.Combine(dbDir, "pe.mdb"), corpus._mdb.ToString());
        File.WriteAllText(Path.Combine(dbDir, "pe.msb"), corpus._msb.ToString());
        File.WriteAllText(Path.Combine(dbDir, "pe.ldb"), corpus._ldb.ToString());
        corpus.DatabaseDirectory = dbDir;
        return corpus;
    }

    private static uint AlignUp(uint v, uint a) => (v + a - 1) / a * a;

    private byte[] BuildFile(string prefix, Variant variant)
    {
        int count = _rng.Next(1, 5);
        uint fileAlign = variant == Variant.OddFileAlignment ? 0x1000u : 0x200u;
        var sections = new List<PeSectionSpec>();
        uint raw = 0x400, va = 0x1000;
        for (int i = 0; i < count; i++)
        {
            uint size = (uint)_rng.Next(1, 7) * 0x200;
            if (variant == Variant.Unaligned || (variant == Variant.OddFileAlignment && i == count - 1))
            {
                size -= (uint)_rng.Next(1, 0x100);
            }

            uint virtualSize = size + (uint)_rng.Next(0, 0x300);
            sections.Add(new PeSectionSpec($".s{i}", va, virtualSize, raw, size));
            raw += AlignUp(size, 0x200);
            va += AlignUp(Math.Max(size, virtualSize), 0x1000);
        }

        // Unaligned sizes end the file exactly at the data's end so ClamAV's aligned size is truncated.
        int overlay = variant is Variant.Unaligned or Variant.OddFileAlignment ? 0 : _rng.Next(0, 700);
        PeSectionSpec last = sections[^1];
        int length = (int)(last.RawPointer + last.RawSize) + overlay;
        if (variant == Variant.SectionPastEnd)
        {
            sections.Add(new PeSectionSpec(".gone", va, 0x1000, (uint)AlignUp((uint)length + 0x400, 0x200), 0x400));
        }

        int entrySection = _rng.Next(count);
        uint entryOffset = (uint)_rng.Next(0x20, (int)sections[entrySection].RawSize - 0x20);
        uint entryRva = variant switch
        {
            Variant.EntryInHeaders => 0x300,
            Variant.EntryUnmapped => 0x7000_0000,
            _ => sections[entrySection].VirtualAddress + entryOffset,
        };
        long entryFileOffset = variant == Variant.EntryInHeaders ? 0x300 : sections[entrySection].RawPointer + entryOffset;

        var builder = new PeBuilder
        {
            Pe32Plus = variant == Variant.Plus,
            FileAlignment = fileAlign,
            EntryRva = entryRva,
            Sections = sections,
            FileLength = length,
            SectionCountOverride = variant == Variant.NoSections ? (ushort)0 : null,
            Lfanew = variant == Variant.LfanewPastEnd ? (uint)length + 0x100 : 0x80,
        };
        byte[] file = builder.Build();
        if (variant == Variant.LfanewPastEnd)
        {
            // Build wrote the headers at the bogus e_lfanew; cut the file back to the data (the pointer stays).
            Array.Resize(ref file, length);
        }

        // Everything past the headers is random (for a bogus e_lfanew: everything past the pointer to it).
        int headersEnd = variant == Variant.LfanewPastEnd ? 0x40 : builder.HeadersEnd;
        _rng.NextBytes(file.AsSpan(headersEnd));
        var used = new List<(long Start, long End)> { (0, headersEnd) };
        byte[]? Plant(long at, int tokenLength = 10)
        {
            if (at < 0 || at + tokenLength > file.Length || used.Any(u => at < u.End + 2 && u.Start < at + tokenLength + 2))
            {
                return null;
            }

            byte[] token = new byte[tokenLength];
            _rng.NextBytes(token);
            token[0] = 0xE9; // never "MZ"
            token.CopyTo(file, at);
            used.Add((at, at + tokenLength));
            return token;
        }

        void Ndb(string name, int target, string offset, byte[]? token)
        {
            if (token is not null)
            {
                _ndb.Append(CultureInfo.InvariantCulture, $"{prefix}.{name}:{target}:{offset}:{Convert.ToHexStringLower(token)}\n");
            }
        }

        // Entry point: exact, one past, floating, and before it.
        int k = _rng.Next(0, 16);
        byte[]? ep = Plant(entryFileOffset + k);
        Ndb("EpHit", 1, $"EP+{k}", ep);
        Ndb("EpOffByOne", 1, $"EP+{k + 1}", ep);
        if (k >= 2)
        {
            Ndb("EpFloat", 1, $"EP+{k - 2},3", ep);
        }

        int back = _rng.Next(12, 40);
        byte[]? before = Plant(entryFileOffset - back);
        Ndb("EpMinus", 1, $"EP-{back}", before);
        Ndb("EpMinusMiss", 1, $"EP-{back - 1}", before);

        // Sections: start of each, last, whole.
        for (int i = 0; i < sections.Count; i++)
        {
            int n = _rng.Next(0, 64);
            byte[]? at = Plant(sections[i].RawPointer + n);
            if (i == 0 && ep is not null && at is not null)
            {
                // Logical signatures on the same bytes: target 1 with EntryPoint and NumberOfSections ranges that hold or miss.
                string subs = $"EP+{k}:{Convert.ToHexStringLower(ep)};S0+{n}:{Convert.ToHexStringLower(at)}";
                long e = entryFileOffset;
                int c = sections.Count;
                _ldb.Append(CultureInfo.InvariantCulture, $"{prefix}.LdbPe;Engine:51-255,Target:1,EntryPoint:{e - 3}-{e + 3},NumberOfSections:{c}-{c + 1};0&1;{subs}\n");
                _ldb.Append(CultureInfo.InvariantCulture, $"{prefix}.LdbEpMiss;Engine:51-255,Target:1,EntryPoint:{e + 1}-{e + 100};0&1;{subs}\n");
                _ldb.Append(CultureInfo.InvariantCulture, $"{prefix}.LdbSectionsMiss;Engine:51-255,Target:1,NumberOfSections:{c + 1}-{c + 9};0|1;{subs}\n");
                _ldb.Append(CultureInfo.InvariantCulture, $"{prefix}.LdbAny;Target:1;(0|1)>1;{subs}\n");
                _ldb.Append(CultureInfo.InvariantCulture, $"{prefix}.LdbRaw;Target:0;0&1;{Convert.ToHexStringLower(ep)};{Convert.ToHexStringLower(at)}\n");

                // PCRE subsignatures anchored at the entry point and a section, and a byte compare reading from the
                // entry-point subsignature's match.
                string epPcre = $"\\x{ep[0]:x2}\\x{ep[1]:x2}";
                string atPcre = $"\\x{at[0]:x2}\\x{at[1]:x2}";
                _ldb.Append(CultureInfo.InvariantCulture, $"{prefix}.LdbPcreEp;Engine:81-255,Target:1;0&1&2;{subs};EP+{k}:0&1/{epPcre}/\n");
                _ldb.Append(CultureInfo.InvariantCulture, $"{prefix}.LdbPcreEpMiss;Engine:81-255,Target:1;0&1&2;{subs};EP+{k + 1}:0&1/{epPcre}/\n");
                _ldb.Append(CultureInfo.InvariantCulture, $"{prefix}.LdbPcreSection;Engine:81-255,Target:1;2;{subs};S0+{n}:0/{atPcre}/\n");
                _ldb.Append(CultureInfo.InvariantCulture, $"{prefix}.LdbPcreEof;Engine:81-255,Target:1;2;{subs};EOF-1:0/[\\x00-\\xff]/\n");
                _ldb.Append(CultureInfo.InvariantCulture, $"{prefix}.LdbByteCompare;Engine:81-255,Target:1;0&2;{subs};0(>>1#ib1#=0x{ep[1]:x2})\n");
            }

            Ndb($"S{i}Hit", 1, $"S{i}+{n}", at);
            Ndb($"S{i}Miss", 1, $"S{i}+{n + 1}", at);
            Ndb($"S{i}Absent", 1, $"S{sections.Count + i}+{n}", at);
            if (i == sections.Count - 1)
            {
                Ndb("SlHit", 1, $"SL+{n}", at);
            }

            byte[]? inside = Plant(sections[i].RawPointer + _rng.Next(64, (int)Math.Max(65, sections[i].RawSize - 12)));
            Ndb($"Se{i}Hit", 1, $"SE{i}", inside);
            Ndb($"Se{i}Other", 1, $"SE{(i + 1) % (sections.Count + 1)}", inside);
        }

        // PE-only anywhere, any-file anywhere, and EOF-relative on target 0 (void when the PE headers are broken).
        byte[]? anywhere = Plant(_rng.Next(headersEnd, file.Length - 12));
        Ndb("PeAny", 1, "*", anywhere);
        Ndb("RawAny", 0, "*", anywhere);
        int fromEnd = _rng.Next(10, 300);
        Ndb("Eof", 0, $"EOF-{fromEnd}", Plant(file.Length - fromEnd));

        // Section hashes over ClamAV's view of each section: aligned offset and size, truncated at the end of the file.
        for (int i = 0; i < sections.Count; i++)
        {
            PeSectionSpec s = sections[i];
            long start = s.RawPointer / 0x200 * 0x200;
            if (start >= file.Length)
            {
                continue;
            }

            long size = Math.Min(AlignUp(s.RawSize, 0x200), file.Length - start);
            int kind = _rng.Next(3);
            string name = kind switch { 0 => "Md5", 1 => "Sha1", _ => "Sha256" };
            string Hash(long from, long count)
            {
                ReadOnlySpan<byte> data = file.AsSpan((int)from, (int)count);
#pragma warning disable CA5350, CA5351 // the hashes ClamAV's section signatures use
                return kind switch
                {
                    0 => Convert.ToHexStringLower(MD5.HashData(data)),
                    1 => Convert.ToHexStringLower(SHA1.HashData(data)),
                    _ => Convert.ToHexStringLower(SHA256.HashData(data)),
                };
#pragma warning restore CA5350, CA5351
            }

            StringBuilder target = (kind == 0) ^ (_rng.Next(4) == 0) ? _mdb : _msb;
            string hash = Hash(start, size);
            target.Append(CultureInfo.InvariantCulture, $"{size}:{hash}:{prefix}.{name}S{i}\n");
            target.Append(CultureInfo.InvariantCulture, $"{size + 0x200}:{hash}:{prefix}.{name}S{i}WrongSize\n");
            if (_rng.Next(3) == 0)
            {
                target.Append(CultureInfo.InvariantCulture, $"*:{hash}:{prefix}.{name}S{i}AnySize:73\n");
            }

            if (s.RawSize != size && s.RawPointer + s.RawSize <= file.Length)
            {
                // The header's own size is not what ClamAV hashes.
                target.Append(CultureInfo.InvariantCulture, $"{s.RawSize}:{Hash(s.RawPointer, s.RawSize)}:{prefix}.{name}S{i}Unaligned\n");
            }
        }

        if (variant is Variant.MutatedHeaders or Variant.MutatedSections)
        {
            Mutate(file, builder, variant == Variant.MutatedSections);
        }

        return file;
    }

    /// <summary>
    /// Overwrites one to three header fields with edge values (zero or odd alignments, sizes of headers, entry points,
    /// data directory counts; section addresses, sizes and offsets moved, unaligned, past the end or with the sign bit),
    /// after the signatures were written for the intact layout: clamscan decides what still matches.
    /// </summary>
    private void Mutate(byte[] file, PeBuilder builder, bool sections)
    {
        int opt = (int)builder.Lfanew + 24;
        int table = opt + builder.OptionalHeaderSize;
        int count = _rng.Next(1, 4);
        for (int m = 0; m < count; m++)
        {
            uint[] values;
            int at;
            if (!sections)
            {
                (at, values) = _rng.Next(5) switch
                {
                    0 => (opt + 32, new uint[] { 0, 0x200, 0x1000, 0x1234, 0x10000 }),
                    1 => (opt + 36, new uint[] { 0, 0x10, 0x200, 0x400, 0x1000, 0x300 }),
                    2 => (opt + 60, new uint[] { 0, 0x200, 0x400, 0x1000, 0x3000, 0x401 }),
                    3 => (opt + 16, new uint[] { 0, 0x100, 0x1000, 0x1001, 0x1FFF, 0x2000, 0x80000000 }),
                    _ => (opt + (builder.Pe32Plus ? 108 : 92), new uint[] { 0, 5, 16, 100 }),
                };
            }
            else
            {
                int section = _rng.Next(builder.Sections.Count);
                int field = _rng.Next(4);
                at = table + (section * 40) + 8 + (field * 4);
                uint current = BitConverter.ToUInt32(file, at);
                values = [0, current + 0x100, current - 0x100, current + 1, current | 0x80000000, (uint)file.Length, (uint)file.Length + 0x200];
            }

            BitConverter.TryWriteBytes(file.AsSpan(at), values[_rng.Next(values.Length)]);
        }
    }
}
