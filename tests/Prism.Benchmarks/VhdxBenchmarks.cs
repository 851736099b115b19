using BenchmarkDotNet.Attributes;
using Prism.Disks.Vhdx;

namespace Prism.Benchmarks;

/// <summary>
/// VHDX engine micro-benchmarks (run: dotnet run -c Release --project tests/Prism.Benchmarks -- --filter '*Vhdx*').
/// The end-to-end figures against qemu-img live in `prism bench disk`.
/// </summary>
[MemoryDiagnoser]
public class VhdxBenchmarks
{
    private readonly byte[] _table = new byte[64 * 1024];
    private readonly byte[] _buffer = new byte[1 << 20];
    private string _dir = string.Empty;
    private VhdxDisk? _chain;
    private VhdxDisk? _child;
    private readonly Random _random = new(1);

    [GlobalSetup]
    public void Setup()
    {
        new Random(5).NextBytes(_table);
        _dir = Path.Combine(Path.GetTempPath(), "prism-bdn-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_dir);
        string parent = Path.Combine(_dir, "p.vhdx");
        VhdxDisk.Create(parent, new VhdxCreateOptions { VirtualSize = 256L << 20 });
        using (VhdxDisk p = VhdxDisk.Open(parent, new VhdxOpenOptions { Writable = true }))
        {
            byte[] data = new byte[256 << 20];
            new Random(2).NextBytes(data);
            p.Write(data, 0);
        }

        string c1 = Path.Combine(_dir, "c1.vhdx");
        string c2 = Path.Combine(_dir, "c2.vhdx");
        VhdxDisk.CreateDifferencing(c1, parent);
        using (VhdxDisk c = VhdxDisk.Open(c1, new VhdxOpenOptions { Writable = true }))
        {
            for (int i = 0; i < 500; i++)
            {
                c.Write(_table.AsSpan(0, 4096), _random.NextInt64(0, (256L << 20) / 4096) * 4096);
            }
        }

        VhdxDisk.CreateDifferencing(c2, c1);
        _chain = VhdxDisk.Open(c2);
        string w = Path.Combine(_dir, "w.vhdx");
        VhdxDisk.CreateDifferencing(w, parent);
        _child = VhdxDisk.Open(w, new VhdxOpenOptions { Writable = true });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _chain?.Dispose();
        _child?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark]
    public uint Crc32C64KiB() => VhdxChecksum.Compute(_table, 4);

    [Benchmark]
    public bool HeaderDecode()
    {
        var h = new VhdxHeader(7, Guid.NewGuid(), Guid.NewGuid(), Guid.Empty, 0, 1, 1 << 20, 1 << 20);
        h.Write(_table);
        return VhdxHeader.TryRead(_table, out _);
    }

    [Benchmark]
    public int ChainRead1MiB() => _chain!.Read(_buffer, _random.NextInt64(0, 255) << 20);

    [Benchmark(OperationsPerInvoke = 100)]
    public void ChildWrite4KiB()
    {
        for (int i = 0; i < 100; i++)
        {
            _child!.Write(_table.AsSpan(0, 4096), _random.NextInt64(0, (256L << 20) / 4096) * 4096);
        }
    }
}
