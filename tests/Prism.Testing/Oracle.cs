using System.Diagnostics;
using Xunit;

namespace Prism.Testing;

/// <summary>
/// Independent tools (qemu-img, vhdiinfo, ntfsls, clamscan, ...) used as test oracles.
/// A missing tool skips the test with a reason, unless PRISM_REQUIRE_ORACLES=1 (set by .ci/run): then it fails.
/// Use from [SkippableFact]/[SkippableTheory] tests.
/// </summary>
public static class Oracle
{
    /// <summary>True when CI demands every oracle to be present.</summary>
    public static bool Required => Environment.GetEnvironmentVariable("PRISM_REQUIRE_ORACLES") == "1";

    /// <summary>Full path of <paramref name="tool"/> (searching PATH and the sbin folders), or null.</summary>
    public static string? Find(string tool)
    {
        if (Path.IsPathRooted(tool))
        {
            return File.Exists(tool) ? tool : null;
        }

        string path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        IEnumerable<string> dirs = path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin"]);
        foreach (string dir in dirs)
        {
            string candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Returns the tool's path; skips the test (or fails it under PRISM_REQUIRE_ORACLES=1) when it is missing.</summary>
    public static string Require(string tool, string package)
    {
        string? found = Find(tool);
        if (found is not null)
        {
            return found;
        }

        string reason = $"oracle '{tool}' not installed (Debian package {package}; scripts/bootstrap.sh installs it)";
        if (Required)
        {
            throw new InvalidOperationException(reason + " and PRISM_REQUIRE_ORACLES=1");
        }

        Skip.If(true, reason);
        return tool;
    }

    /// <summary>Skips the test (or fails it under PRISM_REQUIRE_ORACLES=1) when FUSE (/dev/fuse) is unavailable.</summary>
    public static void RequireFuse()
    {
        if (File.Exists("/dev/fuse"))
        {
            return;
        }

        if (Required)
        {
            throw new InvalidOperationException("/dev/fuse missing and PRISM_REQUIRE_ORACLES=1");
        }

        Skip.If(true, "FUSE (/dev/fuse) unavailable");
    }

    /// <summary>Checks that /usr/bin/python3 can import <paramref name="module"/>; skips or fails like <see cref="Require"/>.</summary>
    public static string RequirePythonModule(string module, string package)
    {
        string python = Require("/usr/bin/python3", "python3");
        ProcessResult r = Run(python, ["-c", $"import {module}"], check: false);
        if (r.ExitCode == 0)
        {
            return python;
        }

        string reason = $"python module '{module}' not importable by /usr/bin/python3 (Debian package {package})";
        if (Required)
        {
            throw new InvalidOperationException(reason + " and PRISM_REQUIRE_ORACLES=1");
        }

        Skip.If(true, reason);
        return python;
    }

    /// <summary>Runs a process to completion and captures its output; throws when <paramref name="check"/> and the exit code is not 0.</summary>
    public static ProcessResult Run(string fileName, IEnumerable<string> args, bool check = true, string? stdin = null,
        string? workingDirectory = null, int timeoutMs = 600_000, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach ((string k, string v) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {fileName}");
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            p.StandardInput.Write(stdin);
            p.StandardInput.Close();
        }

        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', args)} did not finish in {timeoutMs} ms");
        }

        var result = new ProcessResult(p.ExitCode, stdout.Result, stderr.Result);
        if (check && result.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{fileName} {string.Join(' ', args)} exited {result.ExitCode}: {result.StdErr}{result.StdOut}");
        }

        return result;
    }
}

/// <summary>Exit code and captured output of a process.</summary>
public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr);
