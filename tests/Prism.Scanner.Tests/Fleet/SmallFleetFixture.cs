using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Prism.Disks.Vhdx;
using Prism.Scanner.Fleet;
using Prism.Testing;

namespace Prism.Scanner.Tests.Fleet;

/// <summary>
/// A small fleet that needs no oracle: an empty 8 MiB parent, a clean clone and a clone holding a 4 KiB random
/// pattern that the .ndb signature matches (found in the raw, unpartitioned space), plus a signature file.
/// </summary>
public sealed class SmallFleetFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public SmallFleetFixture()
    {
        Parent = _dir.File("parent.vhdx");
        Clean = _dir.File("clean.vhdx");
        Infected = _dir.File("infected.vhdx");
        VhdxDisk.Create(Parent, new VhdxCreateOptions { VirtualSize = 8 << 20, BlockSize = 1 << 20 });
        VhdxDisk.CreateDifferencing(Clean, Parent);
        VhdxDisk.CreateDifferencing(Infected, Parent);
        byte[] pattern = new byte[4096];
        new Random(10).NextBytes(pattern);
        using (VhdxDisk d = VhdxDisk.Open(Infected, new VhdxOpenOptions { Writable = true }))
        {
            d.Write(pattern, 1 << 20);
            d.Flush();
        }

        Signatures = _dir.File("small.ndb");
        File.WriteAllText(Signatures, $"Prism.Small.Pattern:0:*:{Convert.ToHexStringLower(pattern.AsSpan(100, 64))}\n");
    }

    public string Parent { get; }

    public string Clean { get; }

    public string Infected { get; }

    public string Signatures { get; }

    public void Dispose() => _dir.Dispose();
}
