using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Security.Cryptography;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.PowerShell.Tests;

/// <summary>
/// An in-process PowerShell session that imports the module from the build output (Import-Module &lt;dir&gt;/Prism.psd1),
/// with $dir (a temp folder, also the current location) and $cat (a catalog in it) defined, and -Catalog defaulted to $cat.
/// Only Microsoft.PowerShell.Core is available in process (the System.Management.Automation package; the hosting SDK with
/// Get-ChildItem and Set-Location is not on our registry), so tests pipe DirectoryInfo.GetFiles() - the same FileInfo
/// objects Get-ChildItem emits - and PwshTests runs Get-ChildItem itself in real pwsh.
/// </summary>
internal sealed class PrismShell : IDisposable
{
    private readonly System.Management.Automation.PowerShell _ps;

    public PrismShell(TempDir dir)
    {
        Dir = dir;
        CatalogPath = dir.File("catalog.db");
        InitialSessionState iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule([ModuleManifest]);
        iss.Variables.Add(new SessionStateVariableEntry("dir", dir.Path, "test folder"));
        iss.Variables.Add(new SessionStateVariableEntry("cat", CatalogPath, "test catalog"));
        _ps = System.Management.Automation.PowerShell.Create(iss);
        Run("$null = $ExecutionContext.SessionState.Path.SetLocation($dir); $PSDefaultParameterValues['*-Prism*:Catalog'] = $cat");
        Assert.Empty(Errors);
    }

    /// <summary>Prism.psd1 next to the test assembly (the module's build output, copied with its project reference).</summary>
    public static string ModuleManifest
    {
        get
        {
            string path = Path.Combine(AppContext.BaseDirectory, "Prism.psd1");
            Assert.True(File.Exists(path), $"{path} missing: the module manifest is not copied to the build output");
            return path;
        }
    }

    public TempDir Dir { get; }

    public string CatalogPath { get; }

    public PSDataCollection<ErrorRecord> Errors => _ps.Streams.Error;

    public PSDataCollection<ProgressRecord> Progress => _ps.Streams.Progress;

    public PSDataCollection<WarningRecord> Warnings => _ps.Streams.Warning;

    /// <summary>Runs a script; streams are cleared first. Terminating errors throw.</summary>
    public Collection<PSObject> Run(string script)
    {
        _ps.Commands.Clear();
        _ps.Streams.ClearStreams();
        _ps.AddScript(script);
        return _ps.Invoke();
    }

    /// <summary>
    /// Runs a script that must end in a terminating error and returns its record. Only a terminating error reaches the
    /// catch block without -ErrorAction Stop; a non-terminating one would leave the marker string as the output.
    /// </summary>
    public ErrorRecord RunTerminating(string script)
    {
        Collection<PSObject> output = Run($"try {{ {script}; 'no terminating error' }} catch {{ $_ }}");
        object result = Assert.Single(output).BaseObject;
        return Assert.IsType<ErrorRecord>(result);
    }

    /// <summary>Asserts a single error record with the given id (the first part of FullyQualifiedErrorId) and category.</summary>
    public static void AssertError(ErrorRecord record, string id, ErrorCategory category)
    {
        Assert.Equal(id, record.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Equal(category, record.CategoryInfo.Category);
    }

    public T Single<T>(string script)
    {
        Collection<PSObject> result = Run(script);
        Assert.Empty(Errors);
        return Assert.IsType<T>(Assert.Single(result).BaseObject);
    }

    public List<T> All<T>(string script)
    {
        Collection<PSObject> result = Run(script);
        Assert.Empty(Errors);
        return result.Select(o => Assert.IsType<T>(o.BaseObject)).ToList();
    }

    /// <summary>Creates a dynamic disk with our library (not the cmdlet under test).</summary>
    public static string CreateDisk(string path, long size = 64L << 20)
    {
        VhdxDisk.Create(path, new VhdxCreateOptions { VirtualSize = size });
        return path;
    }

    /// <summary>Writes <paramref name="data"/> into a disk at <paramref name="offset"/>.</summary>
    public static void WriteDisk(string path, long offset, byte[] data)
    {
        using VhdxDisk disk = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true });
        disk.Write(data, offset);
        disk.Flush();
    }

    /// <summary>Reads <paramref name="length"/> bytes of a disk (through its chain).</summary>
    public static byte[] ReadDisk(string path, long offset, int length)
    {
        using VhdxDisk disk = VhdxDisk.Open(path);
        byte[] buffer = new byte[length];
        Assert.Equal(length, disk.Read(buffer, offset));
        return buffer;
    }

    public static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    public static byte[] Pattern(int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public void Dispose() => _ps.Dispose();
}
