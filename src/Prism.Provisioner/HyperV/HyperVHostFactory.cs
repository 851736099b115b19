using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Prism.Provisioner.HyperV;

/// <summary>Connects to the local Hyper-V WMI provider, or explains in one line why this host cannot.</summary>
internal static class HyperVHostFactory
{
    /// <summary>Throws HyperVUnavailableException off Windows, without the MI client, or without root\virtualization\v2.</summary>
    public static IHyperVHost Create()
    {
        if (!OperatingSystem.IsWindows())
        {
            throw new HyperVUnavailableException($"Hyper-V needs Windows, this is {OneLine(RuntimeInformation.OSDescription)}");
        }

        try
        {
            return ConnectWindows();
        }
        catch (Exception e) when (e is DllNotFoundException or FileNotFoundException or FileLoadException
            or BadImageFormatException or TypeLoadException or EntryPointNotFoundException)
        {
            // The MI client (Microsoft.Management.Infrastructure + its native mi.dll) fails when the JIT compiles
            // ConnectWindows, so it surfaces here, at the call.
            throw new HyperVUnavailableException($"the WMI client (Microsoft.Management.Infrastructure) could not be loaded: {OneLine(e.Message)}", e);
        }
    }

    [SupportedOSPlatform("windows")]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IHyperVHost ConnectWindows() => MiHyperVHost.Connect();

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
