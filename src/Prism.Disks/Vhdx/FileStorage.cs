using System.Runtime.InteropServices;
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

    /// <summary>On Linux, asks the file system for data extents (lseek SEEK_DATA/SEEK_HOLE) so sparse BAT regions are skipped.</summary>
    public IEnumerable<(long Start, long End)> GetDataExtents(long start, long end)
    {
        if (!OperatingSystem.IsLinux())
        {
            yield return (start, end);
            yield break;
        }

        long pos = start;
        while (pos < end)
        {
            long data = Seek(pos, SeekData);
            if (data < 0)
            {
                // ENXIO: no data at or after pos (or the call is unsupported: then report the rest as data).
                if (Marshal.GetLastPInvokeError() != ENXIO)
                {
                    yield return (pos, end);
                }

                yield break;
            }

            if (data >= end)
            {
                yield break;
            }

            long hole = Seek(data, SeekHole);
            if (hole < 0 || hole > end)
            {
                hole = end;
            }

            yield return (data, hole);
            pos = hole;
        }
    }

    private const int SeekData = 3;
    private const int SeekHole = 4;
    private const int ENXIO = 6;

    private long Seek(long offset, int whence)
    {
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            return LSeek((int)_handle.DangerousGetHandle(), offset, whence);
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code, which this project does not allow.
    [DllImport("libc", EntryPoint = "lseek", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern long LSeek(int fd, long offset, int whence);
#pragma warning restore SYSLIB1054

    public void Dispose() => _handle.Dispose();
}
