using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Prism.Disks.Errors;
using Prism.Disks.IO;

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

    /// <summary>
    /// Opens an existing regular file. Read-only opens share the file with other readers (parents serve many children).
    /// Never blocks: a FIFO, device, socket or directory, even one swapped in while opening, is refused from the opened
    /// handle with a <see cref="VhdxFormatException"/> for <see cref="VhdxDisk.FileTypeStructure"/>.
    /// </summary>
    public static FileStorage Open(string path, bool writable)
    {
        (SafeFileHandle? handle, string? otherKind) = RegularFile.Open(path, writable);
        if (handle is null)
        {
            throw new VhdxFormatException(path, VhdxDisk.FileTypeStructure, null,
                $"{otherKind}, not a regular file; refusing to open it");
        }

        try
        {
            return new FileStorage(path, handle, writable);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
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

    /// <summary>
    /// On Linux, asks the file system which parts hold data, so sparse BAT regions are skipped: FIEMAP (one ioctl for
    /// thousands of extents), else lseek SEEK_DATA/SEEK_HOLE, else the whole range. Extents closer than 8 KiB are merged
    /// so that one read covers them.
    /// </summary>
    public IEnumerable<(long Start, long End)> GetDataExtents(long start, long end)
    {
        if (!OperatingSystem.IsLinux())
        {
            return [(start, end)];
        }

        List<(long Start, long End)> extents = FiemapExtents(start, end) ?? SeekExtents(start, end);
        var merged = new List<(long Start, long End)>(extents.Count);
        foreach ((long s, long e) in extents)
        {
            long cs = Math.Max(s, start);
            long ce = Math.Min(e, end);
            if (ce <= cs)
            {
                continue;
            }

            if (merged.Count > 0 && cs - merged[^1].End < MergeGap)
            {
                merged[^1] = (merged[^1].Start, Math.Max(merged[^1].End, ce));
            }
            else
            {
                merged.Add((cs, ce));
            }
        }

        return merged;
    }

    /// <summary>
    /// Linux <c>copy_file_range</c>: the kernel moves the bytes between the two files (a reflink on file systems that
    /// share extents, a page-cache copy elsewhere), so the data never crosses into user space.
    /// </summary>
    public long CopyTo(SafeFileHandle destination, long offset, long destinationOffset, long length)
    {
        if (!OperatingSystem.IsLinux() || Volatile.Read(ref s_copyUnsupported))
        {
            return 0;
        }

        long done = 0;
        bool addedIn = false;
        bool addedOut = false;
        try
        {
            _handle.DangerousAddRef(ref addedIn);
            destination.DangerousAddRef(ref addedOut);
            int fdIn = (int)_handle.DangerousGetHandle();
            int fdOut = (int)destination.DangerousGetHandle();
            while (done < length)
            {
                long inOffset = offset + done;
                long outOffset = destinationOffset + done;
                nint n = CopyFileRange(fdIn, ref inOffset, fdOut, ref outOffset, (nuint)(length - done), 0);
                if (n <= 0)
                {
                    // 0: end of this file. Errors such as EXDEV, ENOSYS, EINVAL or EOPNOTSUPP mean this pair of files
                    // cannot be copied this way; the caller copies the rest through a buffer.
                    if (n < 0 && Marshal.GetLastPInvokeError() is ENOSYS)
                    {
                        Volatile.Write(ref s_copyUnsupported, true);
                    }

                    break;
                }

                done += n;
            }
        }
        finally
        {
            if (addedOut)
            {
                destination.DangerousRelease();
            }

            if (addedIn)
            {
                _handle.DangerousRelease();
            }
        }

        return done;
    }

    private static bool s_copyUnsupported;
    private const int ENOSYS = 38;

    private const long MergeGap = 8 * 1024;
    private const uint FsIocFiemap = 0xC020660B;
    private const int FiemapHeaderSize = 32;
    private const int FiemapExtentSize = 56;
    private const uint FiemapExtentLast = 0x1;

    /// <summary>Data extents from the FIEMAP ioctl, or null when the file system does not support it.</summary>
    private List<(long Start, long End)>? FiemapExtents(long start, long end)
    {
        const int MaxExtents = 1024; // a 57 KiB buffer: below the large-object heap, so a map costs no gen-2 collection
        byte[] buf = new byte[FiemapHeaderSize + (MaxExtents * FiemapExtentSize)];
        var result = new List<(long Start, long End)>();
        long pos = start;
        while (pos < end)
        {
            Array.Clear(buf, 0, FiemapHeaderSize);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(buf, (ulong)pos);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(buf.AsSpan(8), (ulong)(end - pos));
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(24), MaxExtents);
            if (WithFd(fd => Ioctl(fd, FsIocFiemap, buf)) != 0)
            {
                return null;
            }

            int mapped = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(20));
            if (mapped == 0)
            {
                break;
            }

            bool last = false;
            for (int i = 0; i < Math.Min(mapped, MaxExtents); i++)
            {
                ReadOnlySpan<byte> e = buf.AsSpan(FiemapHeaderSize + (i * FiemapExtentSize), FiemapExtentSize);
                long logical = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(e);
                long length = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(e[16..]);
                uint flags = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(e[40..]);
                result.Add((logical, logical + length));
                pos = Math.Max(pos, logical + length);
                last |= (flags & FiemapExtentLast) != 0;
            }

            if (last || mapped < MaxExtents)
            {
                break;
            }
        }

        return result;
    }

    private List<(long Start, long End)> SeekExtents(long start, long end)
    {
        var result = new List<(long Start, long End)>();
        long pos = start;
        while (pos < end)
        {
            long data = WithFd(fd => LSeek(fd, pos, SeekData));
            if (data < 0)
            {
                // ENXIO: no data at or after pos; any other error: report the rest as data.
                if (Marshal.GetLastPInvokeError() != ENXIO)
                {
                    result.Add((pos, end));
                }

                break;
            }

            if (data >= end)
            {
                break;
            }

            long hole = WithFd(fd => LSeek(fd, data, SeekHole));
            if (hole < 0 || hole > end)
            {
                hole = end;
            }

            result.Add((data, hole));
            pos = hole;
        }

        return result;
    }

    private const int SeekData = 3;
    private const int SeekHole = 4;
    private const int ENXIO = 6;

    private T WithFd<T>(Func<int, T> call)
    {
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            return call((int)_handle.DangerousGetHandle());
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

    [DllImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Ioctl(int fd, uint request, byte[] buffer);

    [DllImport("libc", EntryPoint = "copy_file_range", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern nint CopyFileRange(int fdIn, ref long offIn, int fdOut, ref long offOut, nuint length, uint flags);
#pragma warning restore SYSLIB1054

    public void Dispose() => _handle.Dispose();
}
