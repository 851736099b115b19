using System.Buffers;

namespace Prism.Disks.Ntfs;

/// <summary>
/// The base records that up to <see cref="Capacity"/> directory entries point to, as slots in record order: each
/// distinct record inside $MFT gets one slot, owned by the first entry naming it. The slots are read with few large
/// reads (neighbours on $MFT share one) into one reused buffer, then each slot is parsed once (fixups are applied in
/// place). Entries without a slot (a record outside $MFT, a second name of a record) are left to
/// <see cref="MasterFileTable.LoadFile(long, ushort?)"/>, so results and errors are the same as loading one by one.
/// One thread at a time uses a batch.
/// </summary>
internal sealed class RecordBatch : IDisposable
{
    public const int MaxRecords = 256;
    private const int MaxRawBytes = 1024 * 1024;

    private readonly MasterFileTable _mft;
    private readonly long[] _numbers = new long[MaxRecords];
    private readonly int[] _owners = new int[MaxRecords];
    private readonly int[] _order = new int[MaxRecords];
    private readonly byte[] _raw;

    public RecordBatch(MasterFileTable mft)
    {
        _mft = mft;
        Capacity = Math.Clamp(MaxRawBytes / mft.RecordSize, 16, MaxRecords);
        // Pooled: a fresh buffer of this size per walk would go to the large object heap, and only a full collection
        // reclaims those.
        _raw = ArrayPool<byte>.Shared.Rent(Capacity * mft.RecordSize);
    }

    /// <summary>Gives the raw buffer back; the batch is not used after this.</summary>
    public void Dispose() => ArrayPool<byte>.Shared.Return(_raw);

    /// <summary>Most entries per batch: <see cref="MaxRecords"/>, fewer for large records (the raw buffer stays near 1 MiB).</summary>
    public int Capacity { get; }

    /// <summary>Number of slots (distinct records) of the current batch.</summary>
    public int Count { get; private set; }

    /// <summary>Index (into the numbers given to <see cref="Load"/>) of the entry that owns a slot.</summary>
    public int OwnerOf(int slot) => _owners[slot];

    /// <summary>
    /// Starts a batch for entries naming <paramref name="recordNumbers"/> (any order, repeats allowed, at most
    /// <see cref="Capacity"/>); reads nothing yet.
    /// </summary>
    public void Load(ReadOnlySpan<long> recordNumbers)
    {
        if (recordNumbers.Length > Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(recordNumbers), $"at most {Capacity} records per batch");
        }

        int n = 0;
        for (int i = 0; i < recordNumbers.Length; i++)
        {
            if (recordNumbers[i] >= 0 && recordNumbers[i] < _mft.RecordCount)
            {
                _numbers[n] = recordNumbers[i];
                _order[n++] = i;
            }
        }

        // Sorting (number, entry index) pairs keeps the first entry of each record first among equals.
        _numbers.AsSpan(0, n).Sort(_order.AsSpan(0, n));
        int count = 0;
        for (int i = 0; i < n; i++)
        {
            if (count > 0 && _numbers[i] == _numbers[count - 1])
            {
                _owners[count - 1] = Math.Min(_owners[count - 1], _order[i]);
                continue;
            }

            _numbers[count] = _numbers[i];
            _owners[count++] = _order[i];
        }

        Count = count;
    }

    /// <summary>
    /// Reads every slot; false when a read fails, whatever the failure: the records are then loaded one by one, where the
    /// same failure surfaces (or not) at the entry it belongs to.
    /// </summary>
    public bool TryRead()
    {
        try
        {
            _mft.ReadRaw(_numbers.AsSpan(0, Count), _raw.AsSpan(0, Count * _mft.RecordSize));
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    }

    /// <summary>
    /// Checks and lays out a slot read by <see cref="TryRead"/> (fixing it up in place) and returns its bytes; throws like
    /// <see cref="MasterFileTable.ReadRecord"/>. Once per slot.
    /// </summary>
    public Span<byte> Read(int slot, RecordLayout layout)
    {
        Span<byte> record = _raw.AsSpan(slot * _mft.RecordSize, _mft.RecordSize);
        _mft.ReadLayout(record, _numbers[slot], layout);
        return record;
    }
}
