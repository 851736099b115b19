using System.Buffers.Binary;

namespace Prism.Scanner.Signatures;

/// <summary>
/// What ClamAV's PE header parser makes of a file starting with "MZ": the entry point's file offset and, per section,
/// its aligned raw offset and size (truncated at the end of the file). Sections are kept in header order, those lying
/// wholly past the end with size 0, as for body-signature offsets (EP±n, Sx+n, SL+n, SEx); section hash signatures
/// (.mdb/.msb) hash every section of non-zero size. The parse is lenient where clamscan's default is (bad
/// alignments, misplaced sections) and fails where it fails; a failed parse disables every executable-relative and
/// EOF-relative offset, as in clamscan.
/// </summary>
internal sealed class PeLayout
{
    /// <summary>DOS header field e_lfanew: the file offset of the "PE\0\0" signature.</summary>
    private const int LfanewOffset = 0x3C;

    /// <summary>"PE\0\0" (4 bytes) plus the COFF file header (20 bytes).</summary>
    private const int FileHeaderLength = 24;

    /// <summary>The PE32 optional header without its data directories; PE32+ adds 16 bytes.</summary>
    private const int OptionalHeader32Length = 96;

    private const int OptionalHeader64Length = 112;
    private const int SectionHeaderLength = 40;
    private const int DataDirectoryLength = 8;
    private const int MaxDataDirectories = 16;
    private const ushort Pe32PlusMagic = 0x20B;

    private PeLayout(long entryPoint, PeSection[] sections, bool offsetsValid, bool sectionHashable)
    {
        EntryPoint = entryPoint;
        Sections = sections;
        OffsetsValid = offsetsValid;
        SectionHashable = sectionHashable;
    }

    /// <summary>File offset of the entry point.</summary>
    public long EntryPoint { get; }

    /// <summary>Sections in header order (at least one for a PE file; an ELF file may have none).</summary>
    public IReadOnlyList<PeSection> Sections { get; }

    /// <summary>
    /// True when clamscan's header parse for signature offsets succeeds. It fails on a section header with the sign
    /// bit set in its address or sizes even when that section lies past the end of the file.
    /// </summary>
    public bool OffsetsValid { get; }

    /// <summary>
    /// True when clamscan's header parse for section hashing succeeds: it first drops the sections of data that start
    /// past the end of the file (their sign bits unchecked) and fails when none is left.
    /// </summary>
    public bool SectionHashable { get; }

    /// <summary>
    /// The layout of an ELF or Mach-O file (<see cref="ElfLayout"/>, <see cref="MachOLayout"/>): entry point and sections
    /// for executable-relative offsets; never section-hashed (.mdb/.msb name PE sections only).
    /// </summary>
    internal static PeLayout ForOtherExecutable(long entryPoint, PeSection[] sections) => new(entryPoint, sections, offsetsValid: true, sectionHashable: false);

    /// <summary>True when the first two bytes are "MZ": ClamAV types the file as an MS executable (target type 1).</summary>
    public static bool HasMzMagic(ReadOnlySpan<byte> start) => start.Length >= 2 && start[0] == (byte)'M' && start[1] == (byte)'Z';

    /// <summary>
    /// Parses the headers of a file of <paramref name="fileLength"/> bytes whose first bytes are <paramref name="prefix"/>.
    /// Returns <see cref="PeParseStatus.NeedMoreData"/> when the headers reach past the prefix (never when the prefix is
    /// the whole file), <see cref="PeParseStatus.Broken"/> when clamscan's parser would fail.
    /// </summary>
    public static PeParseStatus TryParse(ReadOnlySpan<byte> prefix, long fileLength, out PeLayout? layout)
    {
        layout = null;
        var r = new Reader(prefix, fileLength);

        // DOS header: "MZ" (ClamAV's parser also takes "ZM", but only "MZ" types a file as an executable) and e_lfanew.
        if (!r.Has(0, 2, out PeParseStatus s))
        {
            return s;
        }

        if (!HasMzMagic(prefix))
        {
            return PeParseStatus.Broken;
        }

        if (!r.Has(LfanewOffset, 4, out s))
        {
            return s;
        }

        long lfanew = BinaryPrimitives.ReadUInt32LittleEndian(prefix[LfanewOffset..]);
        if (lfanew == 0)
        {
            return PeParseStatus.Broken;
        }

        if (!r.Has(lfanew, FileHeaderLength, out s))
        {
            return s;
        }

        ReadOnlySpan<byte> fileHeader = prefix.Slice((int)lfanew, FileHeaderLength);
        if (BinaryPrimitives.ReadUInt32LittleEndian(fileHeader) != 0x00004550)
        {
            return PeParseStatus.Broken;
        }

        int sectionCount = BinaryPrimitives.ReadUInt16LittleEndian(fileHeader[6..]);
        int optionalSize = BinaryPrimitives.ReadUInt16LittleEndian(fileHeader[20..]);
        if (sectionCount == 0 || optionalSize < OptionalHeader32Length)
        {
            return PeParseStatus.Broken;
        }

        long at = lfanew + FileHeaderLength;
        if (!r.Has(at, OptionalHeader32Length, out s))
        {
            return s;
        }

        ReadOnlySpan<byte> optional = prefix.Slice((int)at, OptionalHeader32Length);
        bool plus = BinaryPrimitives.ReadUInt16LittleEndian(optional) == Pe32PlusMagic;
        int storedLength = OptionalHeader32Length;
        if (plus)
        {
            if (optionalSize < OptionalHeader64Length)
            {
                return PeParseStatus.Broken;
            }

            if (!r.Has(at, OptionalHeader64Length, out s))
            {
                return s;
            }

            storedLength = OptionalHeader64Length;
            optional = prefix.Slice((int)at, OptionalHeader64Length);
        }

        uint entryRva = BinaryPrimitives.ReadUInt32LittleEndian(optional[16..]);
        uint sectionAlign = BinaryPrimitives.ReadUInt32LittleEndian(optional[32..]);
        uint fileAlign = BinaryPrimitives.ReadUInt32LittleEndian(optional[36..]);
        uint headerSize = BinaryPrimitives.ReadUInt32LittleEndian(optional[60..]);
        uint directories = Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(optional[(plus ? 108 : 92)..]), MaxDataDirectories);
        int directoriesLength = (int)directories * DataDirectoryLength;
        if (optionalSize < storedLength + directoriesLength)
        {
            return PeParseStatus.Broken;
        }

        if (!r.Has(at + storedLength, directoriesLength, out s))
        {
            return s;
        }

        long sectionTable = at + optionalSize;
        if (!r.Has(sectionTable, (long)sectionCount * SectionHeaderLength, out s))
        {
            return s;
        }

        ReadOnlySpan<byte> table = prefix.Slice((int)sectionTable, sectionCount * SectionHeaderLength);

        // ClamAV's "file alignment fallback": a section of data whose offset is 512-aligned but not aligned to an
        // unusual FileAlignment makes the whole file use 512.
        for (int i = 0; fileAlign != 0x200 && i < sectionCount; i++)
        {
            ReadOnlySpan<byte> h = table.Slice(i * SectionHeaderLength, SectionHeaderLength);
            uint rawSize = BinaryPrimitives.ReadUInt32LittleEndian(h[16..]);
            uint rawPointer = BinaryPrimitives.ReadUInt32LittleEndian(h[20..]);
            if (fileAlign != 0 && rawSize != 0 && rawPointer % fileAlign != 0 && rawPointer % 0x200 == 0)
            {
                fileAlign = 0x200;
            }
        }

        long alignedHeaderSize = AlignUp(headerSize, sectionAlign);
        var sections = new PeSection[sectionCount];
        bool anyKept = false, offsetsValid = true, hashable = true;
        for (int i = 0; i < sectionCount; i++)
        {
            ReadOnlySpan<byte> h = table.Slice(i * SectionHeaderLength, SectionHeaderLength);
            uint virtualSize = BinaryPrimitives.ReadUInt32LittleEndian(h[8..]);
            uint virtualAddress = BinaryPrimitives.ReadUInt32LittleEndian(h[12..]);
            uint rawSize = BinaryPrimitives.ReadUInt32LittleEndian(h[16..]);
            uint rawPointer = BinaryPrimitives.ReadUInt32LittleEndian(h[20..]);
            long rva = AlignDown(virtualAddress, sectionAlign);
            long raw = AlignDown(rawPointer, fileAlign);
            long size = AlignUp(rawSize, fileAlign);
            long unalignedSize = rawSize;
            bool removed = false;
            if (size == 0)
            {
                anyKept = true;
            }
            else
            {
                if (raw >= fileLength || rawPointer >= fileLength)
                {
                    size = 0;
                    unalignedSize = 0;
                    removed = true;
                }
                else
                {
                    anyKept = true;
                    size = Math.Min(size, fileLength - raw);
                    unalignedSize = Math.Min(unalignedSize, fileLength - rawPointer);
                }
            }

            // Values with the sign bit set make ClamAV reject the header (for section hashing only in sections it keeps).
            if (virtualAddress >> 31 != 0 || virtualSize >> 31 != 0 || (size != 0 && rawPointer >> 31 != 0) || unalignedSize >> 31 != 0)
            {
                offsetsValid = false;
                hashable &= removed;
            }

            sections[i] = new PeSection(rva, raw, size);
        }

        // The entry point: inside the headers it is its own file offset, else it lies in the last section (of data)
        // whose raw extent, mapped to virtual addresses, covers it.
        long entry;
        if (entryRva < alignedHeaderSize)
        {
            if (entryRva >= fileLength)
            {
                return PeParseStatus.Broken;
            }

            entry = entryRva;
        }
        else
        {
            int found = -1;
            for (int i = sectionCount - 1; i >= 0; i--)
            {
                PeSection c = sections[i];
                if (c.RawSize != 0 && c.VirtualAddress <= entryRva && c.RawSize > entryRva - c.VirtualAddress)
                {
                    found = i;
                    break;
                }
            }

            if (found < 0)
            {
                return PeParseStatus.Broken;
            }

            entry = entryRva - sections[found].VirtualAddress + sections[found].RawOffset;
        }

        hashable &= anyKept;
        if (!offsetsValid && !hashable)
        {
            return PeParseStatus.Broken;
        }

        layout = new PeLayout(entry, sections, offsetsValid, hashable);
        return PeParseStatus.Parsed;
    }

    private static long AlignDown(uint value, uint alignment) => alignment == 0 ? value : value / alignment * alignment;

    private static long AlignUp(uint value, uint alignment) =>
        alignment == 0 ? value : (((long)value / alignment) + (value % alignment != 0 ? 1 : 0)) * alignment;

    /// <summary>Bounds checks against the bytes at hand and the file's length.</summary>
    private readonly ref struct Reader(ReadOnlySpan<byte> prefix, long fileLength)
    {
        private readonly int _available = prefix.Length;

        /// <summary>True when [offset, offset+count) is at hand; else the status to return (short file: broken).</summary>
        public bool Has(long offset, long count, out PeParseStatus status)
        {
            status = PeParseStatus.Parsed;
            if (offset + count > fileLength)
            {
                status = PeParseStatus.Broken;
                return false;
            }

            if (offset + count > _available)
            {
                status = PeParseStatus.NeedMoreData;
                return false;
            }

            return true;
        }
    }
}

/// <summary>One PE section as ClamAV sees it: virtual address and raw offset aligned down, raw size aligned up and truncated at the end of the file (0 when it lies past it).</summary>
internal readonly record struct PeSection(long VirtualAddress, long RawOffset, long RawSize);

/// <summary>Outcome of <see cref="PeLayout.TryParse"/>.</summary>
internal enum PeParseStatus
{
    /// <summary>The headers were read.</summary>
    Parsed,

    /// <summary>Headers reach past the bytes given; call again with more.</summary>
    NeedMoreData,

    /// <summary>Not a PE clamscan can parse (executable-relative offsets and section hashes do not apply).</summary>
    Broken,
}
