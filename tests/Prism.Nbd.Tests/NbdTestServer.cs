using Prism.Disks.Vhdx;
using Prism.Testing;

namespace Prism.Nbd.Tests;

/// <summary>A 3-deep chain (base, mid, leaf; each layer with data of its own) served in-process on a unix socket.</summary>
internal sealed class NbdTestServer : IAsyncDisposable
{
    public const long Size = 64L << 20;
    private readonly NbdServer _server;

    public NbdTestServer(TempDir dir, bool leafReadOnly = false)
    {
        Dir = dir;
        Base = dir.File("base.vhdx");
        Mid = dir.File("mid.vhdx");
        Leaf = dir.File("leaf.vhdx");
        VhdxDisk.Create(Base, new VhdxCreateOptions { VirtualSize = Size, BlockSize = 1 << 20 });
        Fill(Base, 0, 3 << 20, 1);
        VhdxDisk.CreateDifferencing(Mid, Base);
        Fill(Mid, (2L << 20) + 4096, 1 << 20, 2);
        VhdxDisk.CreateDifferencing(Leaf, Mid);
        Fill(Leaf, (10L << 20) + 512, 5000, 3);
        Socket = dir.File("nbd.sock");
        _server = new NbdServer([
            NbdExport.Open(Leaf, "leaf", leafReadOnly, null),
            NbdExport.Open(Base, "base", readOnly: false, protectedReason: "the parent of another served disk"),
        ], Log.Add);
        _server.Listen(NbdEndpoint.Parse("unix:" + Socket));
    }

    public TempDir Dir { get; }

    public string Base { get; }

    public string Mid { get; }

    public string Leaf { get; }

    public string Socket { get; }

    public List<string> Log { get; } = [];

    public NbdServer Server => _server;

    public string Uri(string export) => $"nbd+unix:///{export}?socket={Socket}";

    public static byte[] Pattern(int length, int seed)
    {
        byte[] b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static void Fill(string path, long offset, int length, int seed)
    {
        using VhdxDisk d = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true });
        d.Write(Pattern(length, seed), offset);
        d.Flush();
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
