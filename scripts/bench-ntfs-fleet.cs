#:project ../src/Prism.Scanner/Prism.Scanner.csproj
// Issue #16 figures: a fleet scan of clones of a real-size NTFS golden, per-clone bytes read against
// 1.05 x (divergent bytes + content of touched files + 1 MiB), and the fleet's speedup over --full against the ideal
// computed from bytes, in the same run.
//   dotnet run scripts/bench-ntfs-fleet.cs -- IMAGE [CLONES] [WORKDIR] [--fleet-only]
// --fleet-only: no --full scan (per-clone bytes against the bound only; the speedup needs the --full scan).
// IMAGE: a raw NTFS volume from `scripts/make-ntfs-bench-image.sh OUT 100000 800` (100,000 files, /apps of mixed sizes).
// Each clone changes 25 files as a guest does, through an ntfs-3g mount of a scratch copy of the image: 18 small files
// rewritten, 4 /apps files rewritten, 3 files added (one with EICAR in every 10th clone); its changed 512-byte sectors
// are written into a VHDX differencing child of the golden, and the scratch copy is put back. Needs root (FUSE), ntfs-3g,
// python3. Engine: the built-in one with EICAR and 200 random patterns.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;
using Prism.Scanner.Fleet;
using Prism.Scanner.Signatures;

if (args.Length < 1)
{
    Console.Error.WriteLine("usage: dotnet run scripts/bench-ntfs-fleet.cs -- IMAGE [CLONES] [WORKDIR]");
    return 2;
}

string image = Path.GetFullPath(args[0]);
int count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 50;
string work = Path.GetFullPath(args.Length > 2 ? args[2] : Path.Combine(Path.GetTempPath(), "prism-fleet-bench"));
bool fleetOnly = args.Length > 3 && args[3] == "--fleet-only";
Directory.CreateDirectory(work);
const long MiB = 1024 * 1024;
const string Eicar = @"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
const string Change = """
import os, sys, random
m, seed, eicar = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
rnd = random.Random(seed)
touched = 0
done = 0
while done < 18:
    d, f = rnd.randrange(400), rnd.randrange(250)
    if (d * 250 + f) % 20 == 0:
        continue
    p = '%s/d%d/sub%d/file%d.txt' % (m, d // 20, d, f)
    data = rnd.randbytes(rnd.randrange(150, 400))
    with open(p, 'wb') as h: h.write(data)
    touched += len(data)
    done += 1
apps = sorted(os.path.join(r, n) for r, _, ns in os.walk(m + '/apps') for n in ns)
for p in rnd.sample(apps, 4):
    size = os.path.getsize(p)
    with open(p, 'r+b') as h: h.write(rnd.randbytes(size))
    touched += size
for i in range(3):
    d = rnd.randrange(400)
    data = bytearray(rnd.randbytes(rnd.randrange(100, 60000)))
    if i == 0 and seed % 10 == 0:
        data[50:50 + len(eicar)] = eicar
    with open('%s/d%d/sub%d/added-%d-%d.bin' % (m, d // 20, d, seed, i), 'wb') as h: h.write(data)
    touched += len(data)
print(touched)
""";

string goldenVhdx = Path.Combine(work, "golden.vhdx");
if (!File.Exists(goldenVhdx))
{
    VhdxDisk.Create(goldenVhdx, new VhdxCreateOptions { VirtualSize = new FileInfo(image).Length });
    WriteChanged(goldenVhdx, null, image);
}

string db = Path.Combine(work, "bench.ndb");
var sigs = new StringBuilder($"Bench.Eicar:0:*:{Convert.ToHexStringLower(Encoding.ASCII.GetBytes(Eicar))}\n");
var rng = new Random(99);
for (int i = 0; i < 200; i++)
{
    byte[] pattern = new byte[24];
    rng.NextBytes(pattern);
    sigs.Append(CultureInfo.InvariantCulture, $"Bench.Random{i}:0:*:{Convert.ToHexStringLower(pattern[..12])}{{4-16}}{Convert.ToHexStringLower(pattern[12..])}\n");
}

File.WriteAllText(db, sigs.ToString());

// The clones: a scratch copy changed through ntfs-3g, diffed against the golden image, then put back.
string scratch = Path.Combine(work, "scratch.img");
var clones = new List<string>();
var touchedBytes = new List<long>();
var build = Stopwatch.StartNew();
for (int c = 1; c <= count; c++)
{
    string cloneVhdx = Path.Combine(work, $"clone{c:D3}.vhdx");
    string touchedFile = cloneVhdx + ".touched";
    if (!File.Exists(cloneVhdx) || !File.Exists(touchedFile))
    {
        if (!File.Exists(scratch))
        {
            Run("cp", "--sparse=always", image, scratch);
        }

        string mount = Path.Combine(work, "mnt");
        Directory.CreateDirectory(mount);
        Run("ntfs-3g", "-o", "big_writes", scratch, mount);
        string output;
        try
        {
            output = Run("python3", "-c", Change, mount, c.ToString(CultureInfo.InvariantCulture), Eicar);
        }
        finally
        {
            Run("fusermount", "-u", mount);
        }

        File.Delete(cloneVhdx);
        VhdxDisk.CreateDifferencing(cloneVhdx, goldenVhdx);
        WriteChanged(cloneVhdx, image, scratch, restore: true);
        File.WriteAllText(touchedFile, output.Trim());
    }

    clones.Add(cloneVhdx);
    touchedBytes.Add(long.Parse(File.ReadAllText(touchedFile), CultureInfo.InvariantCulture));
}

Console.WriteLine($"{count} clones ready in {build.Elapsed.TotalSeconds:F0} s; load average: {File.ReadAllText("/proc/loadavg").Trim()}");
var engine = new BuiltinEngine(SignatureDatabase.Load(db));
var sw = Stopwatch.StartNew();
FleetReport fleet = await new FleetScanner(engine).ScanAsync(goldenVhdx, clones);
double fleetSeconds = sw.Elapsed.TotalSeconds;
Console.WriteLine($"load average after the fleet scan: {File.ReadAllText("/proc/loadavg").Trim()}");
sw.Restart();
FleetReport? fullReport = fleetOnly ? null : await new FleetScanner(engine, new FleetScanOptions { Full = true }).ScanAsync(goldenVhdx, clones);
double fullSeconds = sw.Elapsed.TotalSeconds;
if (fullReport is not null)
{
    Console.WriteLine($"load average after the --full scan: {File.ReadAllText("/proc/loadavg").Trim()}");
}

// Without --full, the per-clone columns of --full repeat the fleet's (and say nothing).
FleetReport full = fullReport ?? fleet;

Console.WriteLine($"golden: {fleet.Parent.BytesRead / (double)MiB:F1} MiB read in {fleet.Parent.Seconds:F2} s; {string.Join("; ", fleet.Parent.Volumes)}");
Console.WriteLine("clone  divergent KiB  touched KiB  bound KiB  read KiB  read/bound  full MiB  fleet s  full s  same  walk");
long boundTotal = 0, idealTotal = 0, readTotal = 0, fullTotal = 0;
int within = 0, same = 0;
for (int i = 0; i < clones.Count; i++)
{
    DiskReport f = fleet.Clones[i];
    DiskReport u = full.Clones[i];
    long ideal = f.DivergentBytes + touchedBytes[i] + MiB;
    long bound = (long)(1.05 * ideal);
    bool equal = f.Findings.Select(x => (x.Path, x.Stream, x.Signature)).Order().SequenceEqual(u.Findings.Select(x => (x.Path, x.Stream, x.Signature)).Order());
    boundTotal += bound;
    idealTotal += ideal;
    readTotal += f.BytesRead;
    fullTotal += u.BytesRead;
    within += f.BytesRead <= bound ? 1 : 0;
    same += equal && f.Errors.Count == 0 ? 1 : 0;
    Console.WriteLine($"{i + 1,5}  {f.DivergentBytes / 1024.0,13:F0}  {touchedBytes[i] / 1024.0,11:F0}  {bound / 1024.0,9:F0}  {f.BytesRead / 1024.0,8:F0}  "
        + $"{(double)f.BytesRead / bound,10:F2}  {u.BytesRead / (double)MiB,8:F1}  {f.Seconds,7:F3}  {u.Seconds,6:F2}  {equal,4}  {string.Join("; ", f.Volumes)}"
        + (f.Errors.Count > 0 ? $"  ERRORS {string.Join("; ", f.Errors)}" : string.Empty));
}

if (fullReport is null)
{
    Console.WriteLine($"per clone: {within}/{clones.Count} within 1.05 x (divergent + touched + 1 MiB); mean read {readTotal / 1024.0 / clones.Count:F0} KiB, "
        + $"mean bound {boundTotal / 1024.0 / clones.Count:F0} KiB; fleet {fleetSeconds:F2} s; --full not run");
    Console.WriteLine($"load average: {File.ReadAllText("/proc/loadavg").Trim()}");
    return 0;
}

double speedup = fullSeconds / fleetSeconds;
double idealSpeedup = (double)fullTotal / (fleet.Parent.BytesRead + idealTotal);
Console.WriteLine($"per clone: {within}/{clones.Count} within 1.05 x (divergent + touched + 1 MiB); mean read {readTotal / 1024.0 / clones.Count:F0} KiB, "
    + $"mean bound {boundTotal / 1024.0 / clones.Count:F0} KiB; findings equal --full: {same}/{clones.Count}");
Console.WriteLine($"fleet {fleetSeconds:F2} s ({(fleet.Parent.BytesRead + readTotal) / (double)MiB:F1} MiB read), --full {fullSeconds:F2} s ({fullTotal / (double)MiB:F1} MiB read)");
Console.WriteLine($"speedup {speedup:F2}, ideal from bytes {idealSpeedup:F2} = --full bytes / (golden bytes + sum of divergent + touched + 1 MiB); "
    + $"achieved {speedup / idealSpeedup:F2} x ideal");
Console.WriteLine($"load average: {File.ReadAllText("/proc/loadavg").Trim()}");
return 0;

static string Run(string exe, params string[] arguments)
{
    var psi = new ProcessStartInfo(exe) { RedirectStandardError = true, RedirectStandardOutput = true };
    foreach (string a in arguments)
    {
        psi.ArgumentList.Add(a);
    }

    using Process p = Process.Start(psi)!;
    Task<string> err = p.StandardError.ReadToEndAsync();
    string output = p.StandardOutput.ReadToEnd();
    p.WaitForExit();
    if (p.ExitCode != 0)
    {
        throw new InvalidOperationException($"{exe} failed ({p.ExitCode}): {err.Result}");
    }

    return output;
}

// Writes every 512-byte sector of `current` that differs from `previous` (zeros when null) into the VHDX; with restore,
// puts `previous`'s bytes back into `current` there.
static void WriteChanged(string vhdx, string? previous, string current, bool restore = false)
{
    const int Sector = 512;
    using VhdxDisk disk = VhdxDisk.Open(vhdx, new VhdxOpenOptions { Writable = true });
    byte[] before = new byte[MiB];
    byte[] after = new byte[MiB];
    using FileStream now = restore ? new FileStream(current, FileMode.Open, FileAccess.ReadWrite) : File.OpenRead(current);
    using FileStream? then = previous is null ? null : File.OpenRead(previous);
    for (long offset = 0; offset < now.Length; offset += MiB)
    {
        int n = (int)Math.Min(MiB, now.Length - offset);
        now.Position = offset;
        now.ReadExactly(after, 0, n);
        if (then is null)
        {
            Array.Clear(before);
        }
        else
        {
            then.ReadExactly(before, 0, n);
        }

        if (before.AsSpan(0, n).SequenceEqual(after.AsSpan(0, n)))
        {
            continue;
        }

        int runStart = -1;
        for (int at = 0; at <= n; at += Sector)
        {
            bool differs = at < n && !before.AsSpan(at, Sector).SequenceEqual(after.AsSpan(at, Sector));
            if (differs && runStart < 0)
            {
                runStart = at;
            }
            else if (!differs && runStart >= 0)
            {
                disk.Write(after.AsSpan(runStart, at - runStart), offset + runStart);
                runStart = -1;
            }
        }

        if (restore)
        {
            now.Position = offset;
            now.Write(before, 0, n);
        }
    }

    disk.Flush();
}
