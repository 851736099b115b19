using System.Buffers.Binary;

namespace Prism.Disks.Ntfs;

/// <summary>LZNT1 decompression (MS-XCA "LZNT1"): a sequence of chunks, each at most 4096 bytes of output.</summary>
internal static class Lznt1
{
    public const int ChunkSize = 4096;

    /// <summary>
    /// Decompresses <paramref name="source"/> into <paramref name="destination"/>; returns the number of bytes produced,
    /// or -1 with <paramref name="problem"/> set when the data is corrupt. Never writes past <paramref name="destination"/>.
    /// </summary>
    public static int Decompress(ReadOnlySpan<byte> source, Span<byte> destination, out string? problem)
    {
        int src = 0;
        int dst = 0;
        problem = null;
        while (src + 2 <= source.Length && dst < destination.Length)
        {
            ushort header = BinaryPrimitives.ReadUInt16LittleEndian(source[src..]);
            if (header == 0)
            {
                break;
            }

            int chunkLength = (header & 0x0FFF) + 1;
            src += 2;
            if (chunkLength > source.Length - src)
            {
                problem = $"chunk at 0x{src - 2:X} of {chunkLength} bytes overruns the compressed data";
                return -1;
            }

            ReadOnlySpan<byte> chunk = source.Slice(src, chunkLength);
            Span<byte> output = destination.Slice(dst, Math.Min(ChunkSize, destination.Length - dst));
            int produced;
            if ((header & 0x8000) == 0)
            {
                produced = Math.Min(chunk.Length, output.Length);
                chunk[..produced].CopyTo(output);
            }
            else
            {
                produced = DecompressChunk(chunk, output, out problem);
                if (produced < 0)
                {
                    problem = $"chunk at 0x{src - 2:X}: {problem}";
                    return -1;
                }
            }

            src += chunkLength;
            dst += produced;

            // A chunk shorter than 4096 bytes ends the stream only at the end of data; inside a unit it is padded with zeros.
            if (produced < ChunkSize && dst < destination.Length)
            {
                int pad = Math.Min(ChunkSize - produced, destination.Length - dst);
                destination.Slice(dst, pad).Clear();
                dst += pad;
            }
        }

        return dst;
    }

    private static int DecompressChunk(ReadOnlySpan<byte> chunk, Span<byte> output, out string? problem)
    {
        int src = 0;
        int dst = 0;
        problem = null;
        while (src < chunk.Length)
        {
            byte flags = chunk[src++];
            for (int bit = 0; bit < 8 && src < chunk.Length; bit++)
            {
                if ((flags & (1 << bit)) == 0)
                {
                    if (dst >= output.Length)
                    {
                        problem = "literal past the chunk's 4096 bytes";
                        return -1;
                    }

                    output[dst++] = chunk[src++];
                    continue;
                }

                if (src + 2 > chunk.Length)
                {
                    problem = "truncated back-reference";
                    return -1;
                }

                ushort token = BinaryPrimitives.ReadUInt16LittleEndian(chunk[src..]);
                src += 2;
                if (dst == 0)
                {
                    problem = "back-reference before any output";
                    return -1;
                }

                // The split between displacement and length bits depends on how much output the chunk already has.
                int lengthBits = 12;
                for (int p = dst - 1; p >= 0x10; p >>= 1)
                {
                    lengthBits--;
                }

                int length = (token & ((1 << lengthBits) - 1)) + 3;
                int displacement = (token >> lengthBits) + 1;
                if (displacement > dst || length > output.Length - dst)
                {
                    problem = $"back-reference (displacement {displacement}, length {length}) at output 0x{dst:X} out of range";
                    return -1;
                }

                for (int i = 0; i < length; i++)
                {
                    output[dst] = output[dst - displacement];
                    dst++;
                }
            }
        }

        return dst;
    }
}
