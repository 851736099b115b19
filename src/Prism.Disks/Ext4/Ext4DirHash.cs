using System.Numerics;

namespace Prism.Disks.Ext4;

/// <summary>
/// The name hashes of hashed (htree) directories, from the ext4 documentation ("Hash Tree Directories": dx_root_info's
/// hash_version; legacy, half MD4 and TEA, each with name bytes read as signed or unsigned chars). The hash of a name picks
/// the leaf block that holds it; its low bit is reserved (set in an index entry when a hash continues in the next leaf).
/// </summary>
internal static class Ext4DirHash
{
    public const byte Legacy = 0, HalfMd4 = 1, Tea = 2, LegacyUnsigned = 3, HalfMd4Unsigned = 4, TeaUnsigned = 5;

    private static readonly uint[] DefaultSeed = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476];

    /// <summary>True for the hash versions <see cref="Hash"/> computes (not siphash, used only by casefolded encrypted directories).</summary>
    public static bool IsSupported(byte version) => version <= TeaUnsigned;

    /// <summary>
    /// The major hash of <paramref name="name"/> (low bit clear) for <paramref name="version"/> (0..5) and the superblock's
    /// seed (four words; all zero means the default seed).
    /// </summary>
    public static uint Hash(ReadOnlySpan<byte> name, byte version, ReadOnlySpan<uint> seed)
    {
        bool unsigned = version >= LegacyUnsigned;
        Span<uint> buf = stackalloc uint[4];
        bool zeroSeed = seed.Length < 4 || (seed[0] | seed[1] | seed[2] | seed[3]) == 0;
        (zeroSeed ? DefaultSeed : seed[..4]).CopyTo(buf);
        Span<uint> input = stackalloc uint[8];
        uint hash;
        switch (version % 3)
        {
            case Legacy:
                hash = LegacyHash(name, unsigned);
                break;
            case HalfMd4:
                for (int at = 0; at < name.Length; at += 32)
                {
                    ToWords(name[at..], input, 8, unsigned);
                    HalfMd4Transform(buf, input);
                }

                hash = buf[1];
                break;
            default:
                for (int at = 0; at < name.Length; at += 16)
                {
                    ToWords(name[at..], input, 4, unsigned);
                    TeaTransform(buf, input);
                }

                hash = buf[0];
                break;
        }

        hash &= ~1u;
        return hash == 0xFFFF_FFFE ? 0xFFFF_FFFC : hash; // the largest value marks the end of the index
    }

    private static uint LegacyHash(ReadOnlySpan<byte> name, bool unsigned)
    {
        uint hash0 = 0x12A3FE2D, hash1 = 0x37ABE8F9;
        foreach (byte b in name)
        {
            uint c = unsigned ? b : (uint)(sbyte)b;
            uint hash = hash1 + (hash0 ^ (c * 7152373));
            if ((hash & 0x8000_0000) != 0)
            {
                hash -= 0x7FFF_FFFF;
            }

            hash1 = hash0;
            hash0 = hash;
        }

        return hash0 << 1;
    }

    // Packs up to 4·count bytes of the name, big-end first within a word, into `count` words; the rest is padding made of
    // the whole name's length (the remaining length at this chunk) in every byte.
    private static void ToWords(ReadOnlySpan<byte> rest, Span<uint> words, int count, bool unsigned)
    {
        uint pad = (uint)rest.Length | ((uint)rest.Length << 8);
        pad |= pad << 16;
        uint value = pad;
        int length = Math.Min(rest.Length, count * 4);
        int w = 0;
        for (int i = 0; i < length; i++)
        {
            uint c = unsigned ? rest[i] : (uint)(sbyte)rest[i];
            value = c + (value << 8);
            if (i % 4 == 3)
            {
                words[w++] = value;
                value = pad;
            }
        }

        if (w < count)
        {
            words[w++] = value;
        }

        while (w < count)
        {
            words[w++] = pad;
        }
    }

    private static void HalfMd4Transform(Span<uint> buf, ReadOnlySpan<uint> x)
    {
        const uint K2 = 0x5A827999, K3 = 0x6ED9EBA1;
        uint a = buf[0], b = buf[1], c = buf[2], d = buf[3];

        a = BitOperations.RotateLeft(a + F(b, c, d) + x[0], 3);
        d = BitOperations.RotateLeft(d + F(a, b, c) + x[1], 7);
        c = BitOperations.RotateLeft(c + F(d, a, b) + x[2], 11);
        b = BitOperations.RotateLeft(b + F(c, d, a) + x[3], 19);
        a = BitOperations.RotateLeft(a + F(b, c, d) + x[4], 3);
        d = BitOperations.RotateLeft(d + F(a, b, c) + x[5], 7);
        c = BitOperations.RotateLeft(c + F(d, a, b) + x[6], 11);
        b = BitOperations.RotateLeft(b + F(c, d, a) + x[7], 19);

        a = BitOperations.RotateLeft(a + G(b, c, d) + x[1] + K2, 3);
        d = BitOperations.RotateLeft(d + G(a, b, c) + x[3] + K2, 5);
        c = BitOperations.RotateLeft(c + G(d, a, b) + x[5] + K2, 9);
        b = BitOperations.RotateLeft(b + G(c, d, a) + x[7] + K2, 13);
        a = BitOperations.RotateLeft(a + G(b, c, d) + x[0] + K2, 3);
        d = BitOperations.RotateLeft(d + G(a, b, c) + x[2] + K2, 5);
        c = BitOperations.RotateLeft(c + G(d, a, b) + x[4] + K2, 9);
        b = BitOperations.RotateLeft(b + G(c, d, a) + x[6] + K2, 13);

        a = BitOperations.RotateLeft(a + (b ^ c ^ d) + x[3] + K3, 3);
        d = BitOperations.RotateLeft(d + (a ^ b ^ c) + x[7] + K3, 9);
        c = BitOperations.RotateLeft(c + (d ^ a ^ b) + x[2] + K3, 11);
        b = BitOperations.RotateLeft(b + (c ^ d ^ a) + x[6] + K3, 15);
        a = BitOperations.RotateLeft(a + (b ^ c ^ d) + x[1] + K3, 3);
        d = BitOperations.RotateLeft(d + (a ^ b ^ c) + x[5] + K3, 9);
        c = BitOperations.RotateLeft(c + (d ^ a ^ b) + x[0] + K3, 11);
        b = BitOperations.RotateLeft(b + (c ^ d ^ a) + x[4] + K3, 15);

        buf[0] += a;
        buf[1] += b;
        buf[2] += c;
        buf[3] += d;

        static uint F(uint x, uint y, uint z) => z ^ (x & (y ^ z));
        static uint G(uint x, uint y, uint z) => (x & y) + ((x ^ y) & z);
    }

    private static void TeaTransform(Span<uint> buf, ReadOnlySpan<uint> x)
    {
        const uint Delta = 0x9E3779B9;
        uint sum = 0, b0 = buf[0], b1 = buf[1];
        for (int n = 0; n < 16; n++)
        {
            sum += Delta;
            b0 += ((b1 << 4) + x[0]) ^ (b1 + sum) ^ ((b1 >> 5) + x[1]);
            b1 += ((b0 << 4) + x[2]) ^ (b0 + sum) ^ ((b0 >> 5) + x[3]);
        }

        buf[0] += b0;
        buf[1] += b1;
    }
}
