using Microsoft.Win32.SafeHandles;
using Prism.Disks.Errors;

namespace Prism.Disks.Vhdx;

/// <summary>Flattening a chain into a raw image.</summary>
public sealed partial class VhdxDisk
{
    private const int ExportCell = 4 * 1024 * 1024;

    /// <summary>
    /// Writes the whole virtual disk, as read through the chain, to a raw image at <paramref name="rawPath"/>. Ranges
    /// that no layer holds, blocks in a ZERO/UNMAPPED state, and all-zero 64 KiB pieces copied through the buffer stay sparse
    /// holes. Payload that a layer's file holds is copied file to file inside the kernel where the platform can
    /// (Linux <c>copy_file_range</c>), so the bytes are not brought into this process. The image is written to
    /// <c>rawPath.prism-tmp</c> and renamed over <paramref name="rawPath"/> only when complete; a failed or cancelled
    /// export leaves nothing behind.
    /// </summary>
    /// <param name="rawPath">The raw image to create or replace.</param>
    /// <param name="progress">Receives the number of virtual bytes done so far, now and then.</param>
    /// <param name="cancellationToken">Checked between chunks.</param>
    /// <exception cref="VhdxFormatException">A BAT entry or sector bitmap on the way is corrupt.</exception>
    public void ExportRaw(string rawPath, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rawPath);
        ObjectDisposedException.ThrowIf(_disposed, this);
        string temp = rawPath + ".prism-tmp";
        try
        {
            // A new file, not a truncated one: ext4 writes back, at close, every delayed block of a file that was
            // truncated to zero (its guard against replace-by-truncate), which costs a third of the export.
            File.Delete(temp);
            using (SafeFileHandle output = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write))
            {
                RandomAccess.SetLength(output, VirtualSize);
                List<ExportPiece> pieces = PlanExport(cancellationToken);
                long done = 0;

                // One worker per core with positional I/O: the chain is safe for concurrent reads, and the copies of
                // different pieces do not depend on each other.
                Parallel.ForEach(pieces,
                    new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken },
                    () => (byte[]?)null,
                    (piece, _, buffer) =>
                    {
                        buffer = ExportPieceTo(output, piece, buffer);
                        long total = Interlocked.Add(ref done, piece.Length);
                        progress?.Report(total);
                        return buffer;
                    },
                    _ => { });
            }

            File.Move(temp, rawPath, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>
    /// A piece of the flattened disk: virtual range, the layer that serves it, and where that layer's file holds it
    /// (-1: the layer holds it as zeros; -2: read it through the chain).
    /// </summary>
    private readonly record struct ExportPiece(long Offset, int Length, VhdxDisk Layer, long FileOffset);

    private const long PieceZero = -1;
    private const long PieceThroughChain = -2;

    /// <summary>Cuts the chain map into pieces of at most 4 MiB that never cross a block of their serving layer.</summary>
    private List<ExportPiece> PlanExport(CancellationToken cancellationToken)
    {
        IReadOnlyList<VhdxDisk> chain = Chain;
        var pieces = new List<ExportPiece>();
        foreach (ChainRange r in GetChainMap(cancellationToken))
        {
            VhdxDisk layer = chain[r.Layer];
            long cell = Math.Min(ExportCell, layer.BlockSize);
            for (long o = r.Offset; o < r.End;)
            {
                long end = Math.Min(r.End, ((o / cell) + 1) * cell);
                pieces.Add(new ExportPiece(o, (int)(end - o), layer, layer.ExportFileOffset(o)));
                o = end;
            }
        }

        return pieces;
    }

    /// <summary>
    /// Where this layer's file holds virtual offset <paramref name="offset"/>, for a range the chain map says this layer
    /// serves: payload of a present block (partially present blocks serve only their present sectors, so the same
    /// formula holds), <see cref="PieceZero"/> for blocks that read as zeros, else <see cref="PieceThroughChain"/>.
    /// </summary>
    private long ExportFileOffset(long offset)
    {
        long block = offset / BlockSize;
        long index = PayloadBatIndex(block);
        ulong entry = GetBatEntry(index);
        return StateOf(entry) switch
        {
            StateFullyPresent or StatePartiallyPresent => PayloadOffset(index, entry) + (offset % BlockSize),
            StateUndefined or StateZero or StateUnmapped or StateUnmappedV095 => PieceZero,
            _ => PieceThroughChain,
        };
    }

    private byte[]? ExportPieceTo(SafeFileHandle output, ExportPiece piece, byte[]? buffer)
    {
        if (piece.FileOffset == PieceZero)
        {
            return buffer;
        }

        long copied = 0;
        if (piece.FileOffset >= 0)
        {
            copied = piece.Layer._storage.CopyTo(output, piece.FileOffset, piece.Offset, piece.Length);
        }

        if (copied == piece.Length)
        {
            return buffer;
        }

        // The platform cannot copy between these files (or the file ended early): read through the chain, which
        // also zero-fills past the end of a truncated file, and leave all-zero chunks as holes.
        buffer ??= GC.AllocateUninitializedArray<byte>(ExportCell, pinned: true);
        Span<byte> data = buffer.AsSpan(0, piece.Length - (int)copied);
        ReadCore(data, piece.Offset + copied);
        WriteNonZero(output, data, piece.Offset + copied);
        return buffer;
    }

    /// <summary>Writes <paramref name="data"/> except its all-zero 64 KiB pieces, which stay holes; one write per run.</summary>
    private static void WriteNonZero(SafeFileHandle output, ReadOnlySpan<byte> data, long offset)
    {
        const int Grain = 64 * 1024;
        int runStart = -1;
        for (int at = 0; at < data.Length; at += Grain)
        {
            bool zero = !data.Slice(at, Math.Min(Grain, data.Length - at)).ContainsAnyExcept((byte)0);
            if (!zero && runStart < 0)
            {
                runStart = at;
            }
            else if (zero && runStart >= 0)
            {
                RandomAccess.Write(output, data[runStart..at], offset + runStart);
                runStart = -1;
            }
        }

        if (runStart >= 0)
        {
            RandomAccess.Write(output, data[runStart..], offset + runStart);
        }
    }
}
