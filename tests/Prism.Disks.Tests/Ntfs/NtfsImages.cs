using System.Globalization;
using System.Text.RegularExpressions;
using Prism.Testing;

namespace Prism.Disks.Tests.Ntfs;

/// <summary>Builds NTFS images with the ntfs-3g tools and reads them back with the independent oracles.</summary>
public static partial class NtfsImages
{
    public static string Python => Oracle.Require("python3", "python3");

    /// <summary>Sparse file + mkntfs (quick, deterministic with -T).</summary>
    public static string Create(TempDir dir, string name, long sizeBytes, int clusterSize, int sectorSize = 512, string label = "PrismTest")
    {
        string mkntfs = Oracle.Require("mkntfs", "ntfs-3g");
        string path = dir.File(name);
        using (FileStream f = File.Create(path))
        {
            f.SetLength(sizeBytes);
        }

        Oracle.Run(mkntfs, ["-F", "-Q", "-T", "-q", "-c", clusterSize.ToString(CultureInfo.InvariantCulture),
            "-s", sectorSize.ToString(CultureInfo.InvariantCulture), "-L", label, path]);
        return path;
    }

    /// <summary>Copies a host file into the image with ntfscp.</summary>
    public static void Copy(string image, string hostFile, string targetPath) =>
        Oracle.Run(Oracle.Require("ntfscp", "ntfs-3g"), [image, hostFile, targetPath]);

    /// <summary>Mounts the image with ntfs-3g (FUSE); dispose unmounts.</summary>
    public static Mount MountImage(TempDir dir, string image, bool readOnly, string options = "streams_interface=windows")
    {
        string ntfs3g = Oracle.Require("ntfs-3g", "ntfs-3g");
        Oracle.Require("fusermount", "fuse3");
        Oracle.RequireFuse();

        string mountPoint = dir.File("mnt-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(mountPoint);
        Oracle.Run(ntfs3g, ["-o", (readOnly ? "ro," : string.Empty) + options, image, mountPoint]);
        return new Mount(mountPoint);
    }

    /// <summary>Runs a python3 script with the arguments as sys.argv[1:].</summary>
    public static string RunPython(string script, params string[] args) =>
        Oracle.Run(Python, ["-c", script, .. args], timeoutMs: 300_000).StdOut;

    /// <summary>Files and directories below a mount point: path ("/a/b") -> (inode = MFT record, size, isDirectory).</summary>
    public static Dictionary<string, (long Record, long Size, bool IsDirectory)> FindListing(string mountPoint)
    {
        string output = Oracle.Run("/usr/bin/find", [mountPoint, "-mindepth", "1", "-printf", "%i\\t%s\\t%y\\t%P\\0"]).StdOut;
        var result = new Dictionary<string, (long, long, bool)>(StringComparer.Ordinal);
        foreach (string line in output.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split('\t', 4);
            result["/" + f[3]] = (long.Parse(f[0], CultureInfo.InvariantCulture), long.Parse(f[1], CultureInfo.InvariantCulture), f[2] == "d");
        }

        return result;
    }

    /// <summary>"ntfsls -R -l -i" parsed: path -> (record, size, isDirectory); "." and ".." entries dropped.</summary>
    public static Dictionary<string, (long Record, long Size, bool IsDirectory)> NtfsLsListing(string image, params string[] extraOptions)
    {
        string output = Oracle.Run(Oracle.Require("ntfsls", "ntfs-3g"), ["-R", "-l", "-i", "-F", .. extraOptions, image]).StdOut;
        var result = new Dictionary<string, (long, long, bool)>(StringComparer.Ordinal);
        string dir = string.Empty;
        foreach (string line in output.Split('\n'))
        {
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith('/') && line.EndsWith(':'))
            {
                dir = line[..^1].TrimEnd('/');
                continue;
            }

            Match m = LongLine().Match(line);
            Assert.True(m.Success, $"unexpected ntfsls line: {line}");
            string name = m.Groups[3].Value;
            bool isDir = name.EndsWith('/');
            name = name.TrimEnd('/');
            if (name is "." or "..")
            {
                continue;
            }

            string path = dir + "/" + name;
            result[path] = (long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), isDir);
        }

        return result;
    }

    /// <summary>File content through ntfscat (by path; a named $DATA stream with <paramref name="stream"/>).</summary>
    public static byte[] NtfsCat(string image, string path, string? stream = null)
    {
        string ntfscat = Oracle.Require("ntfscat", "ntfs-3g");
        var psi = new System.Diagnostics.ProcessStartInfo(ntfscat) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (!string.IsNullOrEmpty(stream))
        {
            psi.ArgumentList.Add("-a");
            psi.ArgumentList.Add("0x80");
            psi.ArgumentList.Add("-n");
            psi.ArgumentList.Add(stream);
        }

        psi.ArgumentList.Add(image);
        psi.ArgumentList.Add(path.TrimStart('/'));
        using var p = System.Diagnostics.Process.Start(psi)!;
        using var ms = new MemoryStream();
        Task<string> err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.BaseStream.CopyTo(ms);
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"ntfscat {path}: {err.Result}");
        return ms.ToArray();
    }

    [GeneratedRegex(@"^\s*(\d+)\s+(\d+)\s+\w{3}\s+\d+\s+\d+:\d+\s+\d+\s(.*)$")]
    private static partial Regex LongLine();

    /// <summary>An ntfs-3g mount; unmounted on dispose.</summary>
    public sealed class Mount(string path) : IDisposable
    {
        public string Path { get; } = path;

        public void Dispose() => FuseMount.Unmount(Path);
    }
}
