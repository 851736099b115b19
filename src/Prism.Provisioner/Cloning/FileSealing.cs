using System.Runtime.InteropServices;

namespace Prism.Provisioner.Cloning;

/// <summary>Sealing golden files (read-only) and making a batch of new files durable with one barrier.</summary>
internal static class FileSealing
{
    private const UnixFileMode WriteBits = UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;

    public static void Seal(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            File.SetAttributes(path, File.GetAttributes(path) | FileAttributes.ReadOnly);
        }
        else
        {
            File.SetUnixFileMode(path, File.GetUnixFileMode(path) & ~WriteBits);
        }
    }

    public static void Unseal(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            File.SetAttributes(path, File.GetAttributes(path) & ~FileAttributes.ReadOnly);
        }
        else
        {
            File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.UserWrite);
        }
    }

    /// <summary>
    /// Makes the new files durable: on Linux one syncfs() of their file system (one barrier for a whole batch),
    /// elsewhere a flush of each file.
    /// </summary>
    public static void MakeDurable(IReadOnlyList<string> paths)
    {
        if (paths.Count == 0)
        {
            return;
        }

        if (OperatingSystem.IsLinux())
        {
            using Microsoft.Win32.SafeHandles.SafeFileHandle h = File.OpenHandle(paths[0], FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            bool added = false;
            try
            {
                h.DangerousAddRef(ref added);
                if (SyncFs((int)h.DangerousGetHandle()) == 0)
                {
                    return;
                }
            }
            finally
            {
                if (added)
                {
                    h.DangerousRelease();
                }
            }
        }

        foreach (string p in paths)
        {
            using Microsoft.Win32.SafeHandles.SafeFileHandle h = File.OpenHandle(p, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            RandomAccess.FlushToDisk(h);
        }
    }

#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code, which this project does not allow.
    [DllImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SyncFs(int fd);
#pragma warning restore SYSLIB1054
}
