using System.Diagnostics;

namespace Prism.Testing;

/// <summary>
/// FUSE mounts used as oracles (fuse2fs, ntfs-3g), unmounted so that a busy mount point cannot fail a test.
/// <c>fusermount -u</c> refuses with "Device or resource busy" while any process holds a descriptor or a working
/// directory inside the mount; with tests running in parallel, a child that another test forks in that instant
/// inherits this process's open descriptors until it execs. So the unmount is retried for a while before it gives up
/// with the tool's message, and the mount point is removed only once it is no longer a mount.
/// </summary>
public static class FuseMount
{
    private static readonly TimeSpan s_busyRetry = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Runs fuse2fs on <paramref name="image"/> in the foreground as a child, mounted on a new directory under
    /// <paramref name="scratch"/>; runs <paramref name="action"/> on the mount point, then unmounts, waits for fuse2fs
    /// to exit (so every write reached the image) and removes the mount point.
    /// </summary>
    public static T WithFuse2fs<T>(string image, string scratch, bool readOnly, Func<string, T> action)
    {
        string mountPoint = Directory.CreateDirectory(Path.Combine(scratch, "mnt-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        var psi = new ProcessStartInfo(Oracle.Require("fuse2fs", "fuse2fs")) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in (string[])[image, mountPoint, "-f", "-o", (readOnly ? "ro," : "rw,") + "fakeroot"])
        {
            psi.ArgumentList.Add(a);
        }

        using Process fuse = Process.Start(psi) ?? throw new InvalidOperationException("cannot start fuse2fs");
        Task<string> stderr = fuse.StandardError.ReadToEndAsync();
        Task<string> stdout = fuse.StandardOutput.ReadToEndAsync();
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (!IsMounted(mountPoint))
        {
            if (fuse.HasExited || DateTime.UtcNow > deadline)
            {
                if (!fuse.HasExited)
                {
                    fuse.Kill();
                }

                throw new InvalidOperationException($"fuse2fs did not mount {image}: {stderr.Result}{stdout.Result}");
            }

            Thread.Sleep(20);
        }

        T result;
        bool exited;
        try
        {
            result = action(mountPoint);
        }
        finally
        {
            Unmount(mountPoint);
            exited = fuse.WaitForExit(60_000);
            if (!exited)
            {
                fuse.Kill();
            }
        }

        if (!exited)
        {
            throw new InvalidOperationException($"fuse2fs on {image} did not exit within 60 s of its unmount");
        }

        Directory.Delete(mountPoint);
        return result;
    }

    /// <inheritdoc cref="WithFuse2fs{T}(string, string, bool, Func{string, T})"/>
    public static void WithFuse2fs(string image, string scratch, bool readOnly, Action<string> action) =>
        WithFuse2fs(image, scratch, readOnly, m =>
        {
            action(m);
            return 0;
        });

    /// <summary>
    /// Unmounts <paramref name="mountPoint"/> (nothing to do when it is not mounted), retrying while it is busy;
    /// throws with fusermount's message when it is still mounted after a minute.
    /// </summary>
    public static void Unmount(string mountPoint)
    {
        string fusermount = Oracle.Require("fusermount", "fuse3");
        DateTime deadline = DateTime.UtcNow + s_busyRetry;
        int delayMs = 20;
        while (IsMounted(mountPoint))
        {
            ProcessResult r = Oracle.Run(fusermount, ["-u", mountPoint], check: false);
            if (r.ExitCode == 0 || !IsMounted(mountPoint))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"fusermount -u {mountPoint} still fails after {s_busyRetry.TotalSeconds:0} s: {r.StdErr}{r.StdOut}");
            }

            Thread.Sleep(delayMs);
            delayMs = Math.Min(delayMs * 2, 1000);
        }
    }

    /// <summary>True when <paramref name="mountPoint"/> is a mount point of this process's namespace.</summary>
    public static bool IsMounted(string mountPoint)
    {
        string full = Path.GetFullPath(mountPoint).TrimEnd('/');
        foreach (string line in File.ReadLines("/proc/self/mounts"))
        {
            // Fields are separated by spaces; a space inside a path is written as \040.
            string[] fields = line.Split(' ');
            if (fields.Length > 1 && fields[1].Replace("\\040", " ", StringComparison.Ordinal) == full)
            {
                return true;
            }
        }

        return false;
    }
}
