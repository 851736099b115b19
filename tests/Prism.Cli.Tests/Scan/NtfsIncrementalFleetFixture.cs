using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Prism.Disks.IO;
using Prism.Disks.Ntfs;
using Prism.Disks.Tests.Ntfs;
using Prism.Disks.Vhdx;
using Prism.Scanner.Fleet;
using Prism.Scanner.Signatures;
using Prism.Testing;

namespace Prism.Cli.Tests.Scan;

/// <summary>
/// The incremental-walk golden (more than 10,000 NTFS files, <see cref="IncrementalWalkFixture"/>) as a fleet: seeded
/// guest-like change sets made through ntfs-3g (every kind of change in each), two clones the NTFS walk cannot patch (a
/// changed boot sector, a damaged MFT record), a signature set matching golden files (content slices, MD5s) and a marker
/// the change sets write into some files and streams; the fleet and --full reports over all of them, made once.
/// </summary>
public sealed class NtfsIncrementalFleetFixture : IDisposable
{
    public const string Marker = "PRISM-INCR-MARKER-7f3a91";

    public static readonly int[] Seeds = [1, 2, 3, 4, 5, 6];

    // Every kind of change once, then six more drawn at random, in a seeded order; with "files" (sys.argv[4]), the kinds
    // that keep the directory tree's shape only (no directory deleted, moved or made).
    private const string ChangeScript = """
import os, sys, random, shutil
m = sys.argv[1]
seed = int(sys.argv[2])
rnd = random.Random(seed * 7919)
MARK = sys.argv[3].encode()
def leaves():
    return sorted(os.path.join(r, d) for r, ds, _ in os.walk(m) for d in ds if d.startswith('d'))
def files():
    return sorted(os.path.join(r, n) for r, _, ns in os.walk(m) for n in ns)
def payload(n):
    b = bytearray(rnd.randbytes(n))
    if n >= len(MARK) and rnd.random() < 0.4:
        at = rnd.randrange(0, n - len(MARK) + 1)
        b[at:at + len(MARK)] = MARK
    return bytes(b)
ops = ['create', 'delete', 'rename', 'rewrite', 'extend', 'truncate', 'ads', 'link', 'rmdir', 'movedir', 'crowd', 'mkdir']
if len(sys.argv) > 4 and sys.argv[4] == 'files':
    ops = [o for o in ops if o not in ('rmdir', 'movedir', 'mkdir')]
plan = ops + [rnd.choice(ops) for _ in range(6)]
rnd.shuffle(plan)
for step, op in enumerate(plan):
    fs = files()
    p = rnd.choice(fs)
    if op == 'create':
        with open(os.path.join(rnd.choice(leaves()), 'new-%d-%d.dat' % (seed, step)), 'wb') as h: h.write(payload(rnd.choice([0, 60, 700, 5000, 70000])))
    elif op == 'delete':
        os.remove(p)
    elif op == 'rename':
        os.rename(p, os.path.join(rnd.choice(leaves()), 'moved-%d-%d.txt' % (seed, step)))
    elif op == 'rewrite':
        size = os.path.getsize(p)
        with open(p, 'r+b') as h: h.write(payload(size))
    elif op == 'extend':
        with open(p, 'ab') as h: h.write(payload(rnd.choice([1, 900, 5000, 70000])))
    elif op == 'truncate':
        os.truncate(p, os.path.getsize(p) // 3)
    elif op == 'ads':
        with open(p + ':ads%d' % step, 'wb') as h: h.write(payload(rnd.choice([0, 40, 2000, 9000])))
    elif op == 'link':
        os.link(p, os.path.join(rnd.choice(leaves()), 'hl-%d-%d' % (seed, step)))
    elif op == 'rmdir':
        shutil.rmtree(rnd.choice(leaves()))
    elif op == 'movedir':
        mover = rnd.choice(leaves())
        target = rnd.choice([d for d in leaves() if not (d + '/').startswith(mover + '/')])
        os.rename(mover, os.path.join(target, 'moved-dir-%d-%d' % (seed, step)))
    elif op == 'crowd':
        crowd = rnd.choice(leaves())
        for i in range(300):
            with open('%s/crowd-%d-%d-%03d-%s.txt' % (crowd, seed, step, i, 'x' * (i % 40)), 'wb') as h: h.write(payload(i % 300))
    elif op == 'mkdir':
        tree = os.path.join(rnd.choice(leaves()), 'newdir-%d-%d' % (seed, step))
        os.makedirs(tree + '/inner')
        for i in range(20):
            with open('%s/%s/n%02d' % (tree, 'inner' if i % 2 else '.', i), 'wb') as h: h.write(payload(i * 50))
""";

    private readonly TempDir _dir = new();
    private readonly Lazy<(FleetReport Fleet, FleetReport Full)> _reports;

    public NtfsIncrementalFleetFixture()
    {
        _reports = new Lazy<(FleetReport, FleetReport)>(() =>
        {
            var engine = new BuiltinEngine(SignatureDatabase.Load(Databases));
            FleetReport fleet = new FleetScanner(engine).ScanAsync(Golden.GoldenVhdx!, [.. Clones.Select(c => c.Vhdx)]).GetAwaiter().GetResult();
            FleetReport full = new FleetScanner(engine, new FleetScanOptions { Full = true })
                .ScanAsync(Golden.GoldenVhdx!, [.. Clones.Select(c => c.Vhdx)]).GetAwaiter().GetResult();
            return (fleet, full);
        });
        if (Golden.GoldenVhdx is null)
        {
            return;
        }

        Databases = WriteSignatures();
        foreach (int seed in Seeds)
        {
            string s = seed.ToString(CultureInfo.InvariantCulture);
            (string vhdx, string image) = Golden.MakeClone(Golden.GoldenVhdx, Golden.GoldenImage!, ChangeScript, s, Marker);
            Clones.Add(($"seed{s}", vhdx, image));
        }

        foreach (int seed in FileSeeds)
        {
            string s = seed.ToString(CultureInfo.InvariantCulture);
            (string vhdx, string image) = Golden.MakeClone(Golden.GoldenVhdx, Golden.GoldenImage!, ChangeScript, s, Marker, "files");
            Clones.Add(($"files{s}", vhdx, image));
        }

        // A golden file with a finding (a slice signature at content offset 16) overwritten under the file system: its
        // record is the golden's, only its content diverged.
        NtfsSnapshotFile sliced = SlicedFiles().First(f => !f.Streams[0].IsResident && f.Streams[0].Ranges[0].Length >= 64);
        UnderFileSystemVictim = sliced.Path;
        (string under, string underImage) = Golden.MakePatchedClone(Golden.GoldenVhdx, Golden.GoldenImage!,
            (sliced.Streams[0].Ranges[0].Offset - IncrementalWalkFixture.VolumeOffset + 16, new byte[32]));
        Clones.Add(("under-fs", under, underImage));

        (string boot, string bootImage) = Golden.MakePatchedClone(Golden.GoldenVhdx, Golden.GoldenImage!, (0x1F0, [0x5A]));
        Clones.Add(("boot-sector", boot, bootImage));
        NtfsSnapshotFile victim = Golden.GoldenSnapshot!.Files.Single(f => f.Path == "/t00/d000/f0001.txt");
        (string damaged, string damagedImage) = Golden.MakePatchedClone(Golden.GoldenVhdx, Golden.GoldenImage!,
            (victim.MftRecords[0].Offset - IncrementalWalkFixture.VolumeOffset, "BAAD"u8.ToArray()));
        Clones.Add(("damaged-record", damaged, damagedImage));
    }

    /// <summary>Seeds of the clones changed by files only ("files5", ...).</summary>
    public static readonly int[] FileSeeds = [5, 6];

    public IncrementalWalkFixture Golden { get; } = new();

    /// <summary>The golden file whose content the "under-fs" clone overwrote (its slice signature no longer matches there).</summary>
    public string UnderFileSystemVictim { get; } = "";

    /// <summary>The signature files (.ndb, .hdb).</summary>
    public string[] Databases { get; } = [];

    /// <summary>
    /// Name, differencing disk and changed volume image of each clone: the seeds, the file-only seeds, "under-fs",
    /// "boot-sector" and "damaged-record".
    /// </summary>
    public List<(string Name, string Vhdx, string Image)> Clones { get; } = [];

    /// <summary>The fleet and --full scans of every clone against the golden (made on first use).</summary>
    public (FleetReport Fleet, FleetReport Full) Reports => _reports.Value;

    public string Scratch => _dir.Path;

    public void Require() => Golden.Require();

    public void Dispose()
    {
        Golden.Dispose();
        _dir.Dispose();
    }

    private List<NtfsSnapshotFile> Candidates() => [.. Golden.GoldenSnapshot!.Files.Where(f => !f.IsDirectory && f.Size >= 48)];

    // The files WriteSignatures takes a slice of.
    private IEnumerable<NtfsSnapshotFile> SlicedFiles() => Candidates().Where((f, i) => i % 400 == 0);

    // Body signatures on 32-byte slices of every 400th golden file (from offset 16), MD5s of every 1500th, and the marker.
    private string[] WriteSignatures()
    {
        using VhdxDisk golden = VhdxDisk.Open(Golden.GoldenVhdx!);
        NtfsVolume volume = IncrementalWalkFixture.OpenVolume(golden);
        var ndb = new StringBuilder($"Prism.Incr.Marker:0:*:{Convert.ToHexStringLower(Encoding.ASCII.GetBytes(Marker))}\n");
        var hdb = new StringBuilder();
        List<NtfsSnapshotFile> files = Candidates();
        for (int i = 0; i < files.Count; i++)
        {
            if (i % 400 != 0 && i % 1500 != 0)
            {
                continue;
            }

            IDiskSource stream = volume.OpenStream(files[i]);
            byte[] content = new byte[stream.Length];
            stream.ReadExactly(content, 0);
            if (i % 400 == 0)
            {
                ndb.Append(CultureInfo.InvariantCulture, $"Prism.Incr.Slice{i}:0:*:{Convert.ToHexStringLower(content.AsSpan(16, 32))}\n");
            }

            if (i % 1500 == 0)
            {
#pragma warning disable CA5351 // ClamAV .hdb signatures are MD5.
                hdb.Append(CultureInfo.InvariantCulture, $"{Convert.ToHexStringLower(MD5.HashData(content))}:{content.Length}:Prism.Incr.Md5_{i}\n");
#pragma warning restore CA5351
            }
        }

        string ndbPath = _dir.File("incr.ndb");
        string hdbPath = _dir.File("incr.hdb");
        File.WriteAllText(ndbPath, ndb.ToString());
        File.WriteAllText(hdbPath, hdb.ToString());
        return [ndbPath, hdbPath];
    }
}
