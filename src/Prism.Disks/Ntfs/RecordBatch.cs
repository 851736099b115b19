using Prism.Disks.Errors;

namespace Prism.Disks.Ntfs;

/// <summary>
/// The base records that up to <see cref="MaxRecords"/> directory entries point to, read in record order with few
/// large reads (neighbours on $MFT share one) into one reused buffer and parsed when asked for. Anything the batch
/// cannot serve (a record outside $MFT, a failed read, a record asked for twice) goes through
/// <see cref="MasterFileTable.LoadFile(long, ushort?)"/>, so results and errors are the same as loading one by one.
/// Not thread-safe: one per enumeration.
/// </summary>
internal sealed class RecordBatch
{
    public const int MaxRecords = 512;

    private readonly MasterFileTable _mft;
    private readonly long[] _numbers = new long[MaxRecords];
    private readonly bool[] _consumed = new bool[MaxRecords];
    private readonly byte[] _raw;
    private int _count;

    public RecordBatch(MasterFileTable mft)
    {
        _mft = mft;
        _raw = new byte[MaxRecords * mft.RecordSize];
    }

    /// <summary>Reads the records <paramref name="recordNumbers"/> (any order, repeats allowed, at most <see cref="MaxRecords"/>).</summary>
    public void Load(ReadOnlySpan<long> recordNumbers)
    {
        if (recordNumbers.Length > MaxRecords)
        {
            throw new ArgumentOutOfRangeException(nameof(recordNumbers), $"at most {MaxRecords} records per batch");
        }

        int n = 0;
        foreach (long number in recordNumbers)
        {
            if (number >= 0 && number < _mft.RecordCount)
            {
                _numbers[n++] = number;
            }
        }

        Span<long> numbers = _numbers.AsSpan(0, n);
        numbers.Sort();
        _count = 0;
        for (int i = 0; i < numbers.Length; i++)
        {
            if (_count == 0 || numbers[i] != numbers[_count - 1])
            {
                numbers[_count++] = numbers[i];
            }
        }

        Array.Clear(_consumed, 0, _count);
        try
        {
            _mft.ReadRaw(_numbers.AsSpan(0, _count), _raw);
        }
        catch (Exception ex) when (ex is DiskFormatException or EndOfStreamException)
        {
            // Record by record instead, so each one fails (or not) on its own.
            _count = 0;
        }
    }

    /// <summary>What <see cref="MasterFileTable.LoadFile(long, ushort?)"/> returns or throws for the record.</summary>
    public NtfsFile LoadFile(long number, ushort? expectedSequence)
    {
        int i = IndexOf(number);

        // Fixups are applied in place, so each raw record is parsed once; a second name for it reads it again.
        if (i < 0 || _consumed[i])
        {
            return _mft.LoadFile(number, expectedSequence);
        }

        _consumed[i] = true;
        int size = _mft.RecordSize;
        return _mft.LoadFile(_mft.ParseRecord(_raw.AsSpan(i * size, size), number), expectedSequence);
    }

    private int IndexOf(long number)
    {
        int lo = 0, hi = _count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            long n = _numbers[mid];
            if (n == number)
            {
                return mid;
            }

            if (n < number)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return -1;
    }
}
