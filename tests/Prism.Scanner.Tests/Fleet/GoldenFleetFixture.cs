using System.Security.Cryptography;
using System.Text;
using Prism.Disks.Vhdx;
using Prism.Scanner.Tests.Signatures;
using Prism.Testing;

namespace Prism.Scanner.Tests.Fleet;

/// <summary>
/// A seeded custom signature database (.ndb with EICAR, a 64-byte pattern used to straddle a 2 MiB VHDX block
/// boundary, a wildcard pattern, an ADS pattern and a plain one; .hdb MD5 and .hsb SHA-256 of payloads), a golden
/// 128 MiB MBR+NTFS disk built with mkntfs/ntfs-3g/ntfscp and imported into a dynamic VHDX, and clones that
/// diverge the way a guest would (built once per test class). Which files match is for clamscan to say.
/// </summary>
public sealed class GoldenFleetFixture : FleetFixture
{
    public GoldenFleetFixture()
    {
        if (!FleetDisks.ToolsPresent())
        {
            return;
        }

        var rng = new Random(20261124);
        byte[] Frag(int n)
        {
            byte[] b = new byte[n];
            rng.NextBytes(b);
            return b;
        }

        static string Hex(ReadOnlySpan<byte> b) => Convert.ToHexStringLower(b);

        // Signatures.
        Eicar = Encoding.ASCII.GetBytes(GeneratedCorpus.Eicar);
        Straddle = Frag(64);
        byte[] wa = Frag(12), wb = Frag(10), wc = Frag(16);
        Wild = [.. wa, .. Frag(2), .. wb, .. Frag(7), .. wc];
        AdsPattern = Frag(32);
        Plain = Frag(32);
        HashedMd5 = Frag(50_000);
        HashedSha = Frag(70_000);
        DatabaseDirectory = Directory.CreateDirectory(Dir.File("db")).FullName;
        File.WriteAllText(Path.Combine(DatabaseDirectory, "fleet.ndb"),
            $"Prism.Fleet.Eicar:0:*:{Hex(Eicar)}\n"
            + $"Prism.Fleet.Straddle:0:*:{Hex(Straddle)}\n"
            + $"Prism.Fleet.Wild:0:*:{Hex(wa)}????{Hex(wb)}{{4-12}}{Hex(wc)}\n"
            + $"Prism.Fleet.Ads:0:*:{Hex(AdsPattern)}\n"
            + $"Prism.Fleet.Plain:0:*:{Hex(Plain)}\n");
#pragma warning disable CA5351 // ClamAV .hdb signatures are MD5.
        File.WriteAllText(Path.Combine(DatabaseDirectory, "fleet.hdb"), $"{Hex(MD5.HashData(HashedMd5))}:{HashedMd5.Length}:Prism.Fleet.Md5\n");
#pragma warning restore CA5351
        File.WriteAllText(Path.Combine(DatabaseDirectory, "fleet.hsb"), $"{Hex(SHA256.HashData(HashedSha))}:{HashedSha.Length}:Prism.Fleet.Sha256\n");
        Databases = ["fleet.ndb", "fleet.hdb", "fleet.hsb"];
        Databases = Databases.Select(d => Path.Combine(DatabaseDirectory, d)).ToArray();

        // Golden volume.
        string golden = Dir.File("golden.vol");
        FleetDisks.CreateVolume(golden);
        FleetDisks.WithMount(golden, Dir.Path, m =>
        {
            File.WriteAllText(Path.Combine(m, "readme.txt"), "golden image\n" + new string('x', 300));
            Directory.CreateDirectory(Path.Combine(m, "data"));
            int[] sizes = [700, 5_000, 40_000, 300_000, 1_500_000, 3_000_000, 12_345, 900, 2_100_000, 64_000];
            for (int i = 0; i < sizes.Length; i++)
            {
                File.WriteAllBytes(Path.Combine(m, "data", $"file{i:D2}.bin"), Frag(sizes[i]));
            }

            string deep = m;
            for (int i = 1; i <= 12; i++)
            {
                deep = Path.Combine(deep, $"l{i:D2}");
            }

            Directory.CreateDirectory(deep);
            File.WriteAllBytes(Path.Combine(deep, "leaf.bin"), Embed(Frag(20_000), Plain, 9_999));
            Directory.CreateDirectory(Path.Combine(m, "infected"));
            File.WriteAllBytes(Path.Combine(m, "infected", "eicar.com"), Eicar);
            File.WriteAllBytes(Path.Combine(m, "infected", "md5.bin"), HashedMd5);
            File.WriteAllBytes(Path.Combine(m, "infected", "wild.bin"), Embed(Frag(100_000), Wild, 77_777));
            Directory.CreateDirectory(Path.Combine(m, "big"));
            File.WriteAllBytes(Path.Combine(m, "big", "straddle.bin"), Frag(3_500_000));
            File.WriteAllText(Path.Combine(m, "append.log"), string.Concat(Enumerable.Range(0, 500).Select(i => $"log line {i}\n")));
            File.WriteAllBytes(Path.Combine(m, "truncate.bin"), Embed(Frag(200_000), Plain, 150_000));
            File.WriteAllText(Path.Combine(m, "host.txt"), "host of streams\n");
            File.WriteAllBytes(Path.Combine(m, "host.txt:meta"), Frag(3_000));
            File.WriteAllText(Path.Combine(m, "host2.txt"), "second host\n");
            File.WriteAllBytes(Path.Combine(m, "host2.txt:evil"), Embed(Frag(6_000), AdsPattern, 4_000));
            Directory.CreateDirectory(Path.Combine(m, "rename"));
            File.WriteAllBytes(Path.Combine(m, "rename", "clean.bin"), Frag(30_000));
            File.WriteAllBytes(Path.Combine(m, "rename", "infected.bin"), Embed(Frag(9_000), Eicar, 1_000));
        });
        string host = Dir.File("host-file");
        File.WriteAllBytes(host, Frag(1_200_000));
        FleetDisks.NtfsCp(golden, host, "/data/cp-a.bin");
        File.WriteAllBytes(host, Embed(Frag(6_000), Plain, 10));
        FleetDisks.NtfsCp(golden, host, "/data/cp-b.bin");
        SetGoldenVolume(golden);
        string raw = Dir.File("golden.raw");
        FleetDisks.AssembleDisk(golden, raw);
        GoldenPath = Dir.File("golden.vhdx");
        FleetDisks.Import(raw, GoldenPath);
        File.Delete(raw);

        // Clones.
        long straddleLcn = FleetDisks.FirstLcn(golden, "/big/straddle.bin");
        AddClone("untouched", "golden", (_, _) => { });
        AddClone("added", "golden", (v, m) =>
        {
            FleetDisks.WithMount(v, m, mnt =>
            {
                Directory.CreateDirectory(Path.Combine(mnt, "newdir"));
                File.WriteAllBytes(Path.Combine(mnt, "newdir", "x.bin"), Embed(Frag(250_000), Wild, 200_001));
            });
            File.WriteAllBytes(host, Frag(500_000));
            FleetDisks.NtfsCp(v, host, "/data/new-clean.bin");
            File.WriteAllBytes(host, Embed(Frag(2_000), Eicar, 100));
            FleetDisks.NtfsCp(v, host, "/l01/l02/l03/l04/l05/l06/l07/l08/l09/l10/l11/l12/new-eicar.txt");
        });
        AddClone("inplace", "golden", (v, m) => FleetDisks.WithMount(v, m, mnt =>
        {
            // The Straddle pattern across a 2 MiB disk offset (a differencing-disk block boundary) inside the file.
            long start = FleetDisks.PartitionStart + (straddleLcn * 4096);
            long boundary = ((start / (2L << 20)) + 1) * (2L << 20);
            long inFile = boundary - start - (Straddle.Length / 2);
            Assert.InRange(inFile, 1, 3_500_000 - Straddle.Length);
            StraddleDiskOffset = boundary;
            using (var f = new FileStream(Path.Combine(mnt, "big", "straddle.bin"), FileMode.Open, FileAccess.Write))
            {
                f.Position = inFile;
                f.Write(Straddle);
            }

            using (var f = new FileStream(Path.Combine(mnt, "data", "file05.bin"), FileMode.Open, FileAccess.Write))
            {
                f.Position = 1_000_000;
                f.Write(Frag(10_000));
            }
        }));
        AddClone("appended", "golden", (v, m) => FleetDisks.WithMount(v, m, mnt =>
        {
            File.AppendAllText(Path.Combine(mnt, "append.log"), "appended by the guest\n");
            using (var f = new FileStream(Path.Combine(mnt, "append.log"), FileMode.Append))
            {
                f.Write(Embed(Frag(5_000), Plain, 4_000));
            }

            using (var f = new FileStream(Path.Combine(mnt, "truncate.bin"), FileMode.Open, FileAccess.Write))
            {
                f.SetLength(100_000);
            }
        }));
        AddClone("deleted-renamed", "golden", (v, m) => FleetDisks.WithMount(v, m, mnt =>
        {
            File.Delete(Path.Combine(mnt, "infected", "eicar.com"));
            Directory.CreateDirectory(Path.Combine(mnt, "moved"));
            File.Move(Path.Combine(mnt, "rename", "infected.bin"), Path.Combine(mnt, "moved", "renamed-infected.bin"));
            File.Move(Path.Combine(mnt, "rename", "clean.bin"), Path.Combine(mnt, "rename", "clean2.bin"));
        }));
        AddClone("ads", "golden", (v, m) => FleetDisks.WithMount(v, m, mnt =>
        {
            File.WriteAllBytes(Path.Combine(mnt, "host.txt:evil"), Embed(Frag(8_000), AdsPattern, 7_000));
            File.WriteAllBytes(Path.Combine(mnt, "data", "file01.bin:Zone.Identifier"), Encoding.ASCII.GetBytes("[ZoneTransfer]\nZoneId=3\n"));
            File.WriteAllBytes(Path.Combine(mnt, "host2.txt:evil"), Frag(6_000));
            File.WriteAllBytes(Path.Combine(mnt, "rename:dirstream"), Embed(Frag(700), AdsPattern, 300));
        }));
        AddClone("hashes", "golden", (v, m) => FleetDisks.WithMount(v, m, mnt =>
        {
            File.WriteAllBytes(Path.Combine(mnt, "infected", "sha.bin"), HashedSha);
            using var f = new FileStream(Path.Combine(mnt, "infected", "md5.bin"), FileMode.Open, FileAccess.Write);
            f.Position = 25_000;
            f.WriteByte(0x42);
        }));
        AddClone("grandchild", "added", (v, m) => FleetDisks.WithMount(v, m, mnt =>
        {
            File.Delete(Path.Combine(mnt, "data", "new-clean.bin"));
            File.WriteAllBytes(Path.Combine(mnt, "wild2.bin"), Embed(Frag(40_000), Wild, 39_000));
            File.WriteAllBytes(Path.Combine(mnt, "l01", "l02", "l03", "l04", "l05", "l06", "l07", "l08", "l09", "l10", "l11", "l12", "new-eicar.txt"), Frag(2_000));
        }));
        Built = true;
    }

    public byte[] Straddle { get; } = [];

    public byte[] AdsPattern { get; } = [];

    /// <summary>The 2 MiB-aligned disk offset the Straddle pattern crosses in the "inplace" clone.</summary>
    public long StraddleDiskOffset { get; private set; }

    public string Scratch => Dir.Path;

    /// <summary>Skips (or fails under PRISM_REQUIRE_ORACLES=1) when the disks could not be built.</summary>
    public void Require()
    {
        FleetDisks.RequireTools();
        Assert.True(Built, "golden fleet not built");
    }

    /// <summary>clamscan --allmatch over the flattened disk's files and streams (cached per disk).</summary>
    internal HashSet<Hit> ClamscanOf(string vhdx) => CachedOracle(vhdx, vhdx, volume => FleetDisks.Clamscan(volume, Dir.Path, Databases));
}
