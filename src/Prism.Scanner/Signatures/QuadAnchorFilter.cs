using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Prism.Scanner.Signatures;

/// <summary>
/// Finds 4-byte anchors in large signature sets, where a full Aho-Corasick DFA no longer fits in cache: each
/// position's 4 bytes are hashed into a bitmap sized for a low false-positive rate (L1/L2 resident), and only
/// bitmap hits consult the exact key table. Sub-4-byte anchors stay with <see cref="AnchorAutomaton"/>.
/// </summary>
internal sealed class QuadAnchorFilter
{
    public const int KeyLength = 4;
    private const uint HashMultiplier = 0x9E37_79B1;

    private readonly ulong[] _bitmap;
    private readonly int _shift;
    private readonly Dictionary<uint, (int Start, int Count)> _keys;
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

        _keys = new Dictionary<uint, (int, int)>(grouped.Count);
        var flat = new List<int>();
        foreach ((uint key, List<int> ids) in grouped)
        {
            _keys.Add(key, (flat.Count, ids.Count));
            flat.AddRange(ids);
        }

        _keywords = [.. flat];
    }

    public int KeyCount => _keys.Count;

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
            if ((Unsafe.Add(ref bits, (int)(h >> 6)) & (1UL << (int)(h & 63))) != 0 && _keys.TryGetValue(key, out (int Start, int Count) ids))
            {
                for (int k = 0; k < ids.Count; k++)
                {
                    sink.OnKeyword(_keywords[ids.Start + k], i + KeyLength);
                }
            }
        }
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
