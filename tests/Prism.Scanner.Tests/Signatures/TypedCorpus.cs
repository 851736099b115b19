using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Prism.Testing;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// Seeded files of the types ClamAV tells by magic, built here: ELF (32/64-bit, little/big-endian, entry point mapped
/// by the first of overlapping program headers, no entry point, and broken headers), Mach-O (x86 and x86-64, whose
/// entry point ClamAV leaves at 0, PowerPC with an LC_UNIXTHREAD entry, and broken commands), OLE2, graphics, PDF,
/// Flash, Java class and mail starts, plus decoys with the magic one byte off or one byte late. The database written
/// next to them has, per file, the file's planted payloads under every supported target type (0, 1, 2, 4, 5, 6, 9,
/// 10, 11, 12) and, for executables, EP+n, Sx+n, SEx, SL+n and EOF-n hits, off-by-one near misses and logical
/// signatures with Target 6/9 and EntryPoint/NumberOfSections. Which file matches what is for clamscan to say.
/// </summary>
internal sealed class TypedCorpus : ISignatureCorpus
{
    /// <summary>Target types the built-in engine supports; every payload is signed under each.</summary>
    public static readonly int[] Targets = [0, 1, 2, 4, 5, 6, 9, 10, 11, 12];

    private static readonly (string Name, byte[] Magic)[] s_magicFiles =
    [
        ("ole2", [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]),
        ("bmp", "BM"u8.ToArray()),
        ("gif", "GIF89a"u8.ToArray()),
        ("png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
        ("jpeg", [0xFF, 0xD8, 0xFF, 0xE0]),
        ("tiffle", [0x49, 0x49, 0x2A, 0x00]),
        ("tiffbe", "MM\0*"u8.ToArray()),
        ("jp2", [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A]),
        ("pdf", "%PDF-1.7\n"u8.ToArray()),
        ("swf", "FWS"u8.ToArray()),
        ("swfz", "CWS"u8.ToArray()),
        ("swflzma", "ZWS"u8.ToArray()),
        ("java", [0xCA, 0xFE, 0xBA, 0xBE, 0x00, 0x00, 0x00, 0x34]),
        ("unibin", [0xCA, 0xFE, 0xBA, 0xBE, 0x00, 0x00, 0x00, 0x02]),
        ("cafe", [0xCA, 0xFE, 0xBA, 0xBE, 0x00, 0x00, 0x01, 0x34]),
        ("mailfrom", "From someone@example.com Sat Jan  1 00:00:00 2000\n"u8.ToArray()),
        ("mailrecv", "Received: from x by y\n"u8.ToArray()),
        ("mailsubj", "Subject: hello\n"u8.ToArray()),
        ("mailto", "To: a@b\n"u8.ToArray()),
        ("mailxuidl", "X-UIDL: 1\n"u8.ToArray()),
        ("mailqmail", "Hi. This is the qmail-send program\n"u8.ToArray()),
        ("elfmagic", [0x7F, 0x45, 0x4C, 0x46]),
        ("machomagic", [0xFE, 0xED, 0xFA, 0xCE]),
    ];

    private readonly Random _rng;
    private readonly StringBuilder _ndb = new();
    private readonly StringBuilder _ldb = new();

    private TypedCorpus(int seed) => _rng = new Random(seed);

    public enum ExecutableVariant
    {
        Elf32Le,
        Elf64Le,
        Elf32Be,
        Elf64Be,
        ElfOverlappingSegments,
        ElfNoEntry,
        ElfEntryUnmapped,
        ElfBadProgramHeaderSize,
        ElfSectionHeadersPastEnd,
        ElfBadClass,
        MachOX86,
        MachOX64,
        MachOPpc,
        MachOPpcEntryUnmapped,
        MachONoCommands,
    }

    public string DatabaseDirectory { get; private set; } = string.Empty;

    public List<string> Files { get; } = [];

    public static TypedCorpus Create(TempDir dir, int seed)
    {
        var corpus = new TypedCorpus(seed);
        string dbDir = Directory.CreateDirectory(Path.Combine(dir.Path, $"typed-db-{seed}")).FullName;
        string dataDir = Directory.CreateDirectory(Path.Combine(dir.Path, $"typed-files-{seed}")).FullName;
        foreach (ExecutableVariant variant in Enum.GetValues<ExecutableVariant>())
        {
            string id = $"T{seed}{variant}";
            byte[] file = corpus.BuildExecutable(id, variant);
            corpus.Add(dataDir, id, file);
        }

        foreach ((string name, byte[] magic) in s_magicFiles)
        {
            string id = $"T{seed}{name}";
            corpus.Add(dataDir, id, corpus.BuildMagicFile(id, magic, 0));
            if (corpus._rng.Next(3) == 0)
            {
                // The magic one byte late, and with its last byte changed: neither is typed by it.
                corpus.Add(dataDir, id + "late", corpus.BuildMagicFile(id + "late", magic, 1));
                byte[] changed = (byte[])magic.Clone();
                changed[^1] ^= 0x01;
                corpus.Add(dataDir, id + "off", corpus.BuildMagicFile(id + "off", changed, 0));
            }
        }

        // ClamAV also types as PDF a file with no start magic that has "%PDF-x." or "%pdf-x." in its first 1024 bytes.
        corpus.Add(dataDir, $"T{seed}pdfmid", corpus.BuildMagicFile($"T{seed}pdfmid", "%PDF-1.5"u8.ToArray(), 700 + corpus._rng.Next(317)));
        corpus.Add(dataDir, $"T{seed}pdflower", corpus.BuildMagicFile($"T{seed}pdflower", "%pdf-2.0"u8.ToArray(), 600));
        corpus.Add(dataDir, $"T{seed}pdfedge", corpus.BuildMagicFile($"T{seed}pdfedge", "%PDF-1.5"u8.ToArray(), 1017));
        corpus.Add(dataDir, $"T{seed}pdfpast", corpus.BuildMagicFile($"T{seed}pdfpast", "%PDF-1.5"u8.ToArray(), 1018));
        corpus.Add(dataDir, $"T{seed}pdffar", corpus.BuildMagicFile($"T{seed}pdffar", "%PDF-1.5"u8.ToArray(), 1030));
        corpus.Add(dataDir, $"T{seed}pdfnodot", corpus.BuildMagicFile($"T{seed}pdfnodot", "%PDF-1,5"u8.ToArray(), 640));

        File.WriteAllText(Path.Combine(dbDir, "typed.ndb"), corpus._ndb.ToString());
        File.WriteAllText(Path.Combine(dbDir, "typed.ldb"), corpus._ldb.ToString());
        corpus.DatabaseDirectory = dbDir;
        return corpus;
    }

    private void Add(string dataDir, string id, byte[] file)
    {
        string path = Path.Combine(dataDir, id + ".bin");
        File.WriteAllBytes(path, file);
        Files.Add(path);
    }

    /// <summary>A payload of high bytes (no text normalisation or magic can make or break it) at <paramref name="at"/>.</summary>
    private byte[] Plant(byte[] file, int at, int length = 10)
    {
        byte[] payload = new byte[length];
        for (int i = 0; i < length; i++)
        {
            payload[i] = (byte)_rng.Next(0x80, 0x100);
        }

        payload.CopyTo(file, at);
        return payload;
    }

    private void Ndb(string name, int target, string offset, byte[] pattern) =>
        _ndb.Append(CultureInfo.InvariantCulture, $"{name}:{target}:{offset}:{Convert.ToHexStringLower(pattern)}\n");

    /// <summary>The payload signed anywhere under every supported target type.</summary>
    private void SignEverywhere(string id, byte[] payload)
    {
        foreach (int target in Targets)
        {
            Ndb($"{id}.Any{target}", target, "*", payload);
        }
    }

    private byte[] RandomFill(int length)
    {
        byte[] file = new byte[length];
        _rng.NextBytes(file);
        return file;
    }

    private byte[] BuildMagicFile(string id, byte[] magic, int at)
    {
        byte[] file = RandomFill(Math.Max(600, at + 100) + _rng.Next(1500));
        if (at > 0)
        {
            file[0] = (byte)'#';
        }

        magic.CopyTo(file, at);
        byte[] payload = Plant(file, 200 + _rng.Next(300));
        SignEverywhere(id, payload);
        byte[] head = Plant(file, 100, 8);
        int[] typed = [2, 4, 5, 10, 11, 12];
        int target = typed[_rng.Next(typed.Length)];
        Ndb($"{id}.At100", target, "100", head);
        Ndb($"{id}.At99Float", target, "99,2", head);
        Ndb($"{id}.At101Miss", target, "101", head);
        Ndb($"{id}.Eof", target, $"EOF-{file.Length - 100}", head);
        _ldb.Append(CultureInfo.InvariantCulture,
            $"{id}.Ldb;Engine:51-255,Target:{target},FileSize:{file.Length - 1}-{file.Length};0&1;{Convert.ToHexStringLower(head)};{Convert.ToHexStringLower(payload)}\n");
        return file;
    }

    private byte[] BuildExecutable(string id, ExecutableVariant variant)
    {
        bool elf = variant.ToString().StartsWith("Elf", StringComparison.Ordinal);
        int length = 0x1C00 + _rng.Next(0x400);
        byte[] file = RandomFill(length);
        var sections = new List<(int Offset, int Size)> { (0x400, 0x600), (0xA00, 0x500), (0x1000, 0x3E5), (0x1600, 0x300) };
        int entryOffset = 0x400 + _rng.Next(0x180);
        int target = elf ? 6 : 9;
        long ep = elf
            ? BuildElf(file, variant, sections, entryOffset)
            : BuildMachO(file, variant, sections, entryOffset);

        // Payloads: after the entry point, in section 1, in section 2 (between its size and its aligned size for
        // Mach-O), in the last section, and near the end.
        int k = 0x20 + _rng.Next(0x40);
        int epAt = (int)(ep == 0 ? 0x300 : ep) + k;
        byte[] atEp = Plant(file, epAt);
        int n = 0x10 + _rng.Next(0x100);
        // Section numbers as ClamAV counts them (ELF: the null section header is section 0).
        int sx = sections.FindIndex(s => s.Offset == 0xA00);
        int se = sections.FindIndex(s => s.Offset == 0x1000);
        byte[] atS1 = Plant(file, sections[sx].Offset + n);
        int seAt = sections[se].Offset + (elf ? _rng.Next(0x300) : sections[se].Size + 2);
        byte[] inS2 = Plant(file, seAt, 6);
        int l = 0x10 + _rng.Next(0x100);
        byte[] atSl = Plant(file, sections[^1].Offset + l);
        int m = 0x20 + _rng.Next(0x20);
        byte[] atEof = Plant(file, file.Length - m);

        long epRelative = epAt - (ep == 0 ? 0 : ep);
        Ndb($"{id}.EpHit", target, $"EP+{epRelative}", atEp);
        Ndb($"{id}.EpNear", target, $"EP+{epRelative + 1}", atEp);
        Ndb($"{id}.EpFloat", target, $"EP+{epRelative - 3},5", atEp);
        Ndb($"{id}.EpOther", elf ? 9 : 6, $"EP+{epRelative}", atEp);
        Ndb($"{id}.EpPe", 1, $"EP+{epRelative}", atEp);
        Ndb($"{id}.SxHit", target, $"S{sx}+{n}", atS1);
        Ndb($"{id}.SxNear", target, $"S{sx}+{n - 1}", atS1);
        Ndb($"{id}.SxMiss", target, $"S{sx - 1}+{n}", atS1);
        Ndb($"{id}.SeHit", target, $"SE{se}", inS2);
        Ndb($"{id}.SeMiss", target, $"SE{sx}", inS2);
        Ndb($"{id}.SlHit", target, $"SL+{l}", atSl);
        Ndb($"{id}.S9Absent", target, $"S9+{l}", atSl);
        Ndb($"{id}.Eof0", 0, $"EOF-{m}", atEof);
        Ndb($"{id}.EofTyped", target, $"EOF-{m}", atEof);
        Ndb($"{id}.EofNear", 0, $"EOF-{m + 1}", atEof);
        SignEverywhere(id, atS1);

        string subs = $"EP+{epRelative}:{Convert.ToHexStringLower(atEp)};S{sx}+{n}:{Convert.ToHexStringLower(atS1)}";
        int count = sections.Count;
        long e = ep;
        _ldb.Append(CultureInfo.InvariantCulture, $"{id}.LdbExe;Engine:51-255,Target:{target},EntryPoint:{Math.Max(0, e - 2)}-{e + 2},NumberOfSections:{count - 1}-{count};0&1;{subs}\n");
        _ldb.Append(CultureInfo.InvariantCulture, $"{id}.LdbEpMiss;Engine:51-255,Target:{target},EntryPoint:{e + 1}-{e + 100};0|1;{subs}\n");
        _ldb.Append(CultureInfo.InvariantCulture, $"{id}.LdbAny;Target:{target};0&1;{subs}\n");
        _ldb.Append(CultureInfo.InvariantCulture, $"{id}.LdbRaw;Target:0;0&1;{Convert.ToHexStringLower(atEp)};{Convert.ToHexStringLower(atS1)}\n");
        return file;
    }

    /// <summary>Writes ELF headers (program headers after the file header, section headers at 0x1A00); returns the entry point's file offset.</summary>
    private static long BuildElf(byte[] file, ExecutableVariant variant, List<(int Offset, int Size)> sections, int entryOffset)
    {
        bool is64 = variant is ExecutableVariant.Elf64Le or ExecutableVariant.Elf64Be or ExecutableVariant.ElfOverlappingSegments;
        bool little = variant is not (ExecutableVariant.Elf32Be or ExecutableVariant.Elf64Be);
        Array.Clear(file, 0, 0x200);
        var w = new Writer(file, little);
        file[0] = 0x7F;
        file[1] = (byte)'E';
        file[2] = (byte)'L';
        file[3] = (byte)'F';
        file[4] = (byte)(variant == ExecutableVariant.ElfBadClass ? 3 : is64 ? 2 : 1);
        file[5] = (byte)(little ? 1 : 2);
        file[6] = 1;
        const long baseAddress = 0x400000;
        long entry = variant switch
        {
            ExecutableVariant.ElfNoEntry => 0,
            ExecutableVariant.ElfEntryUnmapped => 0x900000,
            _ => baseAddress + entryOffset,
        };
        int phSize = is64 ? 56 : 32;
        int shSize = is64 ? 64 : 40;
        int phCount = 3;
        int shOffset = variant == ExecutableVariant.ElfSectionHeadersPastEnd ? file.Length - 8 : 0x1A00;
        int shCount = sections.Count + 1;
        w.U16(16, 2);
        w.U16(18, (ushort)(is64 ? 62 : 3));
        w.U32(20, 1);
        if (is64)
        {
            w.U64(24, (ulong)entry);
            w.U64(32, 0x40);
            w.U64(40, (ulong)shOffset);
            w.U16(52, 64);
            w.U16(54, (ushort)(variant == ExecutableVariant.ElfBadProgramHeaderSize ? phSize + 8 : phSize));
            w.U16(56, (ushort)phCount);
            w.U16(58, (ushort)shSize);
            w.U16(60, (ushort)shCount);
        }
        else
        {
            w.U32(24, (uint)entry);
            w.U32(28, 0x34);
            w.U32(32, (uint)shOffset);
            w.U16(40, 52);
            w.U16(42, (ushort)(variant == ExecutableVariant.ElfBadProgramHeaderSize ? phSize + 8 : phSize));
            w.U16(44, (ushort)phCount);
            w.U16(46, (ushort)shSize);
            w.U16(48, (ushort)shCount);
        }

        // Program headers: one not holding the entry, then (overlapping variant) two holding it at different offsets.
        int phAt = is64 ? 0x40 : 0x34;
        (long Offset, long VAddr, long MemSize)[] phs = variant == ExecutableVariant.ElfOverlappingSegments
            ? [(0, 0x10000, 0x100), (0x100, baseAddress, 0x1000), (0, baseAddress, file.Length)]
            : [(0, 0x10000, 0x100), (0, baseAddress, file.Length), (0x100, baseAddress, 0x1000)];
        for (int i = 0; i < phs.Length; i++)
        {
            int at = phAt + (i * phSize);
            w.U32(at, 1);
            if (is64)
            {
                w.U64(at + 8, (ulong)phs[i].Offset);
                w.U64(at + 16, (ulong)phs[i].VAddr);
                w.U64(at + 32, (ulong)phs[i].MemSize);
                w.U64(at + 40, (ulong)phs[i].MemSize);
            }
            else
            {
                w.U32(at + 4, (uint)phs[i].Offset);
                w.U32(at + 8, (uint)phs[i].VAddr);
                w.U32(at + 16, (uint)phs[i].MemSize);
                w.U32(at + 20, (uint)phs[i].MemSize);
            }
        }

        if (shOffset + (shCount * shSize) <= file.Length)
        {
            Array.Clear(file, shOffset, shSize);
            for (int i = 0; i < sections.Count; i++)
            {
                int at = shOffset + ((i + 1) * shSize);
                Array.Clear(file, at, shSize);
                w.U32(at + 4, 1);
                if (is64)
                {
                    w.U64(at + 16, (ulong)(baseAddress + sections[i].Offset));
                    w.U64(at + 24, (ulong)sections[i].Offset);
                    w.U64(at + 32, (ulong)sections[i].Size);
                }
                else
                {
                    w.U32(at + 12, (uint)(baseAddress + sections[i].Offset));
                    w.U32(at + 16, (uint)sections[i].Offset);
                    w.U32(at + 20, (uint)sections[i].Size);
                }
            }
        }

        // ClamAV's section list starts with the null section header: shift so sections[i] is ClamAV's section i.
        sections.Insert(0, (0, 0));
        return variant switch
        {
            ExecutableVariant.ElfNoEntry => 0,
            ExecutableVariant.ElfOverlappingSegments => 0x100 + entryOffset,
            _ => entryOffset,
        };
    }

    /// <summary>Writes Mach-O load commands (a segment with the sections, a thread command); returns the entry point's file offset.</summary>
    private static long BuildMachO(byte[] file, ExecutableVariant variant, List<(int Offset, int Size)> sections, int entryOffset)
    {
        bool is64 = variant == ExecutableVariant.MachOX64;
        bool little = variant is ExecutableVariant.MachOX86 or ExecutableVariant.MachOX64;
        bool ppc = !little;
        Array.Clear(file, 0, 0x400);
        var w = new Writer(file, little);
        BinaryPrimitives.WriteUInt32BigEndian(file, is64 ? 0xCFFAEDFEu : little ? 0xCEFAEDFEu : 0xFEEDFACEu);
        w.U32(4, variant switch
        {
            ExecutableVariant.MachOX86 => 7u,
            ExecutableVariant.MachOX64 => 0x1000007u,
            _ => 18u,
        });
        w.U32(12, 2);
        w.U32(16, variant == ExecutableVariant.MachONoCommands ? 0u : 3u);
        const uint baseAddress = 0x1000;
        int at = is64 ? 32 : 28;

        // An unrelated command first, skipped by its size.
        w.U32(at, 0x26);
        w.U32(at + 4, 16);
        at += 16;

        int segmentLength = is64 ? 72 : 56;
        int sectionLength = is64 ? 80 : 68;
        w.U32(at, is64 ? 0x19u : 0x01u);
        w.U32(at + 4, (uint)(segmentLength + (sections.Count * sectionLength)));
        w.U32(at + segmentLength - 8, (uint)sections.Count);
        at += segmentLength;
        foreach ((int offset, int size) in sections)
        {
            Encoding.ASCII.GetBytes("__text").CopyTo(file, at);
            if (is64)
            {
                w.U64(at + 32, baseAddress + (ulong)offset);
                w.U64(at + 40, (ulong)size);
                w.U32(at + 48, (uint)offset);
                w.U32(at + 52, 4);
            }
            else
            {
                w.U32(at + 32, baseAddress + (uint)offset);
                w.U32(at + 36, (uint)size);
                w.U32(at + 40, (uint)offset);
                w.U32(at + 44, 4);
            }

            at += sectionLength;
        }

        // LC_UNIXTHREAD: flavor, count, then the state (x86: 16 words, eip at word 10; PowerPC: srr0 first).
        int state = ppc ? 160 : 64;
        w.U32(at, 5);
        w.U32(at + 4, (uint)(16 + state));
        uint entry = variant == ExecutableVariant.MachOPpcEntryUnmapped ? 0x900000u : baseAddress + (uint)entryOffset;
        w.U32(at + 16 + (ppc ? 0 : 40), entry);
        return ppc && variant != ExecutableVariant.MachOPpcEntryUnmapped ? entryOffset : 0;
    }

    private readonly struct Writer(byte[] file, bool little)
    {
        public void U16(int at, ushort v)
        {
            if (little)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(at), v);
            }
            else
            {
                BinaryPrimitives.WriteUInt16BigEndian(file.AsSpan(at), v);
            }
        }

        public void U32(int at, uint v)
        {
            if (little)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(at), v);
            }
            else
            {
                BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(at), v);
            }
        }

        public void U64(int at, ulong v)
        {
            if (little)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(at), v);
            }
            else
            {
                BinaryPrimitives.WriteUInt64BigEndian(file.AsSpan(at), v);
            }
        }
    }
}
