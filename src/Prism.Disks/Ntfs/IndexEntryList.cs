using System.Runtime.InteropServices;
using System.Text;

namespace Prism.Disks.Ntfs;

/// <summary>
/// Index entries in the order they were added, with their names decoded into one shared buffer (no string per name).
/// Reused from directory to directory: <see cref="Clear"/> keeps the buffers.
/// </summary>
internal sealed class IndexEntryList
{
    private IndexEntry[] _entries = new IndexEntry[64];
    private char[] _names = new char[1024];
    private int _namesLength;

    public int Count { get; private set; }

    public ref readonly IndexEntry this[int index] => ref _entries[index];

    public void Clear()
    {
        Count = 0;
        _namesLength = 0;
    }

    // UTF-16LE to chars as Encoding.Unicode decodes them (an unpaired surrogate becomes U+FFFD). Names without surrogates,
    // nearly all, are copied as they are on a little-endian machine; the decoder handles the rest.
    private static int Decode(ReadOnlySpan<byte> utf16, Span<char> chars)
    {
        if (BitConverter.IsLittleEndian)
        {
            ReadOnlySpan<char> raw = MemoryMarshal.Cast<byte, char>(utf16);
            if (raw.IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
            {
                raw.CopyTo(chars);
                return raw.Length;
            }
        }

        return Encoding.Unicode.GetChars(utf16, chars);
    }

    /// <summary>The name of <paramref name="entry"/> (an entry of this list, valid until <see cref="Clear"/>).</summary>
    public ReadOnlySpan<char> Name(in IndexEntry entry) => _names.AsSpan(entry.NameStart, entry.NameLength);

    /// <summary>Appends the entry for <paramref name="fileReference"/> with its <paramref name="key"/> (a valid $FILE_NAME).</summary>
    public void Add(ulong fileReference, ReadOnlySpan<byte> key)
    {
        ReadOnlySpan<byte> name = FileNameAttribute.Name(key);
        int chars = name.Length / 2;
        if (_namesLength + chars > _names.Length)
        {
            Array.Resize(ref _names, Math.Max(2 * _names.Length, _namesLength + chars));
        }

        if (Count == _entries.Length)
        {
            Array.Resize(ref _entries, 2 * _entries.Length);
        }

        int decoded = Decode(name, _names.AsSpan(_namesLength));
        _entries[Count++] = new IndexEntry((long)(fileReference & 0x0000_FFFF_FFFF_FFFF), (ushort)(fileReference >> 48),
            FileNameAttribute.ParentRecordNumber(key), FileNameAttribute.Times(key), _namesLength, decoded);
        _namesLength += decoded;
    }
}
