using System.Buffers.Binary;
using System.Text;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>One section header of a test PE: fields exactly as written (no alignment applied).</summary>
internal sealed record PeSectionSpec(string Name, uint VirtualAddress, uint VirtualSize, uint RawPointer, uint RawSize);

/// <summary>
/// Writes small deterministic PE32/PE32+ images from explicit header values (the PE/COFF layout: DOS header with
/// e_lfanew at 0x3C, "PE\0\0", the 20-byte COFF header, the optional header with 16 data directories, 40-byte section
/// headers). Section data is whatever the caller puts into the returned buffer; nothing is validated, so tests can
/// build broken files on purpose.
/// </summary>
internal sealed class PeBuilder
{
    public bool Pe32Plus { get; init; }

    public uint Lfanew { get; init; } = 0x80;

    public uint EntryRva { get; init; }

    public uint SectionAlignment { get; init; } = 0x1000;

    public uint FileAlignment { get; init; } = 0x200;

    public uint SizeOfHeaders { get; init; } = 0x400;

    /// <summary>Written as NumberOfSections; null writes the number of <see cref="Sections"/>.</summary>
    public ushort? SectionCountOverride { get; init; }

    public IReadOnlyList<PeSectionSpec> Sections { get; init; } = [];

    /// <summary>Total file length; at least the end of the section table.</summary>
    public int FileLength { get; init; }

    public int OptionalHeaderSize => (Pe32Plus ? 112 : 96) + (16 * 8);

    /// <summary>File offset just past the section table.</summary>
    public int HeadersEnd => (int)Lfanew + 24 + OptionalHeaderSize + (Sections.Count * 40);

    /// <summary>The file, section data zero (fill it in afterwards; keep clear of [0, <see cref="HeadersEnd"/>)).</summary>
    public byte[] Build()
    {
        var file = new byte[Math.Max(FileLength, HeadersEnd)];
        file[0] = (byte)'M';
        file[1] = (byte)'Z';
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(0x3C), Lfanew);
        Span<byte> pe = file.AsSpan((int)Lfanew);
        "PE\0\0"u8.CopyTo(pe);
        BinaryPrimitives.WriteUInt16LittleEndian(pe[4..], Pe32Plus ? (ushort)0x8664 : (ushort)0x14C);
        BinaryPrimitives.WriteUInt16LittleEndian(pe[6..], SectionCountOverride ?? (ushort)Sections.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(pe[20..], (ushort)OptionalHeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(pe[22..], 0x0102); // executable image, 32-bit machine
        Span<byte> opt = pe[24..];
        BinaryPrimitives.WriteUInt16LittleEndian(opt, Pe32Plus ? (ushort)0x20B : (ushort)0x10B);
        BinaryPrimitives.WriteUInt32LittleEndian(opt[16..], EntryRva);
        BinaryPrimitives.WriteUInt32LittleEndian(opt[32..], SectionAlignment);
        BinaryPrimitives.WriteUInt32LittleEndian(opt[36..], FileAlignment);
        uint imageEnd = Sections.Count == 0 ? SectionAlignment : Sections.Max(s => s.VirtualAddress + Math.Max(s.VirtualSize, s.RawSize));
        BinaryPrimitives.WriteUInt32LittleEndian(opt[56..], imageEnd);
        BinaryPrimitives.WriteUInt32LittleEndian(opt[60..], SizeOfHeaders);
        BinaryPrimitives.WriteUInt16LittleEndian(opt[68..], 3); // console subsystem
        BinaryPrimitives.WriteUInt32LittleEndian(opt[(Pe32Plus ? 108 : 92)..], 16);
        Span<byte> table = opt[OptionalHeaderSize..];
        for (int i = 0; i < Sections.Count; i++)
        {
            PeSectionSpec s = Sections[i];
            Span<byte> h = table.Slice(i * 40, 40);
            Encoding.ASCII.GetBytes(s.Name.PadRight(8, '\0').AsSpan(0, 8), h);
            BinaryPrimitives.WriteUInt32LittleEndian(h[8..], s.VirtualSize);
            BinaryPrimitives.WriteUInt32LittleEndian(h[12..], s.VirtualAddress);
            BinaryPrimitives.WriteUInt32LittleEndian(h[16..], s.RawSize);
            BinaryPrimitives.WriteUInt32LittleEndian(h[20..], s.RawPointer);
            BinaryPrimitives.WriteUInt32LittleEndian(h[36..], 0x60000020); // code, execute, read
        }

        return file;
    }
}
