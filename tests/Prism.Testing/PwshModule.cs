using Xunit;

namespace Prism.Testing;

/// <summary>
/// The Prism PowerShell module in a real pwsh 7.6.9 process: the powershell dotnet tool pinned in
/// .config/dotnet-tools.json, run from the repository root, importing the module built next to the calling test
/// (src/Prism.PowerShell/bin/&lt;configuration&gt;/net10.0). <see cref="Require"/> skips when the tool cannot be
/// restored, or fails under PRISM_REQUIRE_ORACLES=1. Use from [SkippableFact] tests.
/// </summary>
public static class PwshModule
{
    private static readonly Lazy<string?> s_restoreFailure = new(Restore);

    /// <summary>The repository root: the first folder above the test binaries holding .config/dotnet-tools.json.</summary>
    public static string RepoRoot
    {
        get
        {
            for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
            {
                if (File.Exists(Path.Combine(d.FullName, ".config", "dotnet-tools.json")))
                {
                    return d.FullName;
                }
            }

            throw new InvalidOperationException($"no .config/dotnet-tools.json above {AppContext.BaseDirectory}");
        }
    }

    /// <summary>The module folder: src/Prism.PowerShell/bin/&lt;configuration of this test build&gt;/net10.0.</summary>
    public static string ModuleDirectory
    {
        get
        {
            string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
            string dir = Path.Combine(RepoRoot, "src", "Prism.PowerShell", "bin", configuration, "net10.0");
            Assert.True(File.Exists(Path.Combine(dir, "Prism.psd1")), $"module not built at {dir}");
            return dir;
        }
    }

    /// <summary>Skips the test when pwsh cannot be restored (fails it under PRISM_REQUIRE_ORACLES=1).</summary>
    public static void Require()
    {
        string? failure = s_restoreFailure.Value;
        if (failure is null)
        {
            return;
        }

        if (Oracle.Required)
        {
            throw new InvalidOperationException(failure + " and PRISM_REQUIRE_ORACLES=1");
        }

        Skip.If(true, "pwsh 7.6.9 (dotnet tool 'powershell') unavailable: " + failure);
    }

    /// <summary>Runs <paramref name="script"/> after importing the module with <c>$ErrorActionPreference = 'Stop'</c>
    /// and <paramref name="prelude"/>; the exit code is the caller's to check.</summary>
    public static ProcessResult RunUnchecked(string script, string prelude = "")
    {
        string command = $"$ErrorActionPreference = 'Stop'; {prelude}Import-Module '{Path.Combine(ModuleDirectory, "Prism.psd1")}'; {script}";
        return Oracle.Run("dotnet", ["tool", "run", "pwsh", "-NoProfile", "-NonInteractive", "-Command", command],
            check: false, workingDirectory: RepoRoot, timeoutMs: 120_000);
    }

    /// <summary>Runs <paramref name="script"/> as <see cref="RunUnchecked"/> does and asserts it exited 0.</summary>
    public static ProcessResult Run(string script, string prelude = "")
    {
        ProcessResult r = RunUnchecked(script, prelude);
        Assert.True(r.ExitCode == 0, $"pwsh exited {r.ExitCode}: {r.StdErr}{r.StdOut}");
        return r;
    }

    private static string? Restore()
    {
        ProcessResult r = Oracle.Run("dotnet", ["tool", "restore"], check: false, workingDirectory: RepoRoot, timeoutMs: 300_000);
        return r.ExitCode == 0 ? null : $"dotnet tool restore failed ({r.ExitCode}): {r.StdErr}{r.StdOut}";
    }
}
