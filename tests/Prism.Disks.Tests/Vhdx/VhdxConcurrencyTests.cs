using Prism.Disks.IO;
using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Disks.Tests.Vhdx;

/// <summary>
/// The engine's concurrency contract, which the NBD server relies on: reads are thread-safe and may run while a write is
/// in progress on another block (they see that block's settled content, never a torn one), and writes are serialized.
/// Reads of the very block being written are not ordered with the write: a server that needs that ordering takes its own
/// lock (prism serve does, per export).
/// </summary>
public sealed class VhdxConcurrencyTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task ReadsOfOtherBlocks_DuringWritesThatAllocateNewBlocks_SeeSettledContent()
    {
        string parent = _dir.File("p.vhdx");
        string child = _dir.File("c.vhdx");
        VhdxDisk.Create(parent, new VhdxCreateOptions { VirtualSize = 256L << 20, BlockSize = 1 << 20 });
        byte[] stable = new byte[1 << 20];
        new Random(3).NextBytes(stable);
        using (VhdxDisk p = VhdxDisk.Open(parent, new VhdxOpenOptions { Writable = true }))
        {
            p.Write(stable, 0);
            p.Flush();
        }

        VhdxDisk.CreateDifferencing(child, parent);
        using VhdxDisk disk = VhdxDisk.Open(child, new VhdxOpenOptions { Writable = true });
        byte[] own = new byte[1 << 20];
        new Random(4).NextBytes(own);
        disk.Write(own, 1 << 20); // block 1: the child's own data

        using var done = new CancellationTokenSource();
        Task writer = Task.Run(() =>
        {
            byte[] data = new byte[64 * 1024];
            for (int i = 0; i < 400; i++)
            {
                Array.Fill(data, (byte)i);
                disk.Write(data, (2L << 20) + ((long)i * 512 * 1024)); // new blocks allocated as it goes (blocks 2 and up)
                if (i % 50 == 49)
                {
                    disk.Flush();
                }
            }

            done.Cancel();
        });
        Task[] readers = [.. Enumerable.Range(0, 3).Select(r => Task.Run(() =>
        {
            byte[] buf = new byte[1 << 20];
            int rounds = 0;
            while (!done.IsCancellationRequested || rounds < 10)
            {
                disk.ReadExactly(buf, 0);
                Assert.True(buf.AsSpan().SequenceEqual(stable), "block 0 (the parent's) read torn during writes");
                disk.ReadExactly(buf, 1 << 20);
                Assert.True(buf.AsSpan().SequenceEqual(own), "block 1 (the child's) read torn during writes");
                rounds++;
            }
        }))];

        await Task.WhenAll([writer, .. readers]);
        byte[] check = new byte[64 * 1024];
        for (int i = 0; i < 400; i += 37)
        {
            disk.ReadExactly(check, (2L << 20) + ((long)i * 512 * 1024));
            Assert.True(check.All(b => b == (byte)i), $"write {i} lost");
        }
    }

    [Fact]
    public void WritesFromManyThreads_AreSerialized_AndAllLand()
    {
        string path = _dir.File("w.vhdx");
        VhdxDisk.Create(path, new VhdxCreateOptions { VirtualSize = 64L << 20, BlockSize = 1 << 20 });
        using VhdxDisk disk = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true });

        Parallel.For(0, 256, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            byte[] data = new byte[4096 + 100];
            Array.Fill(data, (byte)(i + 1));
            disk.Write(data, (long)i * 200_000 + 7); // unaligned, several share blocks
        });
        disk.Flush();

        byte[] buf = new byte[4196];
        for (int i = 0; i < 256; i++)
        {
            disk.ReadExactly(buf, (long)i * 200_000 + 7);
            Assert.True(buf.All(b => b == (byte)(i + 1)), $"write {i} torn or lost");
        }
    }
}
