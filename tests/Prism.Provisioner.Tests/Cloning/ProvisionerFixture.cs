using System.Security.Cryptography;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;
using Prism.Provisioner.Catalog;
using Prism.Provisioner.Cloning;
using Prism.Provisioner.Tests.Catalog;
using Prism.Testing;

namespace Prism.Provisioner.Tests.Cloning;

/// <summary>A temp directory with a catalog, a manager and helpers to make small real golden images.</summary>
internal sealed class ProvisionerFixture : IDisposable
{
    public const long MiB = 1024 * 1024;

    public ProvisionerFixture()
        : this(new SqliteBackend())
    {
    }

    public ProvisionerFixture(ICatalogBackend backend)
    {
        Dir = new TempDir();
        CatalogLocation = backend.NewCatalog(Dir.Path);
        Catalog = PrismCatalog.Open(CatalogLocation);
        Manager = new CloneManager(Catalog);
    }

    /// <summary>What the catalog was opened from: a file path, or a PostgreSQL connection string (with its password).</summary>
    public string CatalogLocation { get; }

    public TempDir Dir { get; }

    public PrismCatalog Catalog { get; }

    public CloneManager Manager { get; }

    public string File(string name) => Dir.File(name);

    /// <summary>A dynamic VHDX with a recognisable pattern in several places (not registered).</summary>
    public string MakeDisk(string name, long size = 64 * MiB, int seed = 1)
    {
        string path = Dir.File(name + ".vhdx");
        VhdxDisk.Create(path, new VhdxCreateOptions { VirtualSize = size, BlockSize = MiB });
        using VhdxDisk d = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true });
        foreach (long offset in new[] { 0, size / 3 + 4096, size - (256 * 1024) })
        {
            d.Write(Pattern(128 * 1024, seed + (int)(offset % 251)), offset);
        }

        d.Flush();
        return path;
    }

    public GoldenImage MakeGolden(string name = "base", long size = 64 * MiB) => Manager.AddGolden(MakeDisk(name, size), name);

    public static byte[] Pattern(int length, int seed)
    {
        byte[] b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    /// <summary>Clears the read-only seal behind Prism's back (as an administrator might).</summary>
    public static void MakeWritable(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            System.IO.File.SetAttributes(path, System.IO.File.GetAttributes(path) & ~FileAttributes.ReadOnly);
        }
        else
        {
            System.IO.File.SetUnixFileMode(path, System.IO.File.GetUnixFileMode(path) | UnixFileMode.UserWrite);
        }
    }

    public static void WriteInto(string path, long offset, byte[] data)
    {
        using VhdxDisk d = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true });
        d.Write(data, offset);
        d.Flush();
    }

    public static byte[] ReadAt(string path, long offset, int length)
    {
        using VhdxDisk d = VhdxDisk.Open(path);
        byte[] b = new byte[length];
        d.ReadExactly(b, offset);
        return b;
    }

    /// <summary>SHA-256 of the whole virtual content, read through the chain.</summary>
    public static string ContentHash(string path)
    {
        using VhdxDisk d = VhdxDisk.Open(path);
        return ContentHash(d);
    }

    public static string ContentHash(VhdxDisk d)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buf = new byte[4 * MiB];
        for (long o = 0; o < d.VirtualSize; o += buf.Length)
        {
            int n = (int)Math.Min(buf.Length, d.VirtualSize - o);
            d.ReadExactly(buf.AsSpan(0, n), o);
            h.AppendData(buf, 0, n);
        }

        return Convert.ToHexString(h.GetHashAndReset());
    }

    /// <summary>SHA-256 of the file's raw bytes.</summary>
    public static string FileHash(string path)
    {
        using FileStream fs = new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return Convert.ToHexString(SHA256.HashData(fs));
    }

    /// <summary>Everything observable: every file (name, raw hash, sealed), every golden and clone row.</summary>
    public State Snapshot()
    {
        var files = Directory.EnumerateFiles(Dir.Path)
            .Order(StringComparer.Ordinal)
            .Select(f => $"{Path.GetFileName(f)} {FileHash(f)} sealed={VhdxDisk.IsSealed(f)}")
            .ToList();
        return new State(files, Catalog.Goldens().ToList(), Catalog.Clones().ToList());
    }

    public void AssertSameState(State before)
    {
        State after = Snapshot();
        Assert.Equal(before.Files, after.Files);
        Assert.Equal(before.Goldens, after.Goldens);
        Assert.Equal(before.Clones, after.Clones);
        Assert.DoesNotContain(Directory.EnumerateFiles(Dir.Path), f => f.EndsWith(".prism-tmp", StringComparison.Ordinal));
        Assert.Empty(Manager.Verify(false));
    }

    public void Dispose()
    {
        Catalog.Dispose();
        foreach (string f in Directory.EnumerateFiles(Dir.Path, "*", SearchOption.AllDirectories))
        {
            if (OperatingSystem.IsWindows())
            {
                System.IO.File.SetAttributes(f, FileAttributes.Normal);
                continue;
            }

            try
            {
                System.IO.File.SetUnixFileMode(f, System.IO.File.GetUnixFileMode(f) | UnixFileMode.UserWrite);
            }
            catch (IOException)
            {
            }
        }

        Dir.Dispose();
    }

    internal sealed record State(List<string> Files, List<GoldenImage> Goldens, List<CloneRecord> Clones);
}

/// <summary>The exception a fault point throws.</summary>
internal sealed class InjectedFault(string step) : Exception($"injected failure at {step}")
{
    public string Step { get; } = step;
}
