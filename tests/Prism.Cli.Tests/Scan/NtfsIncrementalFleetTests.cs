using System.Text.Json;
using Prism.Disks.Guest;
using Prism.Disks.IO;
using Prism.Disks.Ntfs;
using Prism.Disks.Tests;
using Prism.Disks.Tests.Ntfs;
using Prism.Disks.Vhdx;
using Prism.Scanner.Fleet;
using Prism.Scanner.Signatures;
using Prism.Scanner.Tests.Fleet;
using Prism.Testing;
using Xunit.Abstractions;

namespace Prism.Cli.Tests.Scan;

/// <summary>
/// Issue #16 at fleet level: each clone's NTFS walk is patched from the golden's (only its divergent records and index
/// blocks read), and its findings equal a --full scan's and clamscan's over the ntfs-3g-mounted clone; the patched walk
/// equals a full walk of the clone; clones the walk cannot patch are walked whole with the reason in their report; the
/// golden's walk kept in the verdict store serves a later run.
/// </summary>
public sealed class NtfsIncrementalFleetTests(NtfsIncrementalFleetFixture fixture, ITestOutputHelper output) : IClassFixture<NtfsIncrementalFleetFixture>
{
    [SkippableFact]
    public void FleetFindingsEqualFullScan_PatchedWalksReported()
    {
        fixture.Require();
        (FleetReport fleet, FleetReport full) = fixture.Reports;
        Assert.Empty(fleet.Parent.Errors);
        Assert.NotEmpty(fleet.Parent.Findings);
        HashSet<Hit> golden = FleetDisks.Hits(fleet.Parent);
        int changedFindings = 0;
        for (int i = 0; i < fixture.Clones.Count; i++)
        {
            (string name, _, _) = fixture.Clones[i];
            DiskReport f = fleet.Clones[i];
            DiskReport u = full.Clones[i];
            FleetDisks.AssertSame(FleetDisks.Hits(u), FleetDisks.Hits(f), $"{name}: fleet vs --full");
            string volume = Assert.Single(f.Volumes, v => v.StartsWith("partition 1: NTFS", StringComparison.Ordinal));
            output.WriteLine($"{name,-15} findings {f.Findings.Count,3} read {f.BytesRead,12:N0} (--full {u.BytesRead,12:N0}) divergent {f.DivergentBytes,10:N0} "
                + $"scanned {f.StreamsScanned,4} inherited {f.StreamsInherited,6} | {volume}");
            switch (name)
            {
                case "boot-sector":
                    Assert.StartsWith("partition 1: NTFS, full walk: boot sector changed (the boot sector differs from the parent's at byte 0x1F0", volume);
                    Assert.Empty(f.Errors);
                    break;
                case "under-fs":
                    // No metadata diverged: the golden's walk serves whole; the overwritten file alone is read again.
                    Assert.Equal("partition 1: NTFS, walk reused: no metadata diverged", volume);
                    Assert.Contains(golden, h => h.Path == fixture.UnderFileSystemVictim);
                    Assert.DoesNotContain(FleetDisks.Hits(f), h => h.Path == fixture.UnderFileSystemVictim);
                    Assert.InRange(f.StreamsScanned, 1, 2);
                    Assert.Empty(f.Errors);
                    break;
                case "damaged-record":
                    Assert.StartsWith("partition 1: NTFS, full walk: damaged metadata (", volume);
                    Assert.Contains(f.Errors, e => e.Contains("/t00/d000/f0001.txt", StringComparison.Ordinal));
                    Assert.Contains(u.Errors, e => e.Contains("/t00/d000/f0001.txt", StringComparison.Ordinal));
                    break;
                default:
                    Assert.StartsWith("partition 1: NTFS, walk patched: ", volume);

                    // Clones that changed files only derive their walk from the golden's (what they did not change is the
                    // golden's, looked at no more); the others changed the directory tree and list their files again.
                    Assert.EndsWith(name.StartsWith("files", StringComparison.Ordinal) ? " names listed anew" : "file list assembled again (the directory tree changed)",
                        volume);
                    Assert.Empty(f.Errors);
                    Assert.Empty(u.Errors);

                    // The clone read its divergence and what it rescanned, not the whole $MFT (1 MiB = 1,024 records of 1 KiB).
                    Assert.True(f.BytesRead * 4 < u.BytesRead, $"{name}: fleet read {f.BytesRead}, --full {u.BytesRead}");
                    break;
            }

            if (!FleetDisks.Hits(f).SetEquals(golden))
            {
                changedFindings++;
            }
        }

        Assert.True(changedFindings >= 3, $"only {changedFindings} clones' findings differ from the golden's");
    }

    [SkippableFact]
    public void PatchedWalkEqualsFullWalkOfEachClone()
    {
        fixture.Require();
        using VhdxDisk golden = VhdxDisk.Open(fixture.Golden.GoldenVhdx!);
        IGuestVolume goldenVolume = IncrementalWalkFixture.OpenVolume(golden);
        GuestWalk parent = goldenVolume.CaptureWalk() ?? throw new InvalidOperationException("NTFS makes its own walk");
        Assert.IsType<NtfsWalkSnapshot>(parent.State);
        IncrementalDisks.AssertSameLines(VisitWalk(goldenVolume), Lines(parent), "golden: CaptureWalk vs Visit");
        Assert.True(parent.Files.Count > 10_000);
        foreach ((string name, string vhdx, _) in fixture.Clones)
        {
            using VhdxDisk clone = VhdxDisk.Open(vhdx);
            var reads = new CountingSource(clone);
            IGuestVolume volume = IncrementalWalkFixture.OpenVolume(reads);
            GuestWalkResult patched = volume.PatchWalk(parent, IncrementalWalkFixture.Divergence(vhdx));
            long read = reads.BytesRead;
            GuestWalk walk = patched.Walk ?? throw new InvalidOperationException($"{name}: no walk ({patched.Reason})");
            Assert.IsType<NtfsWalkSnapshot>(walk.State);
            IncrementalDisks.AssertSameLines(VisitWalk(IncrementalWalkFixture.OpenVolume(clone)), Lines(walk), $"{name}: patched vs Visit");
            output.WriteLine($"{name,-15} walk read {read,12:N0} B: {patched.Reason}");

            // The walk survives the form the verdict store keeps it in.
            using var stored = new MemoryStream();
            walk.Write(stored);
            stored.Position = 0;
            GuestWalk back = GuestWalk.Read(stored);
            IncrementalDisks.AssertSameLines(Lines(walk), Lines(back), $"{name}: written and read");
            Assert.Equal(walk.Metadata, back.Metadata);
            Assert.Equal(walk.Errors, back.Errors);
            Assert.Equal(((NtfsWalkSnapshot)walk.State!).Files.Length, Assert.IsType<NtfsWalkSnapshot>(back.State).Files.Length);
        }

        // A damaged stored walk is a typed error naming what and where.
        using var buffer = new MemoryStream();
        parent.Write(buffer);
        byte[] bytes = buffer.ToArray();
        Assert.Contains("no \"PRGW\" signature at offset 0x0", Assert.Throws<InvalidDataException>(() => ReadWalk([.. bytes], b => b[0] ^= 1)).Message);
        Assert.Contains("format version 2 at offset 0x4", Assert.Throws<NotSupportedException>(() => ReadWalk([.. bytes], b => b[4] = 2)).Message);
        Assert.Contains("payload checksum mismatch", Assert.Throws<InvalidDataException>(() => ReadWalk([.. bytes], b => b[^100] ^= 0x40)).Message);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => GuestWalk.Read(new MemoryStream(bytes[..^1]), "stored walk")).Message);
    }

    private static GuestWalk ReadWalk(byte[] bytes, Action<byte[]> damage)
    {
        damage(bytes);
        return GuestWalk.Read(new MemoryStream(bytes), "stored walk");
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(4)]
    public void FleetFindingsEqualClamscanOverTheMountedClone(int seed)
    {
        fixture.Require();
        Oracle.Require("clamscan", "clamav");
        (FleetReport fleet, _) = fixture.Reports;
        int i = fixture.Clones.FindIndex(c => c.Name == $"seed{seed}");
        HashSet<Hit> oracle = FleetDisks.Clamscan(fixture.Clones[i].Image, fixture.Scratch, fixture.Databases);
        Assert.NotEmpty(oracle);
        FleetDisks.AssertSame(oracle, FleetDisks.Hits(fleet.Clones[i]), $"seed {seed}: fleet vs clamscan");
    }

    [SkippableFact]
    public async Task StoreKeepsTheGoldenWalk_ALaterRunPatchesClonesFromIt()
    {
        fixture.Require();
        using var dir = new TempDir();
        var engine = new BuiltinEngine(SignatureDatabase.Load(fixture.Databases));
        string goldenPath = fixture.Golden.GoldenVhdx!;
        (string first, string second) = (fixture.Clones[0].Vhdx, fixture.Clones[1].Vhdx);
        using (VerdictStore store = VerdictStore.Open(dir.File("store.db")))
        {
            FleetReport night1 = await new FleetScanner(engine, new FleetScanOptions { Store = store }).ScanAsync(goldenPath, [first]);
            Assert.False(night1.ParentFromStore);
            using VhdxDisk golden = VhdxDisk.Open(goldenPath);
            Assert.NotNull(store.LoadParentWalk($"{golden.DiskId:D}:{golden.DataWriteGuid:D}"));
            Assert.Null(store.LoadParentWalk($"{golden.DiskId:D}:{Guid.NewGuid():D}"));
        }

        using (VerdictStore store = VerdictStore.Open(dir.File("store.db")))
        {
            FleetReport night2 = await new FleetScanner(engine, new FleetScanOptions { Store = store }).ScanAsync(goldenPath, [second]);
            Assert.True(night2.ParentFromStore);
            DiskReport clone = Assert.Single(night2.Clones);
            Assert.Contains(clone.Volumes, v => v.StartsWith("partition 1: NTFS, walk patched: ", StringComparison.Ordinal));
            FleetDisks.AssertSame(FleetDisks.Hits(fixture.Reports.Full.Clones[1]), FleetDisks.Hits(clone), "store-loaded parent vs --full");
            Assert.True(clone.BytesRead * 4 < fixture.Reports.Full.Clones[1].BytesRead, $"read {clone.BytesRead}");
        }
    }

    [SkippableFact]
    public void ScanReportShowsWhyAClonesWalkWasNotPatched()
    {
        fixture.Require();
        using var dir = new TempDir();
        string json = dir.File("report.json");
        string boot = fixture.Clones.Single(c => c.Name == "boot-sector").Vhdx;
        string seed = fixture.Clones[0].Vhdx;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = global::Prism.Cli.Program.Run(["scan", "--signatures", .. fixture.Databases, fixture.Golden.GoldenVhdx!, boot, seed, "--json", json, "--quiet"],
            stdout, stderr);
        Assert.True(exit is 0 or 1, $"exit {exit}: {stderr}{stdout}");
        string text = stdout.ToString();
        Assert.Contains($"{Path.GetFileName(boot)}:\n  WALK partition 1: NTFS, full walk: boot sector changed (", text.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.DoesNotContain($"{Path.GetFileName(seed)}:\n  WALK", text.ReplaceLineEndings("\n"), StringComparison.Ordinal);

        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement clones = doc.RootElement.GetProperty("clones");
        string?[] bootVolumes = [.. clones[0].GetProperty("volumes").EnumerateArray().Select(v => v.GetString())];
        string?[] seedVolumes = [.. clones[1].GetProperty("volumes").EnumerateArray().Select(v => v.GetString())];
        Assert.Contains(bootVolumes, v => v!.StartsWith("partition 1: NTFS, full walk: boot sector changed (", StringComparison.Ordinal));
        Assert.Contains(seedVolumes, v => v!.StartsWith("partition 1: NTFS, walk patched: ", StringComparison.Ordinal));
    }

    // A whole walk through Visit, as the fleet scan makes one for a file system that has no walk of its own.
    private static List<string> VisitWalk(IGuestVolume volume)
    {
        var builder = new GuestWalk.Builder(volume);
        volume.Visit((in GuestFileView f) => builder.Add(f, f.GetSectorMap()), onError: e => builder.AddError(e.ToString()));
        return Lines(builder.Build());
    }

    private static List<string> Lines(GuestWalk walk) =>
        [.. walk.Files.Select(f => $"{f.Path} {f.Id}/{f.Generation} {f.Type} size {f.Size} md [{string.Join(' ', f.Metadata)}] name {f.NameRange} "
            + string.Join("; ", f.Streams.Select(s => $"'{s.Name}' {s.Size} {s.IsResident} [{string.Join(' ', s.Content)}]")))
            .Order(StringComparer.Ordinal)];
}
