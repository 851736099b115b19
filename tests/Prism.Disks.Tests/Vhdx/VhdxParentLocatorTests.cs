using System.Text;
using Prism.Disks.Errors;
using Prism.Disks.Vhdx;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Disks.Tests.Vhdx;

/// <summary>
/// A parent locator can only ever open a VHDX (issue 10, item 7): hostile locators naming secrets, FIFOs, devices and
/// directories are refused without blocking and without echoing the target's bytes; a symlink flipped between a parent
/// and a FIFO while opening never hangs.
/// </summary>
public sealed class VhdxParentLocatorTests(ITestOutputHelper output)
{
    private const long MiB = VhdxTestKit.MiB;
    private static readonly TimeSpan s_openTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A base disk and a child of it, in <paramref name="dir"/>.</summary>
    internal static (string Parent, string Child) MakeChain(TempDir dir)
    {
        string parent = dir.File("base.vhdx");
        VhdxDisk.Create(parent, new VhdxCreateOptions { VirtualSize = 8 * MiB, BlockSize = MiB });
        string child = dir.File("child.vhdx");
        VhdxDisk.CreateDifferencing(child, parent, new VhdxDifferencingOptions { BlockSize = MiB });
        return (parent, child);
    }

    /// <summary>Points the child's relative_path (as Windows writes it: ".\..\..") at <paramref name="target"/>.</summary>
    internal static void PointRelativeLocatorAt(string child, string target)
    {
        Guid linkage;
        using (VhdxDisk d = VhdxDisk.Open(child, new VhdxOpenOptions { SkipParent = true }))
        {
            linkage = d.ParentLinkage!.Value;
        }

        string relative = Path.GetRelativePath(Path.GetDirectoryName(child)!, target);
        Assert.False(Path.IsPathRooted(relative));
        VhdxTestKit.SetLocator(child, ("parent_linkage", linkage.ToString("B")), ("relative_path", @".\" + relative.Replace('/', '\\')));
    }

    /// <summary>The forms in which a message could leak the first bytes of <paramref name="target"/> (a file or device that does not block).</summary>
    internal static IEnumerable<string> LeakForms(string target)
    {
        byte[] first = new byte[8];
        int n;
        try
        {
            using FileStream f = File.OpenRead(target);
            n = f.ReadAtLeast(first, 8, throwOnEndOfStream: false);
        }
        catch (UnauthorizedAccessException)
        {
            yield break; // not readable by this test: the engine cannot read it either
        }

        if (n == 0)
        {
            yield break;
        }

        yield return Convert.ToHexString(first, 0, n);
        yield return Convert.ToHexStringLower(first, 0, n);
        string text = Encoding.Latin1.GetString(first, 0, n);
        if (text.Trim().Length >= 4)
        {
            yield return text;
        }
    }

    /// <summary>Runs <paramref name="open"/> on the thread pool; fails the test if it does not finish in 10 s.</summary>
    internal static Exception? OpenWithin(Action open, string what, Action? unblock = null)
    {
        var task = Task.Run(() => Record.Exception(open));
        if (!task.Wait(s_openTimeout))
        {
            unblock?.Invoke();
            Assert.Fail($"{what} did not return within {s_openTimeout.TotalSeconds} s (blocked)");
        }

        return task.Result;
    }

    /// <summary>Opens the FIFO for writing without blocking, which releases a reader stuck in open(2) on it.</summary>
    private static void ReleaseFifoReader(string fifo) =>
        Task.Run(() =>
        {
            using FileStream w = new(fifo, FileMode.Open, FileAccess.Write);
        }).Wait(s_openTimeout);

    public static TheoryData<string> HostileTargets => new()
    {
        "/etc/shadow",
        "/etc/passwd",
        "/proc/self/environ",
        "/dev/zero",
        "/dev/null",
        "fifo",
        "directory",
    };

    [SkippableTheory]
    [MemberData(nameof(HostileTargets))]
    public void Open_RelativeLocatorAtNonVhdx_ClearChainErrorWithoutTheTargetsBytes(string target)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "Linux paths");
        using var dir = new TempDir();
        (_, string child) = MakeChain(dir);
        string fifo = dir.File("fifo");
        bool special = target is "fifo" or "directory"; // nothing to read from those (and a FIFO would block the test)
        if (target == "fifo")
        {
            target = fifo;
            Oracle.Run("mkfifo", [target]);
        }
        else if (target == "directory")
        {
            target = dir.File("directory");
            Directory.CreateDirectory(target);
        }

        Skip.IfNot(File.Exists(target) || Directory.Exists(target), $"{target} does not exist here");
        PointRelativeLocatorAt(child, target);

        Exception? e = OpenWithin(() => VhdxDisk.Open(child).Dispose(), $"open of a child whose parent is {target}", () => ReleaseFifoReader(fifo));
        DiskChainException chain = Assert.IsType<DiskChainException>(e);
        Assert.Equal(target, chain.ParentPath);
        Assert.Contains(child, chain.Message, StringComparison.Ordinal);
        Assert.Contains(target, chain.Message, StringComparison.Ordinal);
        Assert.Matches("not a VHDX file|not a regular file", chain.Message);
        foreach (string leak in special ? [] : LeakForms(target))
        {
            Assert.DoesNotContain(leak, chain.Message, StringComparison.Ordinal);
        }
    }

    [SkippableTheory]
    [InlineData("/etc/shadow")]
    [InlineData("/proc/self/environ")]
    [InlineData("/etc/passwd")]
    public void Open_TopLevelNonVhdx_SaysNotVhdxWithoutTheFilesBytes(string target)
    {
        Skip.IfNot(File.Exists(target), $"{target} does not exist here");
        VhdxFormatException e = Assert.Throws<VhdxFormatException>(() => VhdxDisk.Open(target).Dispose());
        Assert.Equal(0, e.FileOffset);
        Assert.Contains("not a VHDX file (no 'vhdxfile' identifier at offset 0)", e.Message, StringComparison.Ordinal);
        foreach (string leak in LeakForms(target))
        {
            Assert.DoesNotContain(leak, e.Message, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public void Open_TopLevelFifo_RefusedWithoutBlocking()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "FIFOs");
        using var dir = new TempDir();
        string fifo = dir.File("disk.vhdx");
        Oracle.Run("mkfifo", [fifo]);
        foreach (bool writable in new[] { false, true })
        {
            Exception? e = OpenWithin(() => VhdxDisk.Open(fifo, new VhdxOpenOptions { Writable = writable }).Dispose(),
                $"VhdxDisk.Open of a FIFO (writable {writable})", () => ReleaseFifoReader(fifo));
            VhdxFormatException f = Assert.IsType<VhdxFormatException>(e);
            Assert.Contains("a FIFO, not a regular file", f.Message, StringComparison.Ordinal);
            Assert.Contains(fifo, f.Message, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public void Open_TopLevelCharacterDevice_RefusedFromTheHandle()
    {
        Skip.IfNot(File.Exists("/dev/zero"), "/dev/zero");
        VhdxFormatException e = Assert.Throws<VhdxFormatException>(() => VhdxDisk.Open("/dev/zero").Dispose());
        Assert.Contains("a character device, not a regular file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_ParentBehindSymlink_StillFollowed()
    {
        // Goldens are often reached through a symlink (current.vhdx -> image-v3.vhdx); such chains keep working.
        using var dir = new TempDir();
        (string parent, string child) = MakeChain(dir);
        string link = dir.File("current.vhdx");
        File.CreateSymbolicLink(link, parent);
        PointRelativeLocatorAt(child, link);
        using VhdxDisk d = VhdxDisk.Open(child);
        Assert.Equal(link, d.Parent!.Path);
    }

    [SkippableFact]
    public void Open_SymlinkFlippedBetweenParentAndFifo_EveryOpenReturnsOrThrowsInBoundedTime()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "FIFOs");
        using var dir = new TempDir();
        (string parent, string child) = MakeChain(dir);
        string fifo = dir.File("fifo");
        Oracle.Run("mkfifo", [fifo]);
        string link = dir.File("link.vhdx");
        File.CreateSymbolicLink(link, parent);
        PointRelativeLocatorAt(child, link);

        using var flipper = new SymlinkFlipper(link, parent, fifo);
        int opened = 0, refused = 0, refusedFromHandle = 0;
        try
        {
            for (int i = 0; i < 200; i++)
            {
                Exception? e = OpenWithin(() =>
                {
                    using VhdxDisk d = VhdxDisk.Open(child);
                    Assert.Equal(link, d.Parent!.Path);
                }, $"open #{i} of the child while its parent link flips", () => ReleaseFifoReader(fifo));
                if (e is null)
                {
                    opened++;
                }
                else
                {
                    DiskChainException chain = Assert.IsType<DiskChainException>(e);
                    Assert.Contains("not a regular file", chain.Message, StringComparison.Ordinal);
                    refused++;

                    // The path pre-check saw the parent, the opened handle was the FIFO: the race this guards against.
                    refusedFromHandle += chain.Message.Contains("is a FIFO, not a regular file", StringComparison.Ordinal) ? 1 : 0;
                }
            }
        }
        finally
        {
            flipper.Stop();
        }

        output.WriteLine($"{opened} opened, {refused} refused ({refusedFromHandle} from the opened handle), {flipper.Flips} flips");
        Assert.Equal(200, opened + refused);
        Assert.True(flipper.Flips > 200, $"only {flipper.Flips} flips: the race was not exercised");
    }

    [SkippableFact]
    public void OpenTopLevel_SymlinkFlippedBetweenVhdxAndFifo_RefusedFromTheHandleNeverBlocks()
    {
        // No path pre-check here: every FIFO refusal comes from the type of the opened handle.
        Skip.IfNot(OperatingSystem.IsLinux(), "FIFOs");
        using var dir = new TempDir();
        (string parent, _) = MakeChain(dir);
        string fifo = dir.File("fifo");
        Oracle.Run("mkfifo", [fifo]);
        string link = dir.File("link.vhdx");
        File.CreateSymbolicLink(link, parent);
        using var flipper = new SymlinkFlipper(link, parent, fifo);
        int opened = 0, refused = 0;
        try
        {
            for (int i = 0; i < 200; i++)
            {
                Exception? e = OpenWithin(() => VhdxDisk.Open(link).Dispose(), $"open #{i} of a flipping link", () => ReleaseFifoReader(fifo));
                if (e is null)
                {
                    opened++;
                }
                else
                {
                    VhdxFormatException f = Assert.IsType<VhdxFormatException>(e);
                    Assert.Contains("a FIFO, not a regular file", f.Message, StringComparison.Ordinal);
                    refused++;
                }
            }
        }
        finally
        {
            flipper.Stop();
        }

        output.WriteLine($"{opened} opened, {refused} refused, {flipper.Flips} flips");
        Assert.True(refused > 0, $"no open saw the FIFO in {flipper.Flips} flips: the race was not exercised");
    }

    /// <summary>Swaps a symlink atomically (a new link renamed over it) between two targets, as fast as it can.</summary>
    private sealed class SymlinkFlipper : IDisposable
    {
        private readonly Thread _thread;
        private readonly CancellationTokenSource _stop = new();
        private long _flips;

        public SymlinkFlipper(string link, string a, string b)
        {
            string[] tmp = [link + ".a", link + ".b"];
            _thread = new Thread(() =>
            {
                int i = 0;
                while (!_stop.IsCancellationRequested)
                {
                    string t = tmp[i & 1];
                    File.CreateSymbolicLink(t, (i & 1) == 0 ? b : a);
                    File.Move(t, link, overwrite: true);
                    i++;
                    Interlocked.Increment(ref _flips);
                }
            })
            { IsBackground = true };
            _thread.Start();
        }

        public long Flips => Interlocked.Read(ref _flips);

        public void Stop()
        {
            _stop.Cancel();
            _thread.Join();
        }

        public void Dispose()
        {
            Stop();
            _stop.Dispose();
        }
    }
}
