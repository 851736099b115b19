using System.Collections.Immutable;
using System.Runtime.InteropServices;
using Prism.Disks.Errors;

namespace Prism.Disks.Ntfs;

/// <summary>Decodes an NTFS mapping-pairs array (run list) into absolute runs.</summary>
internal static class DataRunDecoder
{
    /// <summary>
    /// Decodes runs starting at <paramref name="startVcn"/>; every run must be non-empty, lie inside the volume's
    /// <paramref name="clusterCount"/> clusters and the total must equal <paramref name="expectedClusters"/>.
    /// Throws <see cref="NtfsFormatException"/> otherwise.
    /// </summary>
    public static ImmutableArray<DataRun> Decode(ReadOnlySpan<byte> pairs, long startVcn, long expectedClusters, long clusterCount,
        string? volume, long recordNumber, long offset)
    {
        // Most attributes hold a handful of runs: collect them on the stack, allocate the result once.
        Span<DataRun> small = stackalloc DataRun[16];
        List<DataRun>? many = null;
        int count = 0;
        long vcn = startVcn;
        long lcn = 0;
        int pos = 0;
        while (pos < pairs.Length && pairs[pos] != 0)
        {
            int header = pairs[pos];
            int lengthBytes = header & 0x0F;
            int offsetBytes = header >> 4;
            if (lengthBytes is 0 or > 8 || offsetBytes > 8 || pos + 1 + lengthBytes + offsetBytes > pairs.Length)
            {
                throw Error(volume, recordNumber, offset + pos, $"run header 0x{header:X2} is invalid or overruns the attribute");
            }

            long length = ReadSigned(pairs.Slice(pos + 1, lengthBytes));
            if (length <= 0 || length > expectedClusters - (vcn - startVcn))
            {
                throw Error(volume, recordNumber, offset + pos,
                    $"run length {length} at VCN {vcn} is not in [1, {expectedClusters - (vcn - startVcn)}]");
            }

            long runLcn = -1;
            if (offsetBytes != 0)
            {
                long delta = ReadSigned(pairs.Slice(pos + 1 + lengthBytes, offsetBytes));
                lcn += delta;
                if (lcn < 0 || lcn >= clusterCount || length > clusterCount - lcn)
                {
                    throw Error(volume, recordNumber, offset + pos,
                        $"run LCN {lcn} + {length} clusters lies outside the volume's {clusterCount} clusters");
                }

                runLcn = lcn;
            }

            var run = new DataRun(vcn, runLcn, length);
            if (count < small.Length)
            {
                small[count] = run;
            }
            else
            {
                if (many is null)
                {
                    many = new List<DataRun>(2 * small.Length);
                    foreach (DataRun r in small)
                    {
                        many.Add(r);
                    }
                }

                many.Add(run);
            }

            count++;
            vcn += length;
            pos += 1 + lengthBytes + offsetBytes;
        }

        if (vcn - startVcn != expectedClusters)
        {
            throw Error(volume, recordNumber, offset,
                $"runs cover {vcn - startVcn} clusters, the attribute header says {expectedClusters}");
        }

        return ImmutableCollectionsMarshal.AsImmutableArray(many is null ? small[..count].ToArray() : many.ToArray());
    }

    private static long ReadSigned(ReadOnlySpan<byte> bytes)
    {
        long value = 0;
        for (int i = bytes.Length - 1; i >= 0; i--)
        {
            value = (value << 8) | bytes[i];
        }

        int unused = 64 - (8 * bytes.Length);
        return unused == 0 ? value : (value << unused) >> unused;
    }

    private static NtfsFormatException Error(string? volume, long record, long offset, string detail) =>
        new(volume, $"NTFS run list of file record {record}", offset, detail) { RecordNumber = record };
}
