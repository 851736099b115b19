namespace Prism.Disks.IO;

/// <summary>
/// An exclusive lease on a disk held by a long-lived writer (an NBD server): an OS lock on <c>DISK.prism-lease</c>
/// beside the disk, taken without waiting. The kernel drops it when the holder dies, however it dies, so a lease file
/// left behind is never mistaken for a live writer. Catalog operations (reset, merge, remove) and <c>prism disk write</c>
/// refuse a disk whose lease is held.
/// </summary>
public sealed class DiskLease : IDisposable
{
    private readonly FileStream _lock;

    private DiskLease(string diskPath, FileStream lockFile)
    {
        DiskPath = diskPath;
        _lock = lockFile;
    }

    /// <summary>The leased disk.</summary>
    public string DiskPath { get; }

    /// <summary>The lock file of <paramref name="diskPath"/>.</summary>
    public static string LockPath(string diskPath) => Path.GetFullPath(diskPath) + ".prism-lease";

    /// <summary>Takes the lease.</summary>
    /// <exception cref="IOException">Another process holds it.</exception>
    public static DiskLease Acquire(string diskPath, string holder)
    {
        ArgumentNullException.ThrowIfNull(diskPath);
        string path = LockPath(diskPath);
        try
        {
            // FileShare.None is an exclusive, non-blocking flock on Unix and a share-mode lock on Windows.
            var fs = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            fs.SetLength(0);
            fs.Write(System.Text.Encoding.UTF8.GetBytes($"{holder} pid {Environment.ProcessId}\n"));
            fs.Flush();
            return new DiskLease(Path.GetFullPath(diskPath), fs);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new IOException($"{diskPath} is in use by another Prism process (a server): its lease {path} is locked", e);
        }
    }

    /// <summary>True when a live process holds the lease of <paramref name="diskPath"/>.</summary>
    public static bool IsHeld(string diskPath)
    {
        string path = LockPath(diskPath);
        if (!File.Exists(path))
        {
            return false;
        }

        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return false;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>Throws when the lease of <paramref name="diskPath"/> is held: <paramref name="what"/> would write under a live server.</summary>
    /// <exception cref="IOException">The lease is held.</exception>
    public static void ThrowIfHeld(string diskPath, string what)
    {
        if (IsHeld(diskPath))
        {
            throw new IOException($"{diskPath} is being served (lease {LockPath(diskPath)} locked by a live process); {what} is refused until the server stops");
        }
    }

    /// <summary>Releases the lease and removes the lock file.</summary>
    public void Dispose()
    {
        string path = _lock.Name;
        // Delete while still holding the lock, so no one locks the old file between the two steps.
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Left behind, an unlocked lease file means nothing; the next holder reuses it.
        }

        _lock.Dispose();
    }
}
