using System.Diagnostics;
using Prism.Disks.Vhdx;
using Prism.Provisioner.Catalog;
using Prism.Provisioner.Tests.Cloning;

namespace Prism.Cli.Tests.Catalog;

public sealed class ConcurrencyTests
{
    [Fact]
    public async Task TwoProcessesCreatingFiftyClonesEachOnOneCatalogBothSucceed()
    {
        using var f = new ProvisionerFixture();
        GoldenImage g = f.MakeGolden("base", 8 * ProvisionerFixture.MiB);
        string goldenContent = ProvisionerFixture.ContentHash(g.Path);

        Process Start(string prefix, bool viaEnvironment)
        {
            var psi = new ProcessStartInfo(CliRunner.Dotnet)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string a in new[] { CliRunner.PrismDll, "clone", "new", "base", "--count", "50", "--prefix", prefix, "--quiet" })
            {
                psi.ArgumentList.Add(a);
            }

            if (viaEnvironment)
            {
                psi.Environment["PRISM_CATALOG"] = f.Catalog.Path;
            }
            else
            {
                psi.Environment.Remove("PRISM_CATALOG");
                psi.ArgumentList.Add("--catalog");
                psi.ArgumentList.Add(f.Catalog.Path);
            }

            return Process.Start(psi)!;
        }

        using Process a = Start("pA", viaEnvironment: true);
        using Process b = Start("pB", viaEnvironment: false);
        Task<string> aOut = a.StandardOutput.ReadToEndAsync();
        Task<string> aErr = a.StandardError.ReadToEndAsync();
        Task<string> bOut = b.StandardOutput.ReadToEndAsync();
        Task<string> bErr = b.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await a.WaitForExitAsync(timeout.Token);
        await b.WaitForExitAsync(timeout.Token);
        string ao = await aOut;
        string bo = await bOut;
        Assert.True(a.ExitCode == 0, $"pA exited {a.ExitCode}: {await aErr}{ao}");
        Assert.True(b.ExitCode == 0, $"pB exited {b.ExitCode}: {await bErr}{bo}");
        Assert.Contains("50 clone(s) of base", ao, StringComparison.Ordinal);
        Assert.Contains("50 clone(s) of base", bo, StringComparison.Ordinal);

        IReadOnlyList<CloneRecord> clones = f.Catalog.Clones();
        Assert.Equal(100, clones.Count);
        Assert.Equal(50, clones.Count(c => c.Name.StartsWith("pA-", StringComparison.Ordinal)));
        Assert.Equal(50, clones.Count(c => c.Name.StartsWith("pB-", StringComparison.Ordinal)));
        Assert.Equal("pA-0050", clones.Where(c => c.Name.StartsWith("pA-", StringComparison.Ordinal)).Max(c => c.Name));
        Assert.Equal(100, clones.Select(c => c.Path).Distinct().Count());
        foreach (CloneRecord c in clones)
        {
            using VhdxDisk d = VhdxDisk.Open(c.Path);
            Assert.Equal(g.DataWriteGuid, d.ParentLinkage);
            Assert.Equal(goldenContent, ProvisionerFixture.ContentHash(d));
        }

        Assert.Equal(101, Directory.EnumerateFiles(f.Dir.Path, "*.vhdx").Count());
        Assert.Empty(f.Manager.Verify(false));
    }
}
