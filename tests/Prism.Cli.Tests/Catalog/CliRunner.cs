using Prism.Provisioner.Tests.Cloning;
using Prism.Testing;

namespace Prism.Cli.Tests.Catalog;

/// <summary>Runs the built prism CLI (prism.dll copied next to this test assembly) as a separate OS process.</summary>
internal static class CliRunner
{
    public static string PrismDll
    {
        get
        {
            string dll = Path.Combine(AppContext.BaseDirectory, "prism.dll");
            Assert.True(File.Exists(dll), $"{dll} missing: the test project must reference src/Prism.Cli");
            return dll;
        }
    }

    public static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    public static string RepoRoot
    {
        get
        {
            for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
            {
                if (File.Exists(Path.Combine(d.FullName, "Prism.sln")))
                {
                    return d.FullName;
                }
            }

            throw new InvalidOperationException("repository root (Prism.sln) not found above " + AppContext.BaseDirectory);
        }
    }

    public static ProcessResult Run(params string[] args) => Oracle.Run(Dotnet, [PrismDll, .. args], check: false);
}
