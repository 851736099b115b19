namespace Prism.Disks.Vhdx;

/// <summary>
/// The container file under a VHDX layer: positional reads and writes, length, durability barrier.
/// Separate from the file system so tests can inject faults and simulate crashes.
/// </summary>
internal interface IVhdxStorage : IDisposable
{
    /// <summary>Path (for messages and for resolving parents).</summary>
    string Path { get; }

    bool CanWrite { get; }

    long Length { get; }

    /// <summary>Reads up to <c>buffer.Length</c> bytes; fewer only at end of file.</summary>
    int Read(Span<byte> buffer, long offset);

    void Write(ReadOnlySpan<byte> buffer, long offset);

    void SetLength(long length);

    /// <summary>Durability barrier: everything written before it is on stable storage when it returns.</summary>
    void Flush();

    /// <summary>
    /// The parts of [<paramref name="start"/>, <paramref name="end"/>) that may hold data, ascending; holes of a sparse
    /// file are left out where the platform can tell. The default is the whole range.
    /// </summary>
    IEnumerable<(long Start, long End)> GetDataExtents(long start, long end) => [(start, end)];

    /// <summary>
    /// Copies up to <paramref name="length"/> bytes from this file at <paramref name="offset"/> to
    /// <paramref name="destination"/> at <paramref name="destinationOffset"/> without passing them through this process,
    /// where the platform can. Returns how many bytes were copied: fewer (down to 0) when the platform cannot copy
    /// between these files or this file ends first; the caller copies the rest itself. The default copies nothing.
    /// </summary>
    long CopyTo(Microsoft.Win32.SafeHandles.SafeFileHandle destination, long offset, long destinationOffset, long length) => 0;
}
