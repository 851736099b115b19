using Prism.Disks.IO;

namespace Prism.Scanner.Fleet;

/// <summary>Counts every byte read through it (the "bytes read" of a scan report).</summary>
internal sealed class CountingSource(IDiskSource inner) : IDiskSource
{
    private long _bytesRead;

    public long Length => inner.Length;

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public int Read(Span<byte> buffer, long offset)
    {
        int n = inner.Read(buffer, offset);
        Interlocked.Add(ref _bytesRead, n);
        return n;
    }
}
