using System.Buffers.Binary;

namespace Prism.Scanner.Signatures;

/// <summary>
/// What ClamAV 1.4's ELF header parser makes of a file starting with "\x7fELF", for executable-relative offsets of
/// target type 6: the entry point's file offset (the entry address mapped through the first program header whose
/// memory range holds it; 0 when there is no program header or the entry address is 0) and, per section header, its
/// file offset and size as 32-bit values, untruncated by the file's length. The parse fails where ClamAV's fails (bad
/// class byte, more than 128 program headers or 256 section headers, a header entry size other than the format's, a
/// header past the end of the file, an entry address no program header maps); a failed parse disables executable- and
/// EOF-relative offsets, as for PE files. The byte order is little-endian when EI_DATA is 1, big-endian otherwise.
/// </summary>
internal static class ElfLayout
{
    private const int Header32Length = 52;
    private const int Header64Length = 64;
    private const int ProgramHeader32Length = 32;
    private const int ProgramHeader64Length = 56;
    private const int SectionHeader32Length = 40;
    private const int SectionHeader64Length = 64;
    private const int MaxProgramHeaders = 128;
    private const int MaxSectionHeaders = 256;

    /// <summary>Parses the headers of an ELF file of <paramref name="fileLength"/> bytes whose first bytes are <paramref name="prefix"/>.</summary>
    public static PeParseStatus TryParse(ReadOnlySpan<byte> prefix, long fileLength, out PeLayout? layout)
    {
        layout = null;
        var r = new HeaderReader(prefix, fileLength);
        if (!r.Has(0, Header32Length, out PeParseStatus s))
        {
            return s;
        }

        if (!prefix.StartsWith((ReadOnlySpan<byte>)[0x7F, 0x45, 0x4C, 0x46]) || prefix[4] is not (1 or 2))
        {
            return PeParseStatus.Broken;
        }

        bool is64 = prefix[4] == 2;
        bool little = prefix[5] == 1;
        if (is64 && !r.Has(0, Header64Length, out s))
        {
            return s;
        }

        ulong entry = is64 ? U64(prefix, 24, little) : U32(prefix, 24, little);
        ulong phoff = is64 ? U64(prefix, 32, little) : U32(prefix, 28, little);
        ulong shoff = is64 ? U64(prefix, 40, little) : U32(prefix, 32, little);
        int phentsize = U16(prefix, is64 ? 54 : 42, little);
        int phnum = U16(prefix, is64 ? 56 : 44, little);
        int shentsize = U16(prefix, is64 ? 58 : 46, little);
        int shnum = U16(prefix, is64 ? 60 : 48, little);

        if (phnum > MaxProgramHeaders)
        {
            return PeParseStatus.Broken;
        }

        uint entryOffset = 0;
        if (phnum != 0 && entry != 0)
        {
            int size = is64 ? ProgramHeader64Length : ProgramHeader32Length;
            if (phentsize != size)
            {
                return PeParseStatus.Broken;
            }

            bool found = false;
            for (int i = 0; i < phnum; i++)
            {
                ulong at = phoff + ((ulong)i * (ulong)size);
                if (!r.Has(at, size, out s))
                {
                    return s;
                }

                ReadOnlySpan<byte> ph = prefix.Slice((int)at, size);
                // 32-bit headers are compared in 32-bit arithmetic, as ClamAV does (vaddr + memsz may wrap).
                ulong offset = is64 ? U64(ph, 8, little) : U32(ph, 4, little);
                ulong vaddr = is64 ? U64(ph, 16, little) : U32(ph, 8, little);
                ulong memsz = is64 ? U64(ph, 40, little) : U32(ph, 20, little);
                ulong end = is64 ? unchecked(vaddr + memsz) : unchecked((uint)(vaddr + memsz));
                if (!found && vaddr <= entry && end > entry)
                {
                    found = true;
                    entryOffset = unchecked((uint)(entry - vaddr + offset));
                }
            }

            if (!found)
            {
                return PeParseStatus.Broken;
            }
        }

        if (shnum > MaxSectionHeaders || shentsize != (is64 ? SectionHeader64Length : SectionHeader32Length))
        {
            return PeParseStatus.Broken;
        }

        var sections = new PeSection[shnum];
        for (int i = 0; i < shnum; i++)
        {
            ulong at = shoff + ((ulong)i * (ulong)shentsize);
            if (!r.Has(at, shentsize, out s))
            {
                return s;
            }

            ReadOnlySpan<byte> sh = prefix.Slice((int)at, shentsize);
            uint address = (uint)(is64 ? U64(sh, 16, little) : U32(sh, 12, little));
            uint offset = (uint)(is64 ? U64(sh, 24, little) : U32(sh, 16, little));
            uint size = (uint)(is64 ? U64(sh, 32, little) : U32(sh, 20, little));
            sections[i] = new PeSection(address, offset, size);
        }

        layout = PeLayout.ForOtherExecutable(entryOffset, sections);
        return PeParseStatus.Parsed;
    }

    private static int U16(ReadOnlySpan<byte> b, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(b[at..]) : BinaryPrimitives.ReadUInt16BigEndian(b[at..]);

    private static uint U32(ReadOnlySpan<byte> b, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(b[at..]) : BinaryPrimitives.ReadUInt32BigEndian(b[at..]);

    private static ulong U64(ReadOnlySpan<byte> b, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt64LittleEndian(b[at..]) : BinaryPrimitives.ReadUInt64BigEndian(b[at..]);
}

/// <summary>Bounds checks of header reads against the bytes at hand and the file's length (shared by the ELF and Mach-O parsers).</summary>
internal readonly ref struct HeaderReader(ReadOnlySpan<byte> prefix, long fileLength)
{
    private readonly int _available = prefix.Length;

    /// <summary>True when [offset, offset+count) is at hand; else the status to return (past the file's end: broken).</summary>
    public bool Has(ulong offset, int count, out PeParseStatus status)
    {
        status = PeParseStatus.Parsed;
        if (offset > (ulong)fileLength || (ulong)fileLength - offset < (ulong)count)
        {
            status = PeParseStatus.Broken;
            return false;
        }

        if (offset + (ulong)count > (ulong)_available)
        {
            status = PeParseStatus.NeedMoreData;
            return false;
        }

        return true;
    }
}
