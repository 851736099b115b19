using Prism.Disks.Vhdx;

namespace Prism.Disks.Tests.Vhdx;

/// <summary>
/// A sparse in-memory container (4 KiB pages, so multi-GiB test disks cost only what is written) that simulates a
/// power cut in the middle of a log write: the <c>tearAt</c>-th write into [logStart, logEnd) stores only its first
/// <c>keptBytes</c> (rounded down to 4 KiB pieces) and throws, and every later call throws too. Everything written
/// before counts as durable: the engine flushes after every log entry and after applying it.
/// </summary>
internal sealed class TornLogStorage : IVhdxStorage
{
    private const int PageSize = 4096;
    private readonly Dictionary<long, byte[]> _pages;
    private readonly long _logStart;
    private readonly long _logEnd;
    private readonly int _tearAt;
    private readonly int _keptBytes;

    public TornLogStorage(string path, Dictionary<long, byte[]> pages, long length, long logStart, long logEnd, int tearAt, int keptBytes,
        bool canWrite = true)
    {
        Path = path;
        CanWrite = canWrite;
        _pages = pages;
        Length = length;
        _logStart = logStart;
        _logEnd = logEnd;
        _tearAt = tearAt;
        _keptBytes = keptBytes;
    }

    public static TornLogStorage FromImage(string path, byte[] image, long logStart, long logEnd, int tearAt = 0, int keptBytes = 0)
    {
        var storage = new TornLogStorage(path, [], 0, logStart, logEnd, tearAt, keptBytes);
        storage.Store(image, 0);
        return storage;
    }

    public string Path { get; }

    public bool CanWrite { get; }

    public long Length { get; private set; }

    /// <summary>Writes that touched the log region so far (including the torn one).</summary>
    public int LogWrites { get; private set; }

    public bool Crashed { get; private set; }

    /// <summary>What survived the cut, as a fresh storage that never tears.</summary>
    public TornLogStorage Survivor(bool canWrite) =>
        new(Path, _pages.ToDictionary(kv => kv.Key, kv => (byte[])kv.Value.Clone()), Length, _logStart, _logEnd, 0, 0, canWrite);

    public int Read(Span<byte> buffer, long offset)
    {
        if (offset >= Length)
        {
            return 0;
        }

        int n = (int)Math.Min(buffer.Length, Length - offset);
        for (int done = 0; done < n;)
        {
            long pos = offset + done;
            int inPage = (int)(pos % PageSize);
            int take = Math.Min(n - done, PageSize - inPage);
            Span<byte> target = buffer.Slice(done, take);
            if (_pages.TryGetValue(pos - inPage, out byte[]? page))
            {
                page.AsSpan(inPage, take).CopyTo(target);
            }
            else
            {
                target.Clear();
            }

            done += take;
        }

        return n;
    }

    public void Write(ReadOnlySpan<byte> buffer, long offset)
    {
        ThrowIfCrashed();
        if (!CanWrite)
        {
            throw new InvalidOperationException("read-only storage");
        }

        if (offset < _logEnd && offset + buffer.Length > _logStart)
        {
            LogWrites++;
            if (LogWrites == _tearAt)
            {
                Crashed = true;
                Store(buffer[..(Math.Min(_keptBytes, buffer.Length) / PageSize * PageSize)], offset);
                throw new IOException("injected power cut in the middle of a log write");
            }
        }

        Store(buffer, offset);
    }

    public void SetLength(long length)
    {
        ThrowIfCrashed();
        if (!CanWrite)
        {
            throw new InvalidOperationException("read-only storage");
        }

        foreach (long key in _pages.Keys.Where(k => k >= length).ToList())
        {
            _pages.Remove(key);
        }

        if (length % PageSize != 0 && _pages.TryGetValue(length - (length % PageSize), out byte[]? last))
        {
            last.AsSpan((int)(length % PageSize)).Clear();
        }

        Length = length;
    }

    public void Flush() => ThrowIfCrashed();

    public void Dispose()
    {
    }

    private void Store(ReadOnlySpan<byte> buffer, long offset)
    {
        for (int done = 0; done < buffer.Length;)
        {
            long pos = offset + done;
            int inPage = (int)(pos % PageSize);
            int take = Math.Min(buffer.Length - done, PageSize - inPage);
            if (!_pages.TryGetValue(pos - inPage, out byte[]? page))
            {
                _pages[pos - inPage] = page = new byte[PageSize];
            }

            buffer.Slice(done, take).CopyTo(page.AsSpan(inPage));
            done += take;
        }

        Length = Math.Max(Length, offset + buffer.Length);
    }

    private void ThrowIfCrashed()
    {
        if (Crashed)
        {
            throw new IOException("injected power cut (storage is gone)");
        }
    }
}
