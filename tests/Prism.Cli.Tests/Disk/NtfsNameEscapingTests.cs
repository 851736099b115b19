using System.Text.Json;
using Prism.Cli.Ntfs;
using Prism.Disks.Errors;
using Prism.Disks.IO;
using Prism.Disks.Tests.Ntfs;
using Prism.Testing;

namespace Prism.Cli.Tests.Disk;

/// <summary><c>prism ntfs ls</c> on a volume whose file names hold control characters and a bidi override (issue 10, item 8).</summary>
public sealed class NtfsNameEscapingTests
{
    private const string EvilName = "evil\u001b[2J\nd          0        5 2026-01-01 00:00:00 forged\u202etxt.exe";

    [SkippableFact]
    public void Ls_FileNamesWithControlCharacters_TextEscapedJsonExact()
    {
        using var dir = new TempDir();
        string image = NtfsImages.Create(dir, "names.img", 16L * 1024 * 1024, 4096);
        string host = dir.File("host");
        File.WriteAllBytes(host, [1, 2, 3]);
        NtfsImages.Copy(image, host, EvilName);
        Assert.Equal([1, 2, 3], NtfsImages.NtfsCat(image, "/" + EvilName)); // the oracle finds it by its raw name (ntfsls's listing is forged by it)

        (int code, string stdout, string stderr) = Run(["ls", image]);
        Assert.True(code == 0, stderr);
        Assert.Equal(-1, TextEscaping.IndexOfUnsafe(stdout.Replace("\n", "", StringComparison.Ordinal)));
        Assert.Contains(@"/evil\u001b[2J\u000ad          0        5 2026-01-01 00:00:00 forged\u202etxt.exe", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(stdout.Split('\n'), l => l.StartsWith("d          0        5", StringComparison.Ordinal));

        // JSON: the serializer escapes control characters (and non-ASCII) by itself; parsing gives the real name back.
        (code, stdout, stderr) = Run(["ls", image, "--json"]);
        Assert.True(code == 0, stderr);
        Assert.Equal(-1, TextEscaping.IndexOfUnsafe(stdout.Replace("\n", "", StringComparison.Ordinal)));
        Assert.Contains(@"\u001B[2J\nd", stdout, StringComparison.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        Assert.Contains("/" + EvilName, doc.RootElement.EnumerateArray().Select(i => i.GetProperty("path").GetString()));
    }

    private static (int Code, string StdOut, string StdErr) Run(string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = NtfsCommand.Run(args, path => new FileDiskSource(path), stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
