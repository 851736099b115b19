using System.Management.Automation;
using System.Text.Json;
using Prism.Testing;

namespace Prism.PowerShell.Tests;

/// <summary>
/// Get-PrismFile against the CLI: a raw GPT disk with two ext4 partitions (mke2fs -d: files, a hard link, a symlink, a FIFO,
/// nested directories) lists the same paths with the same fields as <c>prism fs ls --json</c>, recursive or not, for a
/// directory, a file and a chosen partition.
/// </summary>
public sealed class FileCmdletTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly PrismShell _shell;

    public FileCmdletTests() => _shell = new PrismShell(_dir);

    public void Dispose()
    {
        _shell.Dispose();
        _dir.Dispose();
    }

    /// <summary>prism.dll of the CLI built next to this test build (the project reference builds it).</summary>
    private static string PrismDll
    {
        get
        {
            string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
            for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
            {
                string candidate = Path.Combine(d.FullName, "src", "Prism.Cli", "bin", configuration, "net10.0", "prism.dll");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new InvalidOperationException($"prism.dll ({configuration}) not built above {AppContext.BaseDirectory}");
        }
    }

    private string MakeDisk() => MakeDisk(_dir);

    /// <summary>Two ext4 volumes in a GPT disk image (disk.img in <paramref name="dir"/>): partition 1 with the tree, partition 2 with one file.</summary>
    internal static string MakeDisk(TempDir dir)
    {
        string mke2fs = Oracle.Require("mke2fs", "e2fsprogs");
        string sfdisk = Oracle.Require("sfdisk", "fdisk");
        string python = Oracle.Require("python3", "python3");
        string src = dir.File("src");
        Oracle.Run(python, ["-c", """
import os, sys
r = sys.argv[1]
os.makedirs(r + '/etc/nginx/sites')
os.makedirs(r + '/var/www/html')
os.makedirs(r + '/empty')
open(r + '/etc/hostname', 'w').write('web01\n')
open(r + '/etc/nginx/sites/default', 'w').write('server {}\n' * 100)
open(r + '/var/www/html/index.php', 'wb').write(bytes(range(256)) * 40)
os.link(r + '/etc/hostname', r + '/var/hostname.link')
os.symlink('../etc/hostname', r + '/var/name')
os.mkfifo(r + '/var/fifo')
open(r + '/caf\u00e9 \u65e5\u672c.txt', 'w').write('utf-8')
""", src]);
        string src2 = dir.File("src2");
        Directory.CreateDirectory(src2);
        File.WriteAllText(Path.Combine(src2, "only.txt"), "second volume");
        string one = dir.File("p1.img");
        string two = dir.File("p2.img");
        foreach ((string image, string tree) in new[] { (one, src), (two, src2) })
        {
            using (FileStream f = File.Create(image))
            {
                f.SetLength(8L << 20);
            }

            Oracle.Run(mke2fs, ["-q", "-F", "-t", "ext4", "-d", tree, image]);
        }

        string disk = dir.File("disk.img");
        using (FileStream f = File.Create(disk))
        {
            f.SetLength(20L << 20);
        }

        Oracle.Run(sfdisk, ["--quiet", disk], stdin: "label: gpt\nstart=2048, size=16384\nstart=18432, size=16384\n");
        Oracle.Run("dd", [$"if={one}", $"of={disk}", "bs=1M", "seek=1", "conv=notrunc", "status=none"]);
        Oracle.Run("dd", [$"if={two}", $"of={disk}", "bs=1M", "seek=9", "conv=notrunc", "status=none"]);
        return disk;
    }

    /// <summary>The array <c>prism fs ls --json ARGS</c> prints.</summary>
    internal static JsonElement[] Cli(params string[] args)
    {
        ProcessResult r = Oracle.Run("dotnet", [PrismDll, "fs", "ls", "--json", .. args]);
        using JsonDocument json = JsonDocument.Parse(r.StdOut);
        return [.. json.RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    private static void AssertSame(JsonElement[] cli, List<PrismFile> ours, int partition)
    {
        Assert.Equal(cli.Select(e => e.GetProperty("path").GetString()), ours.Select(f => f.Path));
        for (int i = 0; i < cli.Length; i++)
        {
            JsonElement c = cli[i];
            PrismFile f = ours[i];
            Assert.Equal(c.GetProperty("isDirectory").GetBoolean(), f.IsDirectory);
            Assert.Equal(c.GetProperty("type").GetString(), f.Type);
            Assert.Equal(c.GetProperty("size").GetInt64(), f.Size);
            Assert.Equal(c.GetProperty("inode").GetInt64(), f.Inode);
            Assert.False(c.TryGetProperty("mftRecord", out _));
            Assert.Null(f.MftRecord);
            Assert.Equal(c.GetProperty("streams").EnumerateArray().Select(s => (s.GetProperty("name").GetString(), s.GetProperty("size").GetInt64())),
                f.Streams.Select(s => ((string?)s.Name, s.Size)));
            Assert.Equal("ext4", f.FileSystem);
            Assert.Equal(partition, f.Partition);
        }
    }

    [SkippableFact]
    public void GetPrismFile_ListsAsPrismFsLsJson()
    {
        string disk = MakeDisk();

        // Recursive from the root (two volumes: the first one is read, with a warning).
        List<PrismFile> all = _shell.Run("Get-PrismFile disk.img -Recurse").Select(o => Assert.IsType<PrismFile>(o.BaseObject)).ToList();
        Assert.Empty(_shell.Errors);
        Assert.Contains("2 volumes", Assert.Single(_shell.Warnings).Message, StringComparison.Ordinal);
        JsonElement[] cli = Cli(disk, "-r");
        AssertSame(cli, all, 1);
        Assert.Contains(all, f => f.Path == "/var/www/html/index.php" && f.Size == 10240 && f.Type == "file");
        Assert.Contains(all, f => f.Path == "/var/name" && f.Type == "symlink" && f.Streams.Count == 0);
        Assert.Contains(all, f => f.Path == "/var/fifo" && f.Type == "fifo");
        Assert.Contains(all, f => f.Path == "/café 日本.txt");
        Assert.Equal(all.Single(f => f.Path == "/etc/hostname").Inode, all.Single(f => f.Path == "/var/hostname.link").Inode);

        // One directory, not recursive; a file; the second partition through the pipeline.
        AssertSame(Cli(disk, "/etc"), _shell.All<PrismFile>("Get-PrismFile -Path disk.img -FilePath /etc -Partition 1"), 1);
        AssertSame(Cli(disk, "/etc/nginx/sites/default"), _shell.All<PrismFile>("Get-PrismFile disk.img /etc/nginx/sites/default -Partition 1"), 1);
        List<PrismFile> second = _shell.All<PrismFile>("[IO.DirectoryInfo]::new($dir).GetFiles('disk.img') | Get-PrismFile -Partition 2");
        AssertSame(Cli(disk, "--partition", "2"), second, 2);
        Assert.Contains(second, f => f.Path == "/only.txt" && f.Size == 13);
    }

    [SkippableFact]
    public void GetPrismFile_MissingPathOrPartition_ErrorRecords()
    {
        MakeDisk();

        _shell.Run("Get-PrismFile disk.img /no/such -Partition 1");
        PrismShell.AssertError(Assert.Single(_shell.Errors), "PrismFileNotFound", ErrorCategory.ObjectNotFound);

        _shell.Run("Get-PrismFile disk.img -Partition 7");
        ErrorRecord e = Assert.Single(_shell.Errors);
        PrismShell.AssertError(e, "PrismInvalidArgument", ErrorCategory.InvalidArgument);
        Assert.Contains("no partition 7", e.Exception.Message, StringComparison.Ordinal);

        _shell.Run("Get-PrismFile nothing.img");
        PrismShell.AssertError(Assert.Single(_shell.Errors), "PrismFileNotFound", ErrorCategory.ObjectNotFound);
    }
}
