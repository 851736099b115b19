using Microsoft.Win32.SafeHandles;

namespace Prism.Disks.IO;

/// <summary>A raw image file read with positional I/O; opened read-only and shareable.</summary>
public sealed class FileDiskSource : IDiskSource, IDisposable
{
    private readonly SafeFileHandle _handle;

    /// <summary>Opens <paramref name="path"/> for reading. Never blocks: a FIFO, device, socket or directory is refused.</summary>
    /// <exception cref="IOException">The path is not a regular file, or cannot be opened.</exception>
    public FileDiskSource(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        Path = path;
        (SafeFileHandle? handle, string? otherKind) = RegularFile.Open(path, writable: false);
        _handle = handle ?? throw new IOException($"{path}: {otherKind}, not a regular file; refusing to open it");
        Length = RandomAccess.GetLength(_handle);
    }

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public long Length { get; }

    /// <inheritdoc />
    public int Read(Span<byte> buffer, long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset >= Length)
        {
            return 0;
        }

        int want = (int)Math.Min(buffer.Length, Length - offset);
        int total = 0;
        while (total < want)
        {
            int n = RandomAccess.Read(_handle, buffer[total..want], offset + total);
            if (n <= 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }

    /// <inheritdoc />
    public void Dispose() => _handle.Dispose();
}
