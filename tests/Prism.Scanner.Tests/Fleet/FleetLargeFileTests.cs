using System.Text;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;
using Prism.Scanner.Fleet;
using Prism.Scanner.Signatures;
using Prism.Testing;

namespace Prism.Scanner.Tests.Fleet;

/// <summary>
/// Files over 100 MiB and over 2 GiB are scanned to their last byte (clamscan's default limits would skip them):
/// a 150 MiB file and a 2.2 GiB sparse file, each with a test signature near its end, found by the fleet scan in the
/// parent, inherited unread by an untouched clone, and found again by a full scan of that clone.
/// </summary>
public sealed class FleetLargeFileTests
{
    private const string Eicar = @"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

    [SkippableFact]
    public async Task FilesOver100MiBAndOver2GiB_AreScannedToTheEnd()
    {
        FleetDisks.RequireTools();
        using var dir = new TempDir();
        long volumeSize = 3L << 30;
        string volume = dir.File("volume.raw");
        using (FileStream f = File.Create(volume))
        {
            f.SetLength(volumeSize);
        }

        Oracle.Run(Oracle.Require("mkntfs", "ntfs-3g"), ["-F", "-Q", "-T", "-q", "-c", "4096", "-L", "Large", volume]);
        byte[] eicar = Encoding.ASCII.GetBytes(Eicar);
        long bigEicarAt = (150L << 20) - 4096;
        long hugeEicarAt = (2200L << 20) - 8192;
        FleetDisks.WithMount(volume, dir.Path, m =>
        {
            WriteSparse(Path.Combine(m, "big150.bin"), 150L << 20, bigEicarAt, eicar);
            WriteSparse(Path.Combine(m, "huge2200.bin"), 2200L << 20, hugeEicarAt, eicar);
        });

        string golden = dir.File("golden.vhdx");
        VhdxDisk.Create(golden, new VhdxCreateOptions { VirtualSize = volumeSize + (1L << 20) });
        using (VhdxDisk g = VhdxDisk.Open(golden, new VhdxOpenOptions { Writable = true }))
        {
            byte[] mbr = new byte[512];
            mbr[446 + 4] = 0x07;
            BitConverter.TryWriteBytes(mbr.AsSpan(446 + 8), 2048u);
            BitConverter.TryWriteBytes(mbr.AsSpan(446 + 12), (uint)(volumeSize / 512));
            mbr[510] = 0x55;
            mbr[511] = 0xAA;
            g.Write(mbr, 0);
            using var v = new FileDiskSource(volume);
            byte[] chunk = new byte[4 << 20];
            for (long o = 0; o < v.Length; o += chunk.Length)
            {
                int n = v.Read(chunk, o);
                if (chunk.AsSpan(0, n).ContainsAnyExcept((byte)0))
                {
                    g.Write(chunk.AsSpan(0, n), (1L << 20) + o);
                }
            }
        }

        File.Delete(volume);
        string clone = dir.File("clone.vhdx");
        VhdxDisk.CreateDifferencing(clone, golden);
        string db = dir.File("large.ndb");
        File.WriteAllText(db, $"Large.Eicar:0:*:{Convert.ToHexStringLower(eicar)}\n");
        var engine = new BuiltinEngine(SignatureDatabase.Load(db));

        FleetReport fleet = await new FleetScanner(engine).ScanAsync(golden, [clone]);
        FleetReport full = await new FleetScanner(engine, new FleetScanOptions { Full = true }).ScanAsync(golden, [clone]);

        var expected = new HashSet<Hit> { new("/big150.bin", null, "Large.Eicar"), new("/huge2200.bin", null, "Large.Eicar") };
        FleetDisks.AssertSame(expected, FleetDisks.Hits(fleet.Parent), "parent");
        FleetDisks.AssertSame(expected, FleetDisks.Hits(fleet.Clones[0]), "fleet clone");
        FleetDisks.AssertSame(expected, FleetDisks.Hits(full.Clones[0]), "full clone");
        Assert.Contains(fleet.Parent.Findings, f => f.Path == "/huge2200.bin" && f.Offset == hugeEicarAt);
        Assert.True(fleet.Clones[0].BytesInherited >= (2350L << 20), $"inherited {fleet.Clones[0].BytesInherited}");
        // Sparse runs cost no disk reads, but the engine still sees every byte: the match offsets prove the scan ran to the end.
        Assert.Contains(full.Clones[0].Findings, f => f.Path == "/huge2200.bin" && f.Offset == hugeEicarAt);
        Assert.Contains(full.Clones[0].Findings, f => f.Path == "/big150.bin" && f.Offset == bigEicarAt);
    }

    private static void WriteSparse(string path, long size, long at, byte[] data)
    {
        using var f = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        f.SetLength(size);
        f.Position = at;
        f.Write(data);
    }
}
