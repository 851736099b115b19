using Prism.Disks.Vhdx;
using Prism.Scanner.Fleet;
using Prism.Scanner.Signatures;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Scanner.Tests.Fleet;

/// <summary>
/// Seeded random golden layouts (files written with ntfscp) × random guest divergence (files overwritten, added,
/// deleted, patched in place, renamed, alternate data streams written; raw sector writes into unpartitioned space and under files' data behind NTFS's back):
/// each clone's fleet findings equal its --full findings, and the fleet scan never reads more than the full one.
/// </summary>
[Collection(GoldenFleetCollection.Name)]
public sealed class FleetPropertyTests(GoldenFleetFixture fixture, ITestOutputHelper output)
{
    private const int Cases = 20;

    [SkippableFact]
    public async Task FleetFindingsEqualFullFindingsForRandomLayoutsAndDivergence()
    {
        fixture.Require();
        using var dir = new TempDir();
        string empty = dir.File("empty.vol");
        FleetDisks.CreateVolume(empty);
        var engine = new BuiltinEngine(SignatureDatabase.Load(fixture.Databases));

        // Bounded body signatures only: raw space may then be rescanned in windows around the changes.
        var bounded = new BuiltinEngine(SignatureDatabase.Load(fixture.Databases.Where(d => d.EndsWith(".ndb", StringComparison.Ordinal)).ToArray()));
        byte[][] patterns = [fixture.Eicar, fixture.Plain, fixture.Wild, fixture.Straddle, fixture.AdsPattern];
        long fleetRead = 0, fullRead = 0;
        int clonesChecked = 0, infectedClones = 0;
        for (int seed = 0; seed < Cases; seed++)
        {
            var rng = new Random(4242 + seed);
            string caseDir = Directory.CreateDirectory(dir.File($"case{seed:D2}")).FullName;
            string host = Path.Combine(caseDir, "host");

            byte[] Content(long size)
            {
                byte[] data = new byte[size];
                rng.NextBytes(data);
                if (rng.Next(5) < 2)
                {
                    byte[] p = patterns[rng.Next(patterns.Length)];
                    if (p.Length <= size)
                    {
                        p.CopyTo(data, rng.Next(0, (int)(size - p.Length + 1)));
                    }
                }

                return rng.Next(12) == 0 ? (byte[])fixture.HashedMd5.Clone() : data;
            }

            long RandomSize() => rng.Next(3) switch
            {
                0 => rng.Next(1, 900),
                1 => rng.Next(1_000, 100_000),
                _ => rng.Next(100_000, 2_500_000),
            };

            // Golden: a handful of files copied in with ntfscp.
            string goldenVol = Path.Combine(caseDir, "golden.vol");
            FleetDisks.SparseCopy(empty, goldenVol);
            var goldenFiles = new Dictionary<string, long>(StringComparer.Ordinal);
            int fileCount = rng.Next(3, 8);
            for (int i = 0; i < fileCount; i++)
            {
                byte[] data = Content(RandomSize());
                File.WriteAllBytes(host, data);
                FleetDisks.NtfsCp(goldenVol, host, $"/f{i}.bin");
                goldenFiles[$"/f{i}.bin"] = data.Length;
            }

            string raw = Path.Combine(caseDir, "golden.raw");
            FleetDisks.AssembleDisk(goldenVol, raw);
            string golden = Path.Combine(caseDir, "golden.vhdx");
            FleetDisks.Import(raw, golden);
            File.Delete(raw);

            var clones = new List<string>();
            var log = new List<string>();
            int cloneCount = rng.Next(1, 4);
            for (int c = 0; c < cloneCount; c++)
            {
                string vol = Path.Combine(caseDir, $"clone{c}.vol");
                FleetDisks.SparseCopy(goldenVol, vol);
                var files = new Dictionary<string, long>(goldenFiles, StringComparer.Ordinal);
                var rawWrites = new List<(long Offset, byte[] Data)>();
                int ops = rng.Next(1, 5);
                for (int o = 0; o < ops; o++)
                {
                    string[] names = [.. files.Keys.Order(StringComparer.Ordinal)];
                    string victim = names.Length > 0 ? names[rng.Next(names.Length)] : "";
                    switch (rng.Next(8))
                    {
                        case 0 when names.Length > 0:
                            {
                                byte[] data = Content(RandomSize());
                                File.WriteAllBytes(host, data);
                                FleetDisks.NtfsCp(vol, host, victim);
                                files[victim] = Math.Max(files[victim], data.Length);
                                log.Add($"c{c} overwrite {victim}");
                                break;
                            }

                        case 1:
                            {
                                string name = $"/new{c}_{o}.bin";
                                byte[] data = Content(RandomSize());
                                File.WriteAllBytes(host, data);
                                FleetDisks.NtfsCp(vol, host, name);
                                files[name] = data.Length;
                                log.Add($"c{c} add {name}");
                                break;
                            }

                        case 2 when names.Length > 0:
                            FleetDisks.WithMount(vol, caseDir, m => File.Delete(m + victim));
                            files.Remove(victim);
                            log.Add($"c{c} delete {victim}");
                            break;
                        case 3 when names.Length > 0 && files[victim] > 200:
                            {
                                long at = rng.NextInt64(0, files[victim] - 100);
                                byte[] patch = Content(Math.Min(100, files[victim] - at));
                                FleetDisks.WithMount(vol, caseDir, m =>
                                {
                                    using var f = new FileStream(m + victim, FileMode.Open, FileAccess.Write);
                                    f.Position = at;
                                    f.Write(patch);
                                });
                                log.Add($"c{c} patch {victim}@{at}");
                                break;
                            }

                        case 4:
                            {
                                // Raw sectors in the MBR gap (no file system claims them).
                                long at = rng.Next(1, 255) * 4096L;
                                rawWrites.Add((at, Content(4096 * rng.Next(1, 3))));
                                log.Add($"c{c} raw-gap @{at}");
                                break;
                            }

                        case 5 when names.Length > 0 && files[victim] > 8192:
                            {
                                // Under the file's data, behind NTFS's back: the record is unchanged, the content is not.
                                long lcn = FleetDisks.FirstLcn(vol, victim);
                                long within = rng.NextInt64(0, (files[victim] / 4096) - 1) * 4096;
                                using (var f = new FileStream(vol, FileMode.Open, FileAccess.Write))
                                {
                                    f.Position = (lcn * 4096) + within;
                                    f.Write(Content(4096));
                                }

                                log.Add($"c{c} raw-under {victim}@{within}");
                                break;
                            }

                        case 6 when names.Length > 0:
                            {
                                byte[] data = Content(rng.Next(2) == 0 ? rng.Next(1, 600) : rng.Next(5_000, 200_000));
                                FleetDisks.WithMount(vol, caseDir, m => File.WriteAllBytes(m + victim + ":s" + o, data));
                                log.Add($"c{c} ads {victim}:s{o}");
                                break;
                            }

                        case 7 when names.Length > 0:
                            {
                                string to = $"/renamed{c}_{o}.bin";
                                FleetDisks.WithMount(vol, caseDir, m => File.Move(m + victim, m + to));
                                files[to] = files[victim];
                                files.Remove(victim);
                                log.Add($"c{c} rename {victim} -> {to}");
                                break;
                            }

                        default:
                            break;
                    }
                }

                string vhdx = Path.Combine(caseDir, $"clone{c}.vhdx");
                VhdxDisk.CreateDifferencing(vhdx, golden);
                FleetDisks.WriteDivergence(vhdx, goldenVol, vol);
                foreach ((long at, byte[] data) in rawWrites)
                {
                    FleetDisks.WriteRaw(vhdx, at, data);
                }

                File.Delete(vol);
                clones.Add(vhdx);
            }

            FleetReport fleet = await new FleetScanner(engine).ScanAsync(golden, clones);
            FleetReport full = await new FleetScanner(engine, new FleetScanOptions { Full = true }).ScanAsync(golden, clones);
            FleetReport fleetBounded = await new FleetScanner(bounded).ScanAsync(golden, clones);
            FleetReport fullBounded = await new FleetScanner(bounded, new FleetScanOptions { Full = true }).ScanAsync(golden, clones);
            for (int c = 0; c < clones.Count; c++)
            {
                string what = $"seed {4242 + seed} clone {c} [{string.Join("; ", log)}]";
                Assert.True(full.Clones[c].Errors.Count == 0, what + ": " + string.Join("; ", full.Clones[c].Errors));
                Assert.Equal(full.Clones[c].Errors, fleet.Clones[c].Errors);
                FleetDisks.AssertSame(FleetDisks.Hits(full.Clones[c]), FleetDisks.Hits(fleet.Clones[c]), what);
                FleetDisks.AssertSame(FleetDisks.Hits(fullBounded.Clones[c]), FleetDisks.Hits(fleetBounded.Clones[c]), what + " (ndb only)");
                Assert.True(fleetBounded.Clones[c].BytesRead <= fullBounded.Clones[c].BytesRead, what + " (ndb only): fleet read more than full");
                Assert.True(fleet.Clones[c].BytesRead <= full.Clones[c].BytesRead,
                    $"{what}: fleet read {fleet.Clones[c].BytesRead} > full {full.Clones[c].BytesRead}");
                fleetRead += fleet.Clones[c].BytesRead;
                fullRead += full.Clones[c].BytesRead;
                clonesChecked++;
                infectedClones += full.Clones[c].Findings.Count > 0 ? 1 : 0;
            }

            Directory.Delete(caseDir, recursive: true);
        }

        output.WriteLine($"{Cases} layouts, {clonesChecked} clones ({infectedClones} infected): fleet read {fleetRead:N0} bytes, full read {fullRead:N0} bytes");
        Assert.InRange(infectedClones, 1, clonesChecked - 1);
    }
}
