using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using Prism.Scanner.Signatures;

namespace Prism.Benchmarks;

/// <summary>
/// Built-in signature engine throughput over 16 MiB of seeded random data: a small set (DFA with root skipping) and a
/// large set (hashed 4-byte anchor filter), whole-buffer and in 64 KiB chunks. Compare with clamscan on the same
/// database and data (see the sig branch report for the commands).
/// </summary>
[MemoryDiagnoser]
public class SignatureBenchmarks
{
    private const int DataLength = 16 << 20;
    private const int ChunkLength = 64 << 10;
    private byte[] _data = [];
    private SignatureDatabase _db = null!;

    [Params(16, 2000)]
    public int SignatureCount { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(42);
        var ndb = new StringBuilder();
        for (int i = 0; i < SignatureCount; i++)
        {
            var f = new byte[rng.Next(16, 48)];
            rng.NextBytes(f);
            string hex = (i % 4) switch
            {
                0 => Convert.ToHexStringLower(f),
                1 => Convert.ToHexStringLower(f.AsSpan(0, 8)) + "????" + Convert.ToHexStringLower(f.AsSpan(10)),
                2 => Convert.ToHexStringLower(f.AsSpan(0, 6)) + "{2-8}" + Convert.ToHexStringLower(f.AsSpan(10)),
                _ => Convert.ToHexStringLower(f.AsSpan(0, 6)) + string.Create(CultureInfo.InvariantCulture, $"({f[6]:x2}|{(byte)(f[6] ^ 1):x2})") + Convert.ToHexStringLower(f.AsSpan(7)),
            };
            ndb.Append(CultureInfo.InvariantCulture, $"Bench.N{i}:0:*:{hex}\n");
        }

        _db = SignatureDatabase.LoadFromText(("bench.ndb", ndb.ToString()));
        _data = new byte[DataLength];
        rng.NextBytes(_data);
    }

    [Benchmark]
    public int ScanWhole() => _db.Scan(_data).Count;

    [Benchmark]
    public int ScanChunked()
    {
        using ScanSession session = _db.CreateSession();
        for (int offset = 0; offset < _data.Length; offset += ChunkLength)
        {
            session.Append(_data.AsSpan(offset, ChunkLength));
        }

        return session.Complete().Count;
    }
}
