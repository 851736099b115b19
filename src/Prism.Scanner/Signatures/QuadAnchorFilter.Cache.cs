using System.Numerics;

namespace Prism.Scanner.Signatures;

/// <summary>The filter's arrays in the compiled signature cache (<see cref="SignatureCache"/>).</summary>
internal sealed partial class QuadAnchorFilter
{
    public void WriteTo(SignatureCacheWriter w)
    {
        w.WriteInt32(_shift);
        w.WriteInt32(KeyCount);
        w.WriteUInt64Array(_bitmap);
        w.WriteUInt32Array(_slotKeys);
        w.WriteInt32Array(_slotStart);
        w.WriteInt32Array(_slotCount);
        w.WriteInt32Array(_keywords);
    }

    /// <summary>Reads a filter written by <see cref="WriteTo"/> whose keyword ids must be below <paramref name="keywordCount"/>.</summary>
    public static QuadAnchorFilter ReadFrom(SignatureCacheReader r, int keywordCount)
    {
        long at = r.Position;
        int shift = r.ReadInt32();
        int keyCount = r.ReadCount(int.MaxValue, "quad key count");
        ulong[] bitmap = r.ReadUInt64Array("quad bitmap");
        uint[] slotKeys = r.ReadUInt32Array("quad slot keys");
        int[] slotStart = r.ReadInt32Array("quad slot starts"), slotCount = r.ReadInt32Array("quad slot counts"), keywords = r.ReadInt32Array("quad keywords");
        if (shift is < 8 or > 17 || bitmap.Length != (1 << (32 - shift)) / 64 || slotKeys.Length < 16 || !BitOperations.IsPow2(slotKeys.Length)
            || slotStart.Length != slotKeys.Length || slotCount.Length != slotKeys.Length || keyCount >= slotKeys.Length)
        {
            throw new InvalidDataException($"quad anchor filter at 0x{at:X}: table sizes do not fit");
        }

        int used = 0;
        for (int i = 0; i < slotKeys.Length; i++)
        {
            if (slotCount[i] == 0)
            {
                continue;
            }

            used++;
            if (slotCount[i] < 0 || slotStart[i] < 0 || slotStart[i] > keywords.Length - slotCount[i])
            {
                throw new InvalidDataException($"quad anchor filter at 0x{at:X}: slot {i} lies outside the keyword list");
            }
        }

        if (used != keyCount || Array.Exists(keywords, k => (uint)k >= (uint)keywordCount))
        {
            throw new InvalidDataException($"quad anchor filter at 0x{at:X}: slots or keyword ids do not match the signatures");
        }

        return new QuadAnchorFilter(bitmap, shift, slotKeys, slotStart, slotCount, keywords, keyCount);
    }
}
