using System.Globalization;
using Prism.Disks.Vhdx;
using static Prism.Cli.BenchTools;

namespace Prism.Cli;

/// <summary>
/// <c>prism bench startup</c>: the start-up figure of issue #11. <c>prism --version</c> and <c>prism disk info</c> on a
/// small disk, each run as a new process, median of N, for this prism and (with <c>--baseline</c>) another build in the
/// same run, interleaved so noise hits both alike.
/// </summary>
internal static class BenchStartup
{
    public static int Run(int runs, string? baseline, TextWriter log)
    {
        string self = Path.Combine(AppContext.BaseDirectory, "prism.dll");
        string dotnet = Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : FindTool("dotnet") ?? "dotnet";
        string dir = Path.Combine(Path.GetTempPath(), $"prism-bench-startup-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            string disk = Path.Combine(dir, "small.vhdx");
            VhdxDisk.Create(disk, new VhdxCreateOptions { VirtualSize = 64L << 20, BlockSize = 1 << 20 });
            // --help is the closest thing to --version a build before System.CommandLine has.
            var cases = new (string Name, string[] Args)[]
            {
                ("prism --version", ["--version"]), ("prism --help", ["--help"]), ("prism disk info (64 MiB disk)", ["disk", "info", disk]),
            };
            var builds = new List<(string Name, string Dll)> { ("this build", self) };
            if (baseline is not null)
            {
                builds.Add(("baseline", Path.GetFullPath(baseline)));
            }

            // One warm-up per build and command (the first start after a build pays for the disk cache, not the parser);
            // a command a build does not have is reported as such.
            var unsupported = new HashSet<(string, string)>();
            foreach ((string build, string dll) in builds)
            {
                foreach ((string name, string[] args) in cases)
                {
                    try
                    {
                        RunTool(dotnet, [dll, .. args]);
                    }
                    catch (InvalidOperationException)
                    {
                        unsupported.Add((build, name));
                    }
                }
            }

            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"command",-32} {"build",-12} {"median",10} {"min",10}   ({runs} runs each, new process per run)"));
            foreach ((string name, string[] args) in cases)
            {
                var times = builds.ToDictionary(b => b.Name, _ => new List<double>());
                for (int i = 0; i < runs; i++)
                {
                    foreach ((string build, string dll) in builds.Where(b => !unsupported.Contains((b.Name, name))))
                    {
                        times[build].Add(Time(() => RunTool(dotnet, keep: false, [dll, .. args])));
                    }
                }

                foreach ((string build, _) in builds)
                {
                    if (unsupported.Contains((build, name)))
                    {
                        log.WriteLine($"{name,-32} {build,-12} {"(not in this build)",21}");
                        continue;
                    }

                    log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{name,-32} {build,-12} {Median(times[build]) * 1000,8:0.0} ms {times[build].Min() * 1000,8:0.0} ms"));
                }

                if (builds.Count == 2 && times["baseline"].Count > 0 && times["this build"].Count > 0)
                {
                    log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{"",-32} ratio this/baseline: {Median(times["this build"]) / Median(times["baseline"]):0.00}"));
                }
            }

            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
