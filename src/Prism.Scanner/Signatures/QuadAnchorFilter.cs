using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Prism.Scanner.Signatures;

/// <summary>
/// Finds 4-byte anchors in large signature sets, where a full Aho-Corasick DFA no longer fits in cache: each
/// position's 4 bytes are hashed into a bitmap sized for a low false-positive rate (L1/L2 resident), and only
/// bitmap hits consult the exact key table. Sub-4-byte anchors stay with <see cref="AnchorAutomaton"/>.
/// </summary>
internal sealed partial class QuadAnchorFilter
{
    public const int KeyLength = 4;
    private const uint HashMultiplier = 0x9E37_79B1;

    private const uint SlotMultiplier = 0x85EB_CA6B;

    private readonly ulong[] _bitmap;
    private readonly int _shift;

    // The exact key table: open addressing over flat arrays (a slot with count 0 is empty), so the compiled cache
    // stores and reads it as it is in memory.
    private readonly uint[] _slotKeys;
    private readonly int[] _slotStart;
    private readonly int[] _slotCount;
    private readonly int _slotShift;
    private readonly int[] _keywords;

    public QuadAnchorFilter(IReadOnlyList<byte[]> keywords, IReadOnlyList<int> keywordIds)
    {
        int bitsLog2 = Math.Clamp(BitOperations.Log2((uint)Math.Max(1, keywords.Count)) + 1 + 7, 15, 24);
        _bitmap = new ulong[(1 << bitsLog2) / 64];
        _shift = 32 - bitsLog2;
        var grouped = new Dictionary<uint, List<int>>();
        for (int i = 0; i < keywords.Count; i++)
        {
            uint key = MemoryMarshal.Read<uint>(keywords[i]);
            if (!grouped.TryGetValue(key, out List<int>? ids))
            {
                ids = [];
                grouped.Add(key, ids);
            }

            ids.Add(keywordIds[i]);
            uint h = Hash(key, _shift);
            _bitmap[h >> 6] |= 1UL << (int)(h & 63);
        }

        int slotBits = Math.Max(4, BitOperations.Log2((uint)Math.Max(1, grouped.Count)) + 2);
        _slotShift = 32 - slotBits;
        _slotKeys = new uint[1 << slotBits];
        _slotStart = new int[1 << slotBits];
        _slotCount = new int[1 << slotBits];
        var flat = new List<int>();
        foreach ((uint key, List<int> ids) in grouped)
        {
            int slot = (int)((key * SlotMultiplier) >> _slotShift);
            while (_slotCount[slot] != 0)
            {
                slot = (slot + 1) & (_slotKeys.Length - 1);
            }

            (_slotKeys[slot], _slotStart[slot], _slotCount[slot]) = (key, flat.Count, ids.Count);
            flat.AddRange(ids);
        }

        _keywords = [.. flat];
        KeyCount = grouped.Count;
    }

    private QuadAnchorFilter(ulong[] bitmap, int shift, uint[] slotKeys, int[] slotStart, int[] slotCount, int[] keywords, int keyCount)
    {
        (_bitmap, _shift, _slotKeys, _slotStart, _slotCount, _keywords, KeyCount) = (bitmap, shift, slotKeys, slotStart, slotCount, keywords, keyCount);
        _slotShift = 32 - BitOperations.Log2((uint)slotKeys.Length);
    }

    public int KeyCount { get; }

    /// <summary>
    /// Reports every key occurrence in <paramref name="window"/> that ends after index <paramref name="from"/> (the
    /// bytes before it are history already scanned): <paramref name="sink"/> gets each keyword id and the index just past it.
    /// </summary>
    // A hot loop entered once per chunk: compile it optimised at once instead of starting at tier 0.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Run<TSink>(ReadOnlySpan<byte> window, int from, ref TSink sink)
        where TSink : struct, IQuadSink, allows ref struct
    {
        int first = Math.Max(0, from - (KeyLength - 1));
        int last = window.Length - KeyLength;
        ref byte input = ref MemoryMarshal.GetReference(window);
        ref ulong bits = ref MemoryMarshal.GetArrayDataReference(_bitmap);
        int shift = _shift;
        for (int i = first; i <= last; i++)
        {
            uint key = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref input, i));
            uint h = Hash(key, shift);
            if ((Unsafe.Add(ref bits, (int)(h >> 6)) & (1UL << (int)(h & 63))) != 0 && Find(key) is int slot)
            {
                int start = _slotStart[slot], end = start + _slotCount[slot];
                for (int k = start; k < end; k++)
                {
                    sink.OnKeyword(_keywords[k], i + KeyLength);
                }
            }
        }
    }

    /// <summary>The slot holding <paramref name="key"/>, or null.</summary>
    private int? Find(uint key)
    {
        int mask = _slotKeys.Length - 1;
        for (int slot = (int)((key * SlotMultiplier) >> _slotShift); _slotCount[slot] != 0; slot = (slot + 1) & mask)
        {
            if (_slotKeys[slot] == key)
            {
                return slot;
            }
        }

        return null;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash(uint key, int shift) => (key * HashMultiplier) >> shift;
}

/// <summary>Receives keyword hits from <see cref="QuadAnchorFilter.Run{TSink}"/>.</summary>
internal interface IQuadSink
{
    /// <summary>Keyword <paramref name="keyword"/> ends just before <paramref name="endIndex"/> of the window.</summary>
    void OnKeyword(int keyword, int endIndex);
}
