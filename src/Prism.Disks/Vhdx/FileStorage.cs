using Microsoft.Win32.SafeHandles;

namespace Prism.Disks.Vhdx;

/// <summary>A VHDX container file accessed with positional I/O on one handle.</summary>
internal sealed class FileStorage : IVhdxStorage
{
    private readonly SafeFileHandle _handle;
    private long _length;

    private FileStorage(string path, SafeFileHandle handle, bool canWrite)
    {
        Path = path;
        _handle = handle;
        CanWrite = canWrite;
        _length = RandomAccess.GetLength(handle);
    }

    public string Path { get; }

    public bool CanWrite { get; }

    public long Length => Volatile.Read(ref _length);

    /// <summary>Opens an existing file. Read-only opens share the file with other readers (parents serve many children).</summary>
    public static FileStorage Open(string path, bool writable)
    {
        SafeFileHandle handle = writable
            ? File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read)
            : File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        return new FileStorage(path, handle, writable);
    }

    /// <summary>Creates a new file (fails if it exists), optionally preallocating <paramref name="preallocate"/> bytes.</summary>
    public static FileStorage Create(string path, long preallocate = 0)
    {
        SafeFileHandle handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None,
            FileOptions.None, preallocate);
        return new FileStorage(path, handle, true);
    }

    public int Read(Span<byte> buffer, long offset)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = RandomAccess.Read(_handle, buffer[total..], offset + total);
            if (n <= 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }

    public void Write(ReadOnlySpan<byte> buffer, long offset)
    {
        RandomAccess.Write(_handle, buffer, offset);
        long end = offset + buffer.Length;
        if (end > _length)
        {
            Volatile.Write(ref _length, end);
        }
    }

    public void SetLength(long length)
    {
        RandomAccess.SetLength(_handle, length);
        Volatile.Write(ref _length, length);
    }

    public void Flush() => RandomAccess.FlushToDisk(_handle);

    public void Dispose() => _handle.Dispose();
}
