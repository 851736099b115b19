using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace Prism.PowerShell;

/// <summary>
/// Runs when pwsh imports the module. pwsh resolves native libraries from its own deps.json, which knows nothing of
/// the module's SQLite build (runtimes/&lt;rid&gt;/native/e_sqlite3): this resolver finds it in the module folder.
/// </summary>
public sealed class PrismModuleInitializer : IModuleAssemblyInitializer
{
    private static int s_registered;

    private static readonly string s_moduleDirectory = Path.GetDirectoryName(typeof(PrismModuleInitializer).Assembly.Location) ?? AppContext.BaseDirectory;

    /// <summary>
    /// Registers the native library resolver, once per process: every runspace that imports the module calls this, and
    /// the library, once loaded, stays loaded for all of them (so it is never unregistered).
    /// </summary>
    public void OnImport()
    {
        if (Interlocked.Exchange(ref s_registered, 1) == 0)
        {
            AssemblyLoadContext.Default.ResolvingUnmanagedDll += ResolveNative;
        }
    }

    /// <summary>Zero when the library is not one of the module's (the next resolver, or the failure, follows).</summary>
    private static IntPtr ResolveNative(Assembly assembly, string name)
    {
        if (!name.Contains("e_sqlite3", StringComparison.Ordinal))
        {
            return IntPtr.Zero;
        }

        string file = OperatingSystem.IsWindows() ? "e_sqlite3.dll" : OperatingSystem.IsMacOS() ? "libe_sqlite3.dylib" : "libe_sqlite3.so";
        foreach (string rid in RuntimeIds())
        {
            string candidate = Path.Combine(s_moduleDirectory, "runtimes", rid, "native", file);
            if (File.Exists(candidate))
            {
                return NativeLibrary.Load(candidate);
            }
        }

        return IntPtr.Zero;
    }

    /// <summary>The running RID, then the portable RID built from OS and architecture.</summary>
    private static IEnumerable<string> RuntimeIds()
    {
        yield return RuntimeInformation.RuntimeIdentifier;
        string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        yield return $"{os}-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";
    }
}
