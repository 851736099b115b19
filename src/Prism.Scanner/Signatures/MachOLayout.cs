using System.Buffers.Binary;

namespace Prism.Scanner.Signatures;

/// <summary>
/// What ClamAV 1.4's Mach-O header parser makes of a file with a Mach-O magic, for executable-relative offsets of
/// target type 9: the sections of the LC_SEGMENT/LC_SEGMENT_64 commands in order (file offset, and size rounded up to
/// the section's alignment) and the entry point. ClamAV takes the entry address only from an LC_THREAD/LC_UNIXTHREAD
/// command of a PowerPC (32- or 64-bit) file and maps it through the first section whose address range holds it; for
/// every other CPU (x86 and x86-64 included) the entry point is 0, so "EP+n" is file offset n. The parse fails where
/// ClamAV's fails (no or more than 1024 load commands, a segment with more than 255 sections, a 32-bit section
/// alignment of 32 or more, a command past the end of the file, an entry address no section maps); a failed parse
/// disables executable- and EOF-relative offsets, as for PE files.
/// </summary>
internal static class MachOLayout
{
    private const int HeaderLength = 28;
    private const int LoadCommandLength = 8;
    private const int Segment32Length = 48;
    private const int Segment64Length = 64;
    private const int Section32Length = 68;
    private const int Section64Length = 80;
    private const int MaxLoadCommands = 1024;
    private const int MaxSectionsPerSegment = 255;
    private const uint CpuX86 = 7;
    private const uint CpuPowerPc = 18;
    private const uint Cpu64Bit = 0x1000000;

    /// <summary>Parses the headers of a Mach-O file of <paramref name="fileLength"/> bytes whose first bytes are <paramref name="prefix"/>.</summary>
    public static PeParseStatus TryParse(ReadOnlySpan<byte> prefix, long fileLength, out PeLayout? layout)
    {
        layout = null;
        var r = new HeaderReader(prefix, fileLength);
        if (!r.Has(0, HeaderLength, out PeParseStatus s))
        {
            return s;
        }

        uint magic = BinaryPrimitives.ReadUInt32BigEndian(prefix);
        bool little;
        bool is64;
        switch (magic)
        {
            case 0xCEFAEDFE: little = true; is64 = false; break;
            case 0xCFFAEDFE: little = true; is64 = true; break;
            case 0xFEEDFACE: little = false; is64 = false; break;
            case 0xFEEDFACF: little = false; is64 = true; break;
            default: return PeParseStatus.Broken;
        }

        uint cpu = U32(prefix, 4, little);
        int threadStateLength = cpu switch
        {
            CpuX86 => 64,
            CpuPowerPc => 160,
            CpuPowerPc | Cpu64Bit => 312,
            _ => 0,
        };
        uint commands = U32(prefix, 16, little);
        if (commands == 0 || commands > MaxLoadCommands)
        {
            return PeParseStatus.Broken;
        }

        ulong at = HeaderLength + (is64 ? 4UL : 0UL);
        uint entry = 0;
        var sections = new List<(uint Address, uint Size, uint Offset, uint RoundedSize)>();
        for (uint i = 0; i < commands; i++)
        {
            if (!r.Has(at, LoadCommandLength, out s))
            {
                return s;
            }

            uint command = U32(prefix, (int)at, little);
            uint commandSize = U32(prefix, (int)at + 4, little);
            at += LoadCommandLength;
            if (command == (is64 ? 0x19u : 0x01u))
            {
                int segmentLength = is64 ? Segment64Length : Segment32Length;
                if (!r.Has(at, segmentLength, out s))
                {
                    return s;
                }

                uint count = U32(prefix, (int)at + segmentLength - 8, little);
                at += (ulong)segmentLength;
                if (count > MaxSectionsPerSegment)
                {
                    return PeParseStatus.Broken;
                }

                for (uint j = 0; j < count; j++)
                {
                    int sectionLength = is64 ? Section64Length : Section32Length;
                    if (!r.Has(at, sectionLength, out s))
                    {
                        return s;
                    }

                    ReadOnlySpan<byte> section = prefix.Slice((int)at, sectionLength);
                    at += (ulong)sectionLength;
                    uint address = (uint)(is64 ? U64(section, 32, little) : U32(section, 32, little));
                    uint size = (uint)(is64 ? U64(section, 40, little) : U32(section, is64 ? 40 : 36, little));
                    uint offset = U32(section, is64 ? 48 : 40, little);
                    uint alignShift = U32(section, is64 ? 52 : 44, little);
                    if (!is64 && alignShift >= 32)
                    {
                        return PeParseStatus.Broken;
                    }

                    uint alignment = unchecked(1u << (int)(alignShift & 31));
                    uint rounded = unchecked(size + ((alignment - (size % alignment)) % alignment));
                    sections.Add((address, size, offset, rounded));
                }
            }
            else if (threadStateLength > 0 && command is 4 or 5)
            {
                at += 8;
                if (!r.Has(at, threadStateLength, out s))
                {
                    return s;
                }

                // The program counter is the state's first field (srr0) on PowerPC; ClamAV reads none for x86.
                if (cpu == CpuPowerPc)
                {
                    entry = U32(prefix, (int)at, little);
                }
                else if (cpu == (CpuPowerPc | Cpu64Bit))
                {
                    entry = (uint)U64(prefix, (int)at, little);
                }

                at += (ulong)threadStateLength;
            }
            else if (commandSize > LoadCommandLength)
            {
                at += commandSize - LoadCommandLength;
            }
        }

        if (entry != 0 && sections.Count > 0)
        {
            int found = sections.FindIndex(x => x.Address <= entry && unchecked(x.Address + x.Size) > entry);
            if (found < 0)
            {
                return PeParseStatus.Broken;
            }

            entry = unchecked(entry - sections[found].Address + sections[found].Offset);
        }

        layout = PeLayout.ForOtherExecutable(entry, [.. sections.Select(x => new PeSection(x.Address, x.Offset, x.RoundedSize))]);
        return PeParseStatus.Parsed;
    }

    private static uint U32(ReadOnlySpan<byte> b, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(b[at..]) : BinaryPrimitives.ReadUInt32BigEndian(b[at..]);

    private static ulong U64(ReadOnlySpan<byte> b, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt64LittleEndian(b[at..]) : BinaryPrimitives.ReadUInt64BigEndian(b[at..]);
}
