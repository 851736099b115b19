using System.Security.Cryptography;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.Vhdx;

/// <summary>Flattening chains to raw images: libvhdi is the oracle for the bytes, the file system for the holes.</summary>
public sealed class VhdxExportTests
{
    private const long MiB = VhdxTestKit.MiB;

    [SkippableTheory]
    [InlineData(512)]
    [InlineData(4096)]
    public void Export_ThreeLayerChainWithMixedBlockSizes_MatchesLibvhdiAndKeepsHoles(int lss)
    {
        using var dir = new TempDir();
        const long Size = 48 * MiB;
        const long Written = 30 * MiB; // nothing is ever written past this: the tail must stay a hole
        var rng = new Random(4242 + lss);
        byte[] model = new byte[Size];
        var paths = new List<string> { dir.File("base.vhdx") };
        VhdxDisk.Create(paths[0], new VhdxCreateOptions { VirtualSize = Size, BlockSize = 8 * MiB, LogicalSectorSize = lss });
        Write(paths[0], model, rng, Written);
        foreach ((string name, long blockSize) in new[] { ("child1.vhdx", MiB), ("child2.vhdx", 2 * MiB) })
        {
            string child = dir.File(name);
            VhdxDisk.CreateDifferencing(child, paths[^1], new VhdxDifferencingOptions { BlockSize = blockSize });
            paths.Add(child);
            Write(child, model, rng, Written);
        }

        // Zeros written over the parent's data are data of the child: the export must show them, not the parent.
        using (VhdxDisk top = VhdxDisk.Open(paths[^1], new VhdxOpenOptions { Writable = true }))
        {
            VhdxTestKit.WriteBoth(top, model, new byte[(3 * MiB) + 1024], 5 * MiB);
        }

        string raw = dir.File("flat.raw");
        long held;
        using (VhdxDisk top = VhdxDisk.Open(paths[^1]))
        {
            Assert.All(top.Chain, layer => Assert.NotEmpty(layer.GetAllocatedRanges()));
            held = top.GetChainMap().Sum(r => r.Length);
            top.ExportRaw(raw);
        }

        Assert.Equal(Size, new FileInfo(raw).Length);
        VhdxTestKit.AssertSameBytes(model, File.ReadAllBytes(raw), "export vs model");
        (long libvhdiSize, string libvhdiSha) = VhdxTestKit.PyvhdiSha256(dir, paths);
        Assert.Equal(Size, libvhdiSize);
        Assert.Equal(libvhdiSha, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(raw))));

        long allocated = long.Parse(Oracle.Run("stat", ["-c", "%b", raw]).StdOut.Trim()) * 512;
        Assert.True(allocated <= held + (4 * MiB), $"export occupies {allocated} bytes, the chain holds only {held}");
        Assert.DoesNotContain(Directory.EnumerateFiles(dir.Path), p => p.EndsWith(".prism-tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void Export_FromStorageThatCannotCopy_GoesThroughTheBufferAndLeavesZeroChunksAsHoles()
    {
        using var dir = new TempDir();
        const long Size = 24 * MiB;
        string path = dir.File("mem.vhdx");
        VhdxDisk.Create(path, new VhdxCreateOptions { VirtualSize = Size, BlockSize = 4 * MiB });
        byte[] model = new byte[Size];
        var rng = new Random(77);
        using (VhdxDisk disk = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true }))
        {
            VhdxTestKit.WriteBoth(disk, model, VhdxTestKit.RandomBytes(rng, (int)MiB + 333), 3 * MiB);
            VhdxTestKit.WriteBoth(disk, model, new byte[8 * MiB], 12 * MiB); // allocated, but all zeros
        }

        string raw = dir.File("mem.raw");
        using (VhdxDisk disk = VhdxTestKit.OpenMemory(File.ReadAllBytes(path), path))
        {
            disk.ExportRaw(raw);
        }

        VhdxTestKit.AssertSameBytes(model, File.ReadAllBytes(raw), "buffered export vs model");
        long allocated = long.Parse(Oracle.Run("stat", ["-c", "%b", raw]).StdOut.Trim()) * 512;
        Assert.True(allocated <= 2 * MiB, $"export occupies {allocated} bytes; the zero blocks should be holes");
    }

    [Fact]
    public void Export_Cancelled_LeavesNoFileBehind()
    {
        using var dir = new TempDir();
        string path = dir.File("c.vhdx");
        VhdxDisk.Create(path, new VhdxCreateOptions { VirtualSize = 16 * MiB });
        using (VhdxDisk disk = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true }))
        {
            disk.Write(VhdxTestKit.RandomBytes(new Random(1), (int)MiB), 0);
        }

        string raw = dir.File("c.raw");
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        using (VhdxDisk disk = VhdxDisk.Open(path))
        {
            Assert.ThrowsAny<OperationCanceledException>(() => disk.ExportRaw(raw, cancellationToken: cts.Token));
        }

        Assert.False(File.Exists(raw));
        Assert.False(File.Exists(raw + ".prism-tmp"));
    }

    private static void Write(string path, byte[] model, Random rng, long limit)
    {
        using VhdxDisk disk = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true });
        for (int i = 0; i < 10; i++)
        {
            int length = rng.Next(1, 1800 * 1024);
            long offset = rng.NextInt64(0, limit - length);
            VhdxTestKit.WriteBoth(disk, model, VhdxTestKit.RandomBytes(rng, length), offset);
            if (i % 4 == 3)
            {
                disk.Flush();
            }
        }
    }
}
