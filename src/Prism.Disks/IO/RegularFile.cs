using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Prism.Disks.IO;

/// <summary>
/// Opens a path that must be a regular file, race-free: open first (non-blocking, so a FIFO or device can never make
/// the open wait), then check the type of what was opened (the handle, not the path), so no rename or symlink swap
/// between a check and the open can slip a FIFO, device, directory or socket in.
/// </summary>
/// <remarks>
/// The final component may be a symlink: goldens are often reached through one (<c>current.vhdx</c> pointing at the
/// latest image), and a clone's locator records the path the golden was registered under. Refusing symlinks
/// (O_NOFOLLOW) would break those chains and protect nothing here, because what matters is what the opened handle is:
/// a regular file that then has to start with the VHDX identifier before anything else is read.
/// </remarks>
internal static class RegularFile
{
    /// <summary>
    /// Opens <paramref name="path"/> for reading (and writing when <paramref name="writable"/>), sharing it with other
    /// readers. Returns the handle and null, or no handle and the kind of the non-regular file that was found
    /// ("a FIFO", "a directory", ...). Throws FileNotFoundException, UnauthorizedAccessException or IOException when
    /// the open itself fails.
    /// </summary>
    public static (SafeFileHandle? Handle, string? OtherKind) Open(string path, bool writable)
    {
        if (!OperatingSystem.IsLinux())
        {
            if (Directory.Exists(path))
            {
                return (null, "a directory");
            }

            SafeFileHandle h = writable
                ? File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read)
                : File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
            return (h, null);
        }

        // O_NONBLOCK: opening a FIFO without a writer (or some devices) would otherwise wait forever. It does not change
        // reads or writes of regular files, the only kind this returns. O_NOCTTY: a terminal swapped in never becomes ours.
        int flags = (writable ? ORdWr : ORdOnly) | ONonBlock | ONoCtty | OCloExec;
        int fd = OpenFd(path, flags);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                ENOENT => new FileNotFoundException($"{path}: no such file", path),
                EACCES or EPERM => new UnauthorizedAccessException($"{path}: permission denied"),
                EISDIR => new IOException($"{path}: is a directory"),
                _ => new IOException($"{path}: cannot open ({Marshal.GetPInvokeErrorMessage(errno)})"),
            };
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            string? kind = KindOf(handle);
            if (kind is not null)
            {
                handle.Dispose();
                return (null, kind);
            }

            // The shared advisory lock File.OpenHandle takes for FileShare.Read: a file being created under an exclusive
            // lock (FileShare.None) is not opened half-written.
            if (Flock(fd, LockSh | LockNb) != 0 && Marshal.GetLastPInvokeError() == EWOULDBLOCK)
            {
                handle.Dispose();
                throw new IOException($"{path}: in use by another process (locked exclusively)");
            }

            return (handle, null);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Null for a regular file, else what the opened handle is ("a FIFO", "a block device", ...).</summary>
    private static string? KindOf(SafeFileHandle handle)
    {
        byte[] statxBuffer = new byte[256];
        bool added = false;
        int rc;
        try
        {
            handle.DangerousAddRef(ref added);

            // statx(fd, "", AT_EMPTY_PATH, STATX_TYPE): the type of the open file itself; one fixed layout on every
            // Linux architecture (struct stat differs between them).
            rc = Statx((int)handle.DangerousGetHandle(), "", AtEmptyPath, StatxType, statxBuffer);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }

        if (rc != 0)
        {
            return $"a file whose type cannot be read ({Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())})";
        }

        int mode = BitConverter.ToUInt16(statxBuffer, StatxModeOffset) & SIfMt;
        return mode switch
        {
            SIfReg => null,
            SIfDir => "a directory",
            SIfIfo => "a FIFO",
            SIfChr => "a character device",
            SIfBlk => "a block device",
            SIfSock => "a socket",
            _ => $"a file of type 0{mode >> 12:X}",
        };
    }

    private const int ORdOnly = 0, ORdWr = 2, ONoCtty = 0x100, ONonBlock = 0x800, OCloExec = 0x80000;
    private const int ENOENT = 2, EPERM = 1, EACCES = 13, EISDIR = 21, EWOULDBLOCK = 11;
    private const int LockSh = 1, LockNb = 4;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxType = 0x1;
    private const int StatxModeOffset = 28;
    private const int SIfMt = 0xF000, SIfReg = 0x8000, SIfDir = 0x4000, SIfIfo = 0x1000, SIfChr = 0x2000, SIfBlk = 0x6000, SIfSock = 0xC000;

#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code, which this project does not allow.
    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int OpenFd([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "flock", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Flock(int fd, int operation);

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
#pragma warning restore SYSLIB1054
}
