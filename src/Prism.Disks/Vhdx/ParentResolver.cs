using System.Runtime.InteropServices;
using Prism.Disks.Errors;

namespace Prism.Disks.Vhdx;

/// <summary>
/// Finds and opens the parent of a differencing disk from its locator (MS-VHDX 2.6.2.6): relative_path first,
/// then volume_path, then absolute_win32_path; checks the parent's DataWriteGuid against parent_linkage and
/// parent_linkage2.
/// </summary>
internal static partial class ParentResolver
{
    public static (VhdxDisk Parent, bool Owned) Resolve(string childPath, VhdxMetadata metadata, VhdxOpenOptions options, ChainContext chain)
    {
        ParentLocator locator = metadata.ParentLocator!;
        Guid linkage = locator.ParentLinkage(childPath, 0);
        Guid? linkage2 = locator.ParentLinkage2(childPath, 0);
        var parentOptions = options with { Writable = false, ParentPath = null, SkipParent = false };
        var tried = new List<string>();
        DiskChainException? mismatch = null;
        foreach (string candidate in Candidates(childPath, locator, options))
        {
            tried.Add(candidate);
            if (!File.Exists(candidate) && !Directory.Exists(candidate))
            {
                continue;
            }

            // Not the guarantee (OpenParent checks the opened handle): this only spares the common case from opening a
            // device at all, since opening some (tape drives, watchdogs) has side effects.
            if (!IsRegularFile(candidate))
            {
                throw new DiskChainException(childPath, candidate,
                    $"{Shown(childPath)}: parent {Shown(candidate)} is not a regular file (directory, device or FIFO); refusing to open it");
            }

            VhdxDisk parent;
            bool owned;
            if (options.ParentCache is { } cache)
            {
                ChainContext fork = chain.Fork();
                parent = cache.GetOrOpen(candidate, () => OpenParent(childPath, candidate, parentOptions, fork));
                owned = false;
            }
            else
            {
                parent = OpenParent(childPath, candidate, parentOptions, chain);
                owned = true;
            }

            // MS-VHDX 2.6.2.6.3: the parent's DataWriteGuid must match parent_linkage or parent_linkage2 (zero = absent).
            if (parent.DataWriteGuid != linkage && parent.DataWriteGuid != linkage2)
            {
                string expected = linkage2 is { } alt
                    ? $"parent_linkage is {linkage:B} and its parent_linkage2 {alt:B}"
                    : $"parent_linkage is {linkage:B}";
                mismatch = new DiskChainException(childPath, candidate,
                    $"{Shown(childPath)}: parent {Shown(candidate)} has DataWriteGuid {parent.DataWriteGuid:B} but the child's {expected}: the "
                    + "identifiers of the parent and child disks do not match (the parent was modified or replaced after the child "
                    + "was created)");
                if (owned)
                {
                    parent.Dispose();
                }

                continue;
            }

            if (parent.LogicalSectorSize != metadata.LogicalSectorSize)
            {
                if (owned)
                {
                    parent.Dispose();
                }

                throw new DiskChainException(childPath, candidate,
                    $"{Shown(childPath)}: parent {Shown(candidate)} has {parent.LogicalSectorSize}-byte logical sectors, the child {metadata.LogicalSectorSize}");
            }

            return (parent, owned);
        }

        if (mismatch is not null)
        {
            throw mismatch;
        }

        throw new DiskChainException(childPath, tried.FirstOrDefault(),
            $"{Shown(childPath)}: parent disk not found (parent_linkage {linkage:B}); tried: "
            + (tried.Count == 0 ? "no usable locator path" : string.Join(", ", tried.Select(Shown))));
    }

    /// <summary>
    /// Opens <paramref name="candidate"/> as a parent: one non-blocking open, then the opened handle must be a regular
    /// file whose first 8 bytes are "vhdxfile" before anything else is read. Throws DiskChainException when it cannot be
    /// opened or is not a VHDX at all (never showing its bytes); a VHDX with a bad structure keeps its VhdxFormatException.
    /// </summary>
    private static VhdxDisk OpenParent(string childPath, string candidate, VhdxOpenOptions options, ChainContext chain)
    {
        IVhdxStorage storage;
        try
        {
            storage = FileStorage.Open(System.IO.Path.GetFullPath(candidate), writable: false);
        }
        catch (VhdxFormatException e) when (e.Structure == VhdxDisk.FileTypeStructure)
        {
            throw new DiskChainException(childPath, candidate,
                $"{Shown(childPath)}: parent {Shown(candidate)} is {e.Detail}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DiskChainException(childPath, candidate,
                $"{Shown(childPath)}: parent {Shown(candidate)} cannot be opened: {TextEscaping.Escape(e.Message)}", e);
        }

        try
        {
            return VhdxDisk.Open(storage, options, chain);
        }
        catch (VhdxFormatException e) when (e.Structure == VhdxDisk.FileIdentifierStructure)
        {
            storage.Dispose();
            throw new DiskChainException(childPath, candidate,
                $"{Shown(childPath)}: parent {Shown(candidate)} is {VhdxDisk.NotVhdxDetail}; refusing to use it", e);
        }
        catch
        {
            storage.Dispose();
            throw;
        }
    }

    /// <summary>A path for a message: the locator strings come from the disk, so control characters are escaped.</summary>
    private static string Shown(string path) => TextEscaping.Escape(path);

    private static IEnumerable<string> Candidates(string childPath, ParentLocator locator, VhdxOpenOptions options)
    {
        string childDir = System.IO.Path.GetDirectoryName(childPath) ?? ".";
        if (options.ParentPath is { } explicitPath)
        {
            yield return System.IO.Path.GetFullPath(explicitPath);
            yield break;
        }

        if (locator["relative_path"] is { } rel && rel.Length > 0)
        {
            if (IsRemote(rel))
            {
                RefuseRemote(childPath, rel, options);
                yield return rel;
            }
            else
            {
                string native = ToNative(rel);
                yield return System.IO.Path.GetFullPath(System.IO.Path.IsPathRooted(native) ? native : System.IO.Path.Combine(childDir, native));
            }
        }

        if (OperatingSystem.IsWindows() && locator["volume_path"] is { } vol && vol.StartsWith(@"\\?\Volume{", StringComparison.OrdinalIgnoreCase))
        {
            yield return vol;
        }

        if (locator["absolute_win32_path"] is { } abs && abs.Length > 0)
        {
            string p = abs.StartsWith(@"\\?\", StringComparison.Ordinal) && !abs.StartsWith(@"\\?\UNC\", StringComparison.OrdinalIgnoreCase)
                ? abs[4..]
                : abs;
            if (IsRemote(abs))
            {
                RefuseRemote(childPath, abs, options);
                yield return p;
            }
            else if (OperatingSystem.IsWindows() || p.StartsWith('/'))
            {
                yield return System.IO.Path.GetFullPath(p);
            }
        }
    }

    /// <summary>UNC and \\?\UNC\ paths name another machine.</summary>
    internal static bool IsRemote(string path) =>
        path.StartsWith(@"\\?\UNC\", StringComparison.OrdinalIgnoreCase)
        || path.StartsWith("//", StringComparison.Ordinal)
        || (path.StartsWith(@"\\", StringComparison.Ordinal) && !path.StartsWith(@"\\?\", StringComparison.Ordinal)
            && !path.StartsWith(@"\\.\", StringComparison.Ordinal));

    private static void RefuseRemote(string childPath, string parentPath, VhdxOpenOptions options)
    {
        if (!options.AllowRemoteParents)
        {
            throw new DiskChainException(childPath, parentPath,
                $"{Shown(childPath)}: parent locator names a remote path {Shown(parentPath)}; refusing to follow it (allow remote parents to override)");
        }
    }

    /// <summary>Windows-style relative path to this platform's separators.</summary>
    internal static string ToNative(string windowsPath)
    {
        if (OperatingSystem.IsWindows())
        {
            return windowsPath;
        }

        string p = windowsPath.Replace('\\', '/');
        while (p.StartsWith("./", StringComparison.Ordinal))
        {
            p = p[2..];
        }

        return p;
    }

    /// <summary>True only for regular files: a parent must never be a device, FIFO, socket or directory.</summary>
    internal static bool IsRegularFile(string path)
    {
        if (OperatingSystem.IsLinux())
        {
            byte[] statxBuffer = new byte[256];
            // statx(AT_FDCWD, path, AT_STATX_SYNC_AS_STAT, STATX_TYPE): one fixed layout on every Linux architecture.
            if (Statx(-100, path, 0, 1, statxBuffer) != 0)
            {
                return false;
            }

            int mode = BitConverter.ToUInt16(statxBuffer, 28);
            return (mode & 0xF000) == 0x8000;
        }

        FileAttributes attributes = File.GetAttributes(path);
        return (attributes & (FileAttributes.Directory | FileAttributes.Device)) == 0;
    }

#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code, which this project does not allow.
    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
#pragma warning restore SYSLIB1054
}
