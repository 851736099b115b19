using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Prism.Disks.IO;

/// <summary>
/// Which file a path names, independent of the name: device and inode (Linux <c>statx</c>), so a hard link or a
/// symbolic link to a file has the same identity as the file itself.
/// </summary>
/// <param name="DeviceMajor">Major number of the device holding the file.</param>
/// <param name="DeviceMinor">Minor number of the device holding the file.</param>
/// <param name="Inode">Inode number on that device.</param>
/// <param name="IsRegularFile">True for a regular file (not a directory, FIFO, socket or device).</param>
public readonly record struct FileIdentity(uint DeviceMajor, uint DeviceMinor, ulong Inode, bool IsRegularFile)
{
    private const int AtFdCwd = -100;
    private const uint StatxBasicStats = 0x7FF;

    private static class Offsets
    {
        public const int Mask = 0, Mode = 28, Inode = 32, DeviceMajor = 136, DeviceMinor = 140;
    }

    /// <summary>True when <paramref name="other"/> is the same file (device and inode).</summary>
    public bool IsSameFile(FileIdentity other) =>
        DeviceMajor == other.DeviceMajor && DeviceMinor == other.DeviceMinor && Inode == other.Inode;

    /// <summary>
    /// The identity of the file <paramref name="path"/> names, following symbolic links; false when nothing is there
    /// (or a dangling link), or when the platform has no <c>statx</c> (identity is then unknown and callers compare paths only).
    /// </summary>
    public static bool TryGet(string path, out FileIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(path);
        identity = default;
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        // statx(AT_FDCWD, path, AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS): one fixed layout on every Linux architecture;
        // it never opens the file, so a FIFO cannot block it.
        byte[] buffer = new byte[256];
        if (Statx(AtFdCwd, path, 0, StatxBasicStats, buffer) != 0)
        {
            return false;
        }

        uint mask = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(Offsets.Mask));
        if ((mask & 0x101) != 0x101)
        {
            // STATX_TYPE and STATX_INO are always filled on Linux; without them there is no identity to compare.
            return false;
        }

        int mode = BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(Offsets.Mode));
        identity = new FileIdentity(
            BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(Offsets.DeviceMajor)),
            BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(Offsets.DeviceMinor)),
            BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(Offsets.Inode)),
            (mode & 0xF000) == 0x8000);
        return true;
    }

    /// <summary>
    /// The canonical path of <paramref name="path"/>: absolute, with every symbolic link of its directories and of the
    /// name itself resolved (<c>realpath</c>); for a name that does not exist yet, its resolved directory plus the name.
    /// Off Linux, the full path.
    /// </summary>
    public static string ResolvePath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        if (!OperatingSystem.IsLinux())
        {
            return full;
        }

        for (int hops = 0; hops < 40; hops++)
        {
            if (RealPath(full) is { } real)
            {
                return real;
            }

            // A dangling symbolic link: follow it by hand (its target is where a write would land).
            var info = new FileInfo(full);
            if (info.LinkTarget is { } target)
            {
                full = Path.GetFullPath(target, Path.GetDirectoryName(full)!);
                continue;
            }

            string? dir = Path.GetDirectoryName(full);
            if (dir is null)
            {
                return full;
            }

            string name = Path.GetFileName(full);
            return Path.Combine(ResolvePath(dir), name);
        }

        return full;
    }

    private static string? RealPath(string path)
    {
        IntPtr p = Realpath(path, IntPtr.Zero);
        if (p == IntPtr.Zero)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(p);
        }
        finally
        {
            Free(p);
        }
    }

#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code, which this project does not allow.
    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);

    [DllImport("libc", EntryPoint = "realpath", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern IntPtr Realpath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);

    [DllImport("libc", EntryPoint = "free")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern void Free(IntPtr p);
#pragma warning restore SYSLIB1054
}
