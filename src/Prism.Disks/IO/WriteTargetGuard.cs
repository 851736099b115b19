namespace Prism.Disks.IO;

/// <summary>A disk Prism must never write: its path and why (e.g. "golden image g1", "parent of clone c7").</summary>
/// <param name="Path">The disk's file.</param>
/// <param name="Reason">What it is, for the error message.</param>
public sealed record ProtectedDisk(string Path, string Reason);

/// <summary>
/// Checks a path before Prism writes to it (an output file, a store, a disk opened for writing) against a set of protected
/// disks, by resolved path (symbolic links of the directories and the name followed) and by file identity (device and
/// inode, so hard links and symbolic links to a protected file are caught), and refuses any existing file that is a
/// sealed VHDX (no write permission bit; root would otherwise ignore that). A refusal is a
/// <see cref="ProtectedPathException"/> naming both files; nothing has been written when it is thrown.
/// </summary>
public sealed class WriteTargetGuard
{
    private readonly List<Entry> _entries = [];

    /// <summary>A guard over <paramref name="disks"/> (which may not exist at the moment: their paths are still protected).</summary>
    public WriteTargetGuard(IEnumerable<ProtectedDisk> disks)
    {
        ArgumentNullException.ThrowIfNull(disks);
        foreach (ProtectedDisk d in disks)
        {
            string full = System.IO.Path.GetFullPath(d.Path);
            _entries.Add(new Entry(d, full, FileIdentity.ResolvePath(full), FileIdentity.TryGet(full, out FileIdentity id) ? id : null));
        }
    }

    /// <summary>A guard that protects nothing but the sealed-VHDX rule.</summary>
    public static WriteTargetGuard SealedOnly { get; } = new([]);

    /// <summary>The protected disks.</summary>
    public IReadOnlyList<ProtectedDisk> Disks => _entries.Select(e => e.Disk).ToList();

    /// <summary>
    /// Throws <see cref="ProtectedPathException"/> when writing <paramref name="target"/> (described as
    /// <paramref name="role"/>, e.g. "export target") would write a protected disk or a sealed VHDX.
    /// </summary>
    /// <exception cref="ProtectedPathException">The target is protected.</exception>
    public void Check(string target, string role)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(role);
        string full = System.IO.Path.GetFullPath(target);
        string resolved = FileIdentity.ResolvePath(full);
        bool exists = FileIdentity.TryGet(full, out FileIdentity identity);
        StringComparison comparison = OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        foreach (Entry e in _entries)
        {
            bool samePath = string.Equals(full, e.FullPath, comparison) || string.Equals(resolved, e.ResolvedPath, comparison);
            bool sameFile = exists && e.Identity is { } protectedId && identity.IsSameFile(protectedId);
            if (samePath || sameFile)
            {
                string how = samePath && string.Equals(full, e.FullPath, comparison) ? "is"
                    : samePath ? $"resolves to {e.ResolvedPath}, which is" : "is the same file (device and inode) as";
                throw new ProtectedPathException(full, e.FullPath,
                    $"refusing to write the {role} {full}: it {how} {e.Disk.Reason} {e.FullPath}, which other disks depend on");
            }
        }

        bool regularFile = exists ? identity.IsRegularFile : !OperatingSystem.IsLinux() && File.Exists(full);
        if (regularFile && IsSealedVhdx(full))
        {
            throw new ProtectedPathException(full, full,
                $"refusing to write the {role} {full}: it is a sealed (read-only) VHDX, a sealed golden image or a write-protected disk; Prism never writes sealed disks, even as root");
        }
    }

    /// <summary>A VHDX (file identifier "vhdxfile") without write permission bits (read-only attribute on Windows).</summary>
    private static bool IsSealedVhdx(string path)
    {
        if (!Vhdx.VhdxDisk.IsSealed(path))
        {
            return false;
        }

        Span<byte> signature = stackalloc byte[8];
        try
        {
            using Microsoft.Win32.SafeHandles.SafeFileHandle h = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return RandomAccess.Read(h, signature, 0) == 8 && signature.SequenceEqual("vhdxfile"u8);
        }
        catch (UnauthorizedAccessException)
        {
            // Not readable by this user, and without write bits: the write itself will be refused by the OS.
            return false;
        }
    }

    private sealed record Entry(ProtectedDisk Disk, string FullPath, string ResolvedPath, FileIdentity? Identity);
}
