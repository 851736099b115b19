using Prism.Cli;
using Prism.Disks.Tests.Ntfs;
using Prism.Disks.Tests.Vhdx;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Cli.Tests.Disk;

/// <summary><c>prism disk info</c> on hostile chains: no byte of a locator's target, no raw control character from a locator.</summary>
public sealed class DiskInfoLocatorTests
{
    private static (int ExitCode, string StdOut, string StdErr) Prism(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Program.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static void AssertNoControlCharacters(string text)
    {
        foreach (char c in text)
        {
            Assert.False(c is < ' ' and not '\n' and not '\r' || c is >= '\u007F' and <= '\u009F',
                $"raw control character U+{(int)c:X4} in output: {text}");
        }
    }

    [SkippableTheory]
    [InlineData("/etc/shadow")]
    [InlineData("/proc/self/environ")]
    [InlineData("/etc/passwd")]
    public void Info_ChildWhoseLocatorNamesASecret_FailsWithoutPrintingItsBytes(string target)
    {
        Skip.IfNot(File.Exists(target), $"{target} does not exist here");
        using var dir = new TempDir();
        (_, string child) = VhdxParentLocatorTests.MakeChain(dir);
        VhdxParentLocatorTests.PointRelativeLocatorAt(child, target);
        foreach (string[] extra in new[] { Array.Empty<string>(), ["--json"] })
        {
            (int code, string stdout, string stderr) = Prism(["disk", "info", child, .. extra]);
            Assert.Equal(1, code);
            Assert.StartsWith("prism: ", stderr, StringComparison.Ordinal);
            Assert.Contains(target, stderr, StringComparison.Ordinal);
            Assert.Contains("not a VHDX file", stderr, StringComparison.Ordinal);
            foreach (string leak in VhdxParentLocatorTests.LeakForms(target))
            {
                Assert.DoesNotContain(leak, stderr + stdout, StringComparison.Ordinal);
            }
        }
    }

    [SkippableTheory]
    [InlineData("disk", "info")]
    [InlineData("disk", "check")]
    [InlineData("ntfs", "ls")]
    public void Command_OnAFifo_FailsWithoutBlocking(string group, string command)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "FIFOs");
        using var dir = new TempDir();
        string fifo = dir.File("disk.vhdx");
        Oracle.Run("mkfifo", [fifo]);
        (int, string, string)? result = null;
        Exception? e = VhdxParentLocatorTests.OpenWithin(() => result = Prism(group, command, fifo), $"prism {group} {command} on a FIFO",
            () => Task.Run(() => new FileStream(fifo, FileMode.Open, FileAccess.Write).Dispose()).Wait(TimeSpan.FromSeconds(10)));
        Assert.Null(e);
        (int code, _, string stderr) = result!.Value;
        Assert.Equal(1, code);
        Assert.Contains("a FIFO, not a regular file", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_ParentPathWithEscapeSequences_PrintedEscaped()
    {
        using var dir = new TempDir();
        string parent = dir.File("base\u001b[2J\u001b]0;owned\u0007.vhdx");
        VhdxDisk.Create(parent, new VhdxCreateOptions { VirtualSize = 8 * VhdxTestKit.MiB, BlockSize = VhdxTestKit.MiB });
        string child = dir.File("child.vhdx");
        VhdxDisk.CreateDifferencing(child, parent, new VhdxDifferencingOptions { BlockSize = VhdxTestKit.MiB });

        (int code, string stdout, string stderr) = Prism("disk", "info", child);
        Assert.True(code == 0, stderr);
        AssertNoControlCharacters(stdout);
        Assert.Contains(@"Parent path:          " + dir.File(@"base\u001b[2J\u001b]0;owned\u0007.vhdx"), stdout, StringComparison.Ordinal);

        (code, stdout, stderr) = Prism("disk", "map", child);
        Assert.True(code == 0, stderr);
        AssertNoControlCharacters(stdout);

        // JSON carries the real name, escaped by the JSON writer itself.
        (code, stdout, _) = Prism("disk", "info", child, "--json");
        Assert.Equal(0, code);
        AssertNoControlCharacters(stdout);
        using var doc = System.Text.Json.JsonDocument.Parse(stdout);
        Assert.Equal(parent, doc.RootElement.GetProperty("parentPath").GetString());
    }

    [Fact]
    public void Info_MissingParentNamedWithControlCharacters_ErrorEscaped()
    {
        using var dir = new TempDir();
        (_, string child) = VhdxParentLocatorTests.MakeChain(dir);
        VhdxParentLocatorTests.PointRelativeLocatorAt(child, dir.File("gone\nprism: forged line\u001b[31m.vhdx"));
        (int code, _, string stderr) = Prism("disk", "info", child);
        Assert.Equal(1, code);
        AssertNoControlCharacters(stderr.TrimEnd('\n', '\r'));
        Assert.Contains(@"gone\u000aprism: forged line\u001b[31m.vhdx", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd('\n', '\r').Split('\n'));
    }
}
