using System.Buffers;
using Prism.Disks.Errors;
using Prism.Disks.IO;

namespace Prism.Disks.Ntfs;

/// <summary>
/// The content of one attribute stream as an <see cref="IDiskSource"/>: resident bytes, runs read from the volume,
/// zeros for sparse runs and past the initialized size, LZNT1 compression units decompressed on demand.
/// </summary>
internal sealed class NtfsStreamSource : IDiskSource
{
    private const long MaxUnitBytes = 1024 * 1024;
    private readonly IDiskSource _volume;
    private readonly NtfsAttribute _data;
    private readonly ReadOnlyMemory<byte> _resident;
    private readonly int _clusterSize;
    private readonly string? _volumeName;
    private readonly long _recordNumber;
    private readonly Lock _cacheLock = new();
    private long _cachedUnit = -1;
    private byte[]? _cachedUnitData;

    /// <summary>A source over <paramref name="data"/>, whose resident value (if any) it holds.</summary>
    /// <exception cref="ArgumentException">The value is deferred: open it through <see cref="MasterFileTable.OpenStream"/>.</exception>
    public NtfsStreamSource(IDiskSource volume, NtfsAttribute data, int clusterSize, string? volumeName, long recordNumber)
        : this(volume, data, clusterSize, volumeName, recordNumber, data.Value)
    {
        if (data.IsValueDeferred && data.DataSize > 0)
        {
            throw new ArgumentException($"the resident value of stream \"{data.Name}\" of record {data.RecordNumber} was not read", nameof(data));
        }
    }

    /// <summary>A source over <paramref name="data"/> with its resident value in <paramref name="resident"/>.</summary>
    public NtfsStreamSource(IDiskSource volume, NtfsAttribute data, int clusterSize, string? volumeName, long recordNumber,
        ReadOnlyMemory<byte> resident)
    {
        _volume = volume;
        _data = data;
        _resident = resident;
        _clusterSize = clusterSize;
        _volumeName = volumeName;
        _recordNumber = recordNumber;
        Validate(data, clusterSize, volumeName, recordNumber);
    }

    /// <summary>
    /// The checks the constructor makes (sizes against runs, a supported compression unit), without building a source:
    /// throws <see cref="NtfsFormatException"/> for a stream that could not be read.
    /// </summary>
    public static void Validate(NtfsAttribute data, int clusterSize, string? volumeName, long recordNumber) =>
        Validate(data.Name, data.IsResident, data.IsCompressed, data.CompressionUnitLog2, data.MappedClusters, data.DataSize, clusterSize,
            volumeName, recordNumber);

    /// <summary><see cref="Validate(NtfsAttribute, int, string?, long)"/> for a stream given by its fields.</summary>
    public static void Validate(string name, bool isResident, bool isCompressed, int compressionUnitLog2, long mappedClusters, long dataSize,
        int clusterSize, string? volumeName, long recordNumber)
    {
        // NTFS compresses in units of 16 clusters of at most 4 KiB; accept up to 1 MiB units so a corrupt
        // compression-unit field cannot make us allocate hundreds of MiB per unit.
        if (!isResident && isCompressed
            && (compressionUnitLog2 == 0 || clusterSize > 4096 || ((long)clusterSize << compressionUnitLog2) > MaxUnitBytes))
        {
            throw Error(name, volumeName, recordNumber, 0,
                $"compressed stream with compression unit 2^{compressionUnitLog2} and {clusterSize}-byte clusters is unsupported");
        }

        long limit = mappedClusters * clusterSize;
        if (!isResident && dataSize > limit)
        {
            throw Error(name, volumeName, recordNumber, 0, $"data size {dataSize} exceeds the {limit} bytes its runs map");
        }
    }

    public long Length => _data.IsResident ? _resident.Length : _data.DataSize;

    public int Read(Span<byte> buffer, long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset >= Length)
        {
            return 0;
        }

        int n = (int)Math.Min(buffer.Length, Length - offset);
        if (_data.IsResident)
        {
            _resident.Span.Slice((int)offset, n).CopyTo(buffer);
            return n;
        }

        if (_data.IsCompressed)
        {
            ReadCompressed(buffer[..n], offset);
        }
        else
        {
            ReadPlain(buffer[..n], offset);
        }

        return n;
    }

    private void ReadPlain(Span<byte> buffer, long offset)
    {
        int done = 0;
        int runIndex = FindRun(offset / _clusterSize);
        while (done < buffer.Length)
        {
            long pos = offset + done;
            int remaining = buffer.Length - done;
            if (pos >= _data.InitializedSize)
            {
                buffer[done..].Clear();
                return;
            }

            while (runIndex < _data.Runs.Length && _data.Runs[runIndex].NextVcn * _clusterSize <= pos)
            {
                runIndex++;
            }

            if (runIndex >= _data.Runs.Length || _data.Runs[runIndex].Vcn * _clusterSize > pos)
            {
                throw Error(pos, $"VCN {pos / _clusterSize} is not mapped by any run");
            }

            DataRun run = _data.Runs[runIndex];
            long runEnd = Math.Min(run.NextVcn * _clusterSize, _data.InitializedSize);
            int chunk = (int)Math.Min(remaining, runEnd - pos);
            Span<byte> target = buffer.Slice(done, chunk);
            if (run.IsSparse)
            {
                target.Clear();
            }
            else
            {
                _volume.ReadExactly(target, (run.Lcn * _clusterSize) + (pos - (run.Vcn * _clusterSize)));
            }

            done += chunk;
        }
    }

    private void ReadCompressed(Span<byte> buffer, long offset)
    {
        long unitClusters = 1L << _data.CompressionUnitLog2;
        int unitBytes = (int)(unitClusters * _clusterSize);
        int done = 0;
        while (done < buffer.Length)
        {
            long pos = offset + done;
            long unit = pos / unitBytes;
            int inUnit = (int)(pos - (unit * unitBytes));
            int chunk = Math.Min(buffer.Length - done, unitBytes - inUnit);
            lock (_cacheLock)
            {
                if (_cachedUnit != unit || _cachedUnitData is null)
                {
                    _cachedUnitData ??= new byte[unitBytes];
                    LoadUnit(unit, unitClusters, _cachedUnitData);
                    _cachedUnit = unit;
                }

                _cachedUnitData.AsSpan(inUnit, chunk).CopyTo(buffer.Slice(done, chunk));
            }

            long initEnd = _data.InitializedSize - pos;
            if (initEnd < chunk)
            {
                buffer.Slice(done + (int)Math.Max(initEnd, 0), chunk - (int)Math.Max(initEnd, 0)).Clear();
            }

            done += chunk;
        }
    }

    // A unit of 2^n clusters is stored raw when all its clusters are allocated, is all zeros when none is,
    // and otherwise holds LZNT1 data in its allocated clusters followed by sparse clusters.
    private void LoadUnit(long unit, long unitClusters, byte[] output)
    {
        _cachedUnit = -1;
        long firstVcn = unit * unitClusters;
        long endVcn = firstVcn + unitClusters;
        long allocated = 0;
        int runIndex = FindRun(firstVcn);
        for (int i = runIndex; i < _data.Runs.Length && _data.Runs[i].Vcn < endVcn; i++)
        {
            DataRun r = _data.Runs[i];
            if (!r.IsSparse)
            {
                allocated += Math.Min(r.NextVcn, endVcn) - Math.Max(r.Vcn, firstVcn);
            }
        }

        if (allocated == 0)
        {
            Array.Clear(output);
            return;
        }

        byte[] raw = allocated == unitClusters ? output : ArrayPool<byte>.Shared.Rent((int)(allocated * _clusterSize));
        try
        {
            int filled = 0;
            for (int i = runIndex; i < _data.Runs.Length && _data.Runs[i].Vcn < endVcn; i++)
            {
                DataRun r = _data.Runs[i];
                if (r.IsSparse)
                {
                    continue;
                }

                long from = Math.Max(r.Vcn, firstVcn);
                long count = Math.Min(r.NextVcn, endVcn) - from;
                int bytes = (int)(count * _clusterSize);
                _volume.ReadExactly(raw.AsSpan(filled, bytes), (r.Lcn + (from - r.Vcn)) * _clusterSize);
                filled += bytes;
            }

            if (allocated == unitClusters)
            {
                return;
            }

            int produced = Lznt1.Decompress(raw.AsSpan(0, filled), output, out string? problem);
            if (produced < 0)
            {
                throw Error(firstVcn * _clusterSize, $"LZNT1 compression unit {unit}: {problem}");
            }

            output.AsSpan(produced).Clear();
        }
        finally
        {
            if (!ReferenceEquals(raw, output))
            {
                ArrayPool<byte>.Shared.Return(raw);
            }
        }
    }

    private int FindRun(long vcn)
    {
        int lo = 0;
        int hi = _data.Runs.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            DataRun r = _data.Runs[mid];
            if (vcn < r.Vcn)
            {
                hi = mid - 1;
            }
            else if (vcn >= r.NextVcn)
            {
                lo = mid + 1;
            }
            else
            {
                return mid;
            }
        }

        return Math.Min(lo, _data.Runs.Length);
    }

    private NtfsFormatException Error(long streamOffset, string detail) => Error(_data.Name, _volumeName, _recordNumber, streamOffset, detail);

    private static NtfsFormatException Error(string name, string? volumeName, long recordNumber, long streamOffset, string detail) =>
        new(volumeName, $"NTFS stream \"{name}\" of file record {recordNumber}", streamOffset,
            detail)
        { RecordNumber = recordNumber };
}
