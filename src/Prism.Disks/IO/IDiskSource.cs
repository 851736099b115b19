namespace Prism.Disks.IO;

/// <summary>
/// A positional, read-only view of bytes (a virtual disk, a partition, a raw image).
/// There is no shared position, so one instance can serve many concurrent readers.
/// </summary>
public interface IDiskSource
{
    /// <summary>Length of the source in bytes.</summary>
    long Length { get; }

    /// <summary>
    /// Reads up to <c>buffer.Length</c> bytes starting at <paramref name="offset"/>.
    /// Returns the number of bytes read: less than requested only at the end of the source, 0 at or past it.
    /// Implementations must be safe for concurrent calls.
    /// </summary>
    /// <param name="buffer">Destination.</param>
    /// <param name="offset">Byte offset into the source.</param>
    int Read(Span<byte> buffer, long offset);
}
