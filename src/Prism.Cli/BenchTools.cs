using System.Diagnostics;
using System.Globalization;

namespace Prism.Cli;

/// <summary>What every <c>prism bench</c> needs, written once: finding and running the peer tools, and timing.</summary>
internal static class BenchTools
{
    private const string Bash = "/bin/bash";

    /// <summary>The tool on PATH (or in /usr/sbin, /sbin), or null.</summary>
    public static string? FindTool(string name)
    {
        foreach (string d in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':').Concat(["/usr/sbin", "/sbin"]))
        {
            string p = Path.Combine(d, name);
            if (File.Exists(p))
            {
                return p;
            }
        }

        return null;
    }

    /// <summary>The tool, or an error naming the package that has it.</summary>
    public static string RequireTool(string name, string package) => FindTool(name)
        ?? throw new InvalidOperationException($"{name} not found: install {package} to compare against it (or pass --skip-peers where the benchmark has it)");

    /// <summary>Runs a tool to completion and returns its stdout; a non-zero exit is an error (clamscan's 1, "found", is a result).</summary>
    public static string RunTool(string tool, params string[] args) => RunTool(tool, keep: true, args);

    /// <summary>As <see cref="RunTool(string, string[])"/>; without <paramref name="keep"/> stdout is drained, not decoded (timed runs).</summary>
    public static string RunTool(string tool, bool keep, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        using var p = Process.Start(psi)!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        string output = string.Empty;
        if (keep)
        {
            output = p.StandardOutput.ReadToEnd();
        }
        else
        {
            p.StandardOutput.BaseStream.CopyTo(Stream.Null);
        }

        p.WaitForExit();
        if (p.ExitCode != 0 && !(Path.GetFileName(tool) == "clamscan" && p.ExitCode == 1))
        {
            throw new InvalidOperationException($"{tool} failed ({p.ExitCode}): {err.Result}");
        }

        return output;
    }

    /// <summary>Wall-clock seconds of one run.</summary>
    public static double Time(Action action)
    {
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed.TotalSeconds;
    }

    /// <summary>The fastest of <paramref name="runs"/> runs, in seconds.</summary>
    public static double Best(int runs, Action action)
    {
        double best = double.MaxValue;
        for (int i = 0; i < runs; i++)
        {
            best = Math.Min(best, Time(action));
        }

        return best;
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = new List<double>(values);
        sorted.Sort();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>
    /// Times a peer as <c>time tool ... &gt;/dev/null</c> would: bash takes the clock around the run, so starting a child
    /// from this (large) process is not billed to the peer. Without bash, the whole child process is timed.
    /// </summary>
    public static double PeerTime(string tool, params string[] args)
    {
        if (!File.Exists(Bash))
        {
            return Time(() => RunTool(tool, keep: false, args));
        }

        string[] words = RunTool(Bash, ["-c", "s=$EPOCHREALTIME; \"$0\" \"$@\" >/dev/null; rc=$?; e=$EPOCHREALTIME; echo \"$rc $s $e\"", tool, .. args])
            .Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (words.Length != 3 || words[0] != "0")
        {
            throw new InvalidOperationException($"{tool} failed (exit {(words.Length > 0 ? words[0] : "?")})");
        }

        // $EPOCHREALTIME uses the locale's decimal separator.
        return double.Parse(words[2].Replace(",", ".", StringComparison.Ordinal), CultureInfo.InvariantCulture)
            - double.Parse(words[1].Replace(",", ".", StringComparison.Ordinal), CultureInfo.InvariantCulture);
    }

    /// <summary>The checks of a bench over one image: at least one measured run, and the image exists.</summary>
    public static void CheckImageRuns(string image, int runs)
    {
        if (runs < 1)
        {
            throw new UsageException("--runs must be at least 1");
        }

        if (!File.Exists(image))
        {
            throw new FileNotFoundException($"no such image: {image}", image);
        }
    }

    /// <summary>Flushes and drops the page cache, for a cold run (root only).</summary>
    public static void DropCaches()
    {
        RunTool("/bin/sync");
        try
        {
            File.WriteAllText("/proc/sys/vm/drop_caches", "3");
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new InvalidOperationException($"--cold needs root to drop the page cache: {ex.Message}", ex);
        }
    }

    /// <summary>Seconds as milliseconds with one decimal.</summary>
    public static string Ms(double seconds) => (seconds * 1000).ToString("0.0", CultureInfo.InvariantCulture) + " ms";
}
