namespace Prism.Disks.IO;

/// <summary>
/// Counts every byte read through it: the "bytes read" of a scan report, and what a benchmark or test measures of a walk.
/// Thread-safe; reads are passed through unchanged.
/// </summary>
public sealed class CountingSource(IDiskSource inner) : IDiskSource
{
    private long _bytesRead;

    /// <inheritdoc/>
    public long Length => inner.Length;

    /// <summary>Bytes read through this source so far.</summary>
    public long BytesRead => Interlocked.Read(ref _bytesRead);

    /// <inheritdoc/>
    public int Read(Span<byte> buffer, long offset)
    {
        int n = inner.Read(buffer, offset);
        Interlocked.Add(ref _bytesRead, n);
        return n;
    }
}
