using Prism.Disks.IO;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.IO;

/// <summary>The write guard: a protected file is caught by path, through links of every kind, and before it exists.</summary>
public sealed class WriteTargetGuardTests
{
    private static (TempDir Dir, string Golden, WriteTargetGuard Guard) Setup()
    {
        var dir = new TempDir();
        string golden = dir.File("golden.vhdx");
        VhdxDisk.Create(golden, new VhdxCreateOptions { VirtualSize = 4 << 20 });
        return (dir, golden, new WriteTargetGuard([new ProtectedDisk(golden, "the golden image g")]));
    }

    private static void AssertRefused(WriteTargetGuard guard, string target, string protectedPath)
    {
        var e = Assert.Throws<ProtectedPathException>(() => guard.Check(target, "test target"));
        Assert.Equal(protectedPath, e.ProtectedPath);
        Assert.Contains(Path.GetFullPath(target), e.Message, StringComparison.Ordinal);
        Assert.Contains("the golden image g", e.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Check_SamePathHardLinkSymlinkAndLinkedDirectory_AreRefused()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new SkipException("file identity comes from statx on Linux");
        }

        (TempDir dir, string golden, WriteTargetGuard guard) = Setup();
        using (dir)
        {
            AssertRefused(guard, golden, golden);
            AssertRefused(guard, Path.Combine(dir.Path, ".", "sub", "..", "golden.vhdx"), golden);

            string hard = dir.File("hard.raw");
            Oracle.Run("ln", [golden, hard]);
            AssertRefused(guard, hard, golden);

            string soft = dir.File("soft.raw");
            File.CreateSymbolicLink(soft, golden);
            AssertRefused(guard, soft, golden);

            string linkedDir = dir.File("linked");
            Directory.CreateSymbolicLink(linkedDir, dir.Path);
            AssertRefused(guard, Path.Combine(linkedDir, "golden.vhdx"), golden);
        }
    }

    [SkippableFact]
    public void Check_ProtectedPathThatIsMissing_IsStillRefused()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new SkipException("symbolic links to missing files: Linux");
        }

        using var dir = new TempDir();
        string absent = dir.File("absent-golden.vhdx");
        var guard = new WriteTargetGuard([new ProtectedDisk(absent, "the golden image g")]);

        // Its volume unmounted: writing there would put a new file where the golden belongs.
        AssertRefused(guard, absent, absent);

        // A dangling symbolic link to it: the write would create the golden's path.
        string dangling = dir.File("dangling.raw");
        File.CreateSymbolicLink(dangling, absent);
        AssertRefused(guard, dangling, absent);
    }

    [SkippableFact]
    public void Check_SealedVhdx_IsRefusedEvenWhenNotProtected_AndOrdinaryTargetsPass()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new SkipException("permission bits: Unix");
        }

        using var dir = new TempDir();
        string sealedDisk = dir.File("sealed.vhdx");
        VhdxDisk.Create(sealedDisk, new VhdxCreateOptions { VirtualSize = 4 << 20 });
        File.SetUnixFileMode(sealedDisk, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var e = Assert.Throws<ProtectedPathException>(() => WriteTargetGuard.SealedOnly.Check(sealedDisk, "test target"));
        Assert.Contains("sealed", e.Message, StringComparison.Ordinal);

        // A read-only file that is not a VHDX, a writable VHDX, a new name and a FIFO are ordinary targets.
        string text = dir.File("readonly.txt");
        File.WriteAllText(text, "x");
        File.SetUnixFileMode(text, UnixFileMode.UserRead);
        string writable = dir.File("writable.vhdx");
        VhdxDisk.Create(writable, new VhdxCreateOptions { VirtualSize = 4 << 20 });
        string fifo = dir.File("fifo");
        Oracle.Run("mkfifo", [fifo]);
        foreach (string ok in new[] { text, writable, dir.File("new.raw"), fifo })
        {
            WriteTargetGuard.SealedOnly.Check(ok, "test target");
        }
    }

    [SkippableFact]
    public void FileIdentity_HardLinkSharesItSymlinkFollowsIt()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new SkipException("statx: Linux");
        }

        using var dir = new TempDir();
        string a = dir.File("a");
        string b = dir.File("b");
        File.WriteAllText(a, "a");
        File.WriteAllText(b, "b");
        string hard = dir.File("a-hard");
        Oracle.Run("ln", [a, hard]);
        Assert.True(FileIdentity.TryGet(a, out FileIdentity ia));
        Assert.True(FileIdentity.TryGet(b, out FileIdentity ib));
        Assert.True(FileIdentity.TryGet(hard, out FileIdentity ih));
        Assert.True(ia.IsRegularFile);
        Assert.True(ia.IsSameFile(ih));
        Assert.False(ia.IsSameFile(ib));
        Assert.False(FileIdentity.TryGet(dir.File("missing"), out _));
        Assert.True(FileIdentity.TryGet(dir.Path, out FileIdentity id));
        Assert.False(id.IsRegularFile);

        // stat(1) is the oracle for the inode number.
        string inode = Oracle.Run("stat", ["-c", "%i", a]).StdOut.Trim();
        Assert.Equal(inode, ia.Inode.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
