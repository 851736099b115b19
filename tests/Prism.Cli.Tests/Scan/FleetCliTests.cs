using System.Text.Json;
using Prism.Disks.Vhdx;
using Prism.Scanner.Fleet;
using Prism.Scanner.Signatures;
using Prism.Scanner.Tests.Fleet;
using Prism.Scanner.Tests.Signatures;
using Prism.Testing;

namespace Prism.Cli.Tests.Scan;

/// <summary>prism scan: exit codes, JSON shape, and errors that affect one clone while the rest of the fleet is scanned.</summary>
[Collection(GoldenFleetCollection.Name)]
public sealed class FleetCliTests(GoldenFleetFixture fixture)
{
    private static (int Exit, string Out, string Err) Prism(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = global::Prism.Cli.Program.Run(["scan", .. args, "--quiet"], stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [SkippableFact]
    public void SignatureDirectoryTakesEveryDatabaseType_AnIgn2ThereSilencesWhatItNames()
    {
        // Issue #13: "--signatures DIR" dropped .ign2 (and .fp, .ldb, ...) files without a word.
        fixture.Require();
        using var dir = new TempDir();
        string sigs = Path.Combine(dir.Path, "sigs");
        Directory.CreateDirectory(sigs);
        foreach (string db in fixture.Databases)
        {
            File.Copy(db, Path.Combine(sigs, Path.GetFileName(db)));
        }

        string json = dir.File("report.json");
        (int exit, string stdout, string stderr) = Prism([fixture.GoldenPath, .. fixture.ClonePaths, "--signatures", sigs, "--json", json]);
        Assert.True(exit == 1, $"exit {exit}: {stderr}{stdout}");
        SortedSet<string> names = SignatureNames(json);

        Assert.True(names.Count >= 2, string.Join(", ", names));
        string silenced = names.Min!;
        File.WriteAllLines(Path.Combine(sigs, "local.ign2"), [silenced]);
        (exit, stdout, stderr) = Prism([fixture.GoldenPath, .. fixture.ClonePaths, "--signatures", sigs, "--json", json]);
        Assert.True(exit == 1, $"exit {exit}: {stderr}{stdout}");
        SortedSet<string> after = SignatureNames(json);

        names.Remove(silenced);
        Assert.Equal(names, after);

        // The report carries the load counts of sigs info (the ign2 line among them), then the compiled cache's path.
        SignatureDatabase loaded = SignatureDatabase.Load(sigs);
        using (JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json)))
        {
            JsonElement counts = doc.RootElement.GetProperty("signatures");
            Assert.Equal(
                loaded.TypeCounts.Select(c => $"{c.Type} {c.Loaded} {c.NotLoaded} {c.Ignored}"),
                counts.GetProperty("types").EnumerateArray().Select(t => $"{t.GetProperty("type").GetString()} {t.GetProperty("loaded").GetInt32()} {t.GetProperty("notLoaded").GetInt32()} {t.GetProperty("ignored").GetInt32()}"));
            Assert.Contains(loaded.TypeCounts, c => c.Type == "ign2" && c.Loaded == 1);
            Assert.Equal(loaded.HashSignatureCount, counts.GetProperty("hashSignatures").GetInt32());
            Assert.Equal(loaded.BodySignatureCount, counts.GetProperty("bodySignatures").GetInt32());
            Assert.Equal(JsonValueKind.Null, counts.GetProperty("cache").ValueKind);
        }

        Assert.Equal(0, global::Prism.Cli.Program.Run(["sigs", "compile", sigs], new StringWriter(), new StringWriter()));
        (exit, stdout, stderr) = Prism([fixture.GoldenPath, .. fixture.ClonePaths, "--signatures", sigs, "--json", json]);
        Assert.True(exit == 1, $"exit {exit}: {stderr}{stdout}");
        Assert.Equal(after, SignatureNames(json));
        using (JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json)))
        {
            Assert.Equal(SignatureDatabase.CacheLocations(sigs)[0], doc.RootElement.GetProperty("signatures").GetProperty("cache").GetString());
        }
    }

    [SkippableFact]
    public async Task PcreAndByteCompareSignatures_FleetEqualsFullEqualsClamscan()
    {
        // Issue #13: the fleet invariant with the logical-signature forms that run over the whole file.
        fixture.Require();
        using var dir = new TempDir();
        string forms = dir.File("forms.ldb");
        string Hex(string s) => Convert.ToHexStringLower(System.Text.Encoding.ASCII.GetBytes(s));
        File.WriteAllText(forms,
            $"Prism.Fleet.Pcre;Engine:81-255,Target:0;0&1;{Hex("appended by")};0/appended by the (guest|host)\\x0a/\n"
            + $"Prism.Fleet.PcreCount;Engine:81-255,Target:0;0&1>400;{Hex("log line 1")};0/^log line \\d+$/mg\n"
            + $"Prism.Fleet.ByteCompare;Engine:81-255,Target:0;0&1;{Hex("log line 499")};0(>>9#ib1#=0x34)\n");
        string[] databases = [.. fixture.Databases, forms];
        var engine = new BuiltinEngine(SignatureDatabase.Load(databases));
        Assert.Empty(engine.Database.Issues);
        (FleetReport fleet, FleetReport full) = await fixture.ScanFleetAndFullAsync(engine);
        string json = dir.File("r.json");
        (int exit, string stdout, string stderr) = Prism([fixture.GoldenPath, .. fixture.ClonePaths, "--signatures", .. databases, "--json", json]);
        Assert.True(exit == 1, $"exit {exit}: {stderr}{stdout}");
        Assert.Superset(new SortedSet<string>(["Prism.Fleet.Pcre", "Prism.Fleet.PcreCount", "Prism.Fleet.ByteCompare"], StringComparer.Ordinal), SignatureNames(json));
        for (int i = 0; i < fixture.Clones.Count; i++)
        {
            string name = fixture.Clones[i].Name;
            FleetDisks.AssertSame(FleetDisks.Hits(full.Clones[i]), FleetDisks.Hits(fleet.Clones[i]), name + " fleet vs --full");
            string volume = FleetDisks.ExtractVolume(fixture.Clones[i].Path, dir.Path);
            try
            {
                FleetDisks.AssertSame(FleetDisks.Clamscan(volume, dir.Path, databases), FleetDisks.Hits(fleet.Clones[i]), name + " fleet vs clamscan");
            }
            finally
            {
                File.Delete(volume);
            }
        }

        Assert.Contains(fleet.Clones[fixture.Clones.FindIndex(c => c.Name == "appended")].Findings, f => f.Signature == "Prism.Fleet.Pcre");
    }

    /// <summary>The signature names of every finding in a JSON report.</summary>
    private static SortedSet<string> SignatureNames(string reportPath)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(reportPath));
        foreach (JsonElement c in doc.RootElement.GetProperty("clones").EnumerateArray())
        {
            foreach (JsonElement f in c.GetProperty("findings").EnumerateArray())
            {
                names.Add(f.GetProperty("signature").GetString()!);
            }
        }

        return names;
    }

    [SkippableFact]
    public async Task JsonReportHasTheDocumentedShapeAndTheScannersFindings()
    {
        fixture.Require();
        using var dir = new TempDir();
        string json = dir.File("report.json");
        (int exit, string stdout, string stderr) = Prism([fixture.GoldenPath, .. fixture.ClonePaths, "--signatures", .. fixture.Databases, "--json", json]);
        Assert.True(exit == 1, $"exit {exit}: {stderr}{stdout}");
        FleetReport api = await new FleetScanner(new BuiltinEngine(SignatureDatabase.Load(fixture.Databases))).ScanAsync(fixture.GoldenPath, fixture.ClonePaths);

        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement root = doc.RootElement;
        Assert.Equal(JsonValueKind.Object, root.GetProperty("parent").ValueKind);
        Assert.Equal(Path.GetFullPath(fixture.GoldenPath), root.GetProperty("parent").GetProperty("path").GetString());
        JsonElement clones = root.GetProperty("clones");
        Assert.Equal(fixture.Clones.Count, clones.GetArrayLength());
        bool sawAds = false;
        for (int i = 0; i < fixture.Clones.Count; i++)
        {
            JsonElement c = clones[i];
            Assert.Equal(Path.GetFullPath(fixture.Clones[i].Path), c.GetProperty("path").GetString());
            Assert.Equal(JsonValueKind.Number, c.GetProperty("bytesRead").ValueKind);
            Assert.Equal(JsonValueKind.Number, c.GetProperty("bytesInherited").ValueKind);
            Assert.Equal(JsonValueKind.Number, c.GetProperty("seconds").ValueKind);
            Assert.True(c.GetProperty("bytesRead").GetInt64() > 0);
            var hits = new HashSet<Hit>();
            foreach (JsonElement f in c.GetProperty("findings").EnumerateArray())
            {
                string path = f.GetProperty("path").GetString()!;
                Assert.StartsWith("/", path, StringComparison.Ordinal);
                Assert.DoesNotContain('\\', path);
                JsonElement stream = f.GetProperty("stream");
                Assert.True(stream.ValueKind is JsonValueKind.Null or JsonValueKind.String);
                sawAds |= stream.ValueKind == JsonValueKind.String;
                hits.Add(new Hit(path, stream.ValueKind == JsonValueKind.Null ? null : stream.GetString(), f.GetProperty("signature").GetString()!));
            }

            FleetDisks.AssertSame(FleetDisks.Hits(api.Clones[i]), hits, fixture.Clones[i].Name + " JSON vs API");
            FleetDisks.AssertSame(fixture.ClamscanOf(fixture.Clones[i].Path), hits, fixture.Clones[i].Name + " JSON vs clamscan");
            foreach (Finding f in api.Clones[i].Findings)
            {
                Assert.Contains($"FOUND {f.Signature}: ", stdout, StringComparison.Ordinal);
            }
        }

        Assert.True(sawAds, "an alternate data stream finding has a non-null stream");
    }

    [SkippableFact]
    public void MalformedSignatureFilesFailWithFileAndLine()
    {
        fixture.Require();
        using var dir = new TempDir();
        string ndb = dir.File("bad.ndb");
        File.WriteAllText(ndb, "Good.One:0:*:41424344454647\nGood.Two:0:*:5152535455\nBad.Hex:0:*:4142zz44\n");
        string hdb = dir.File("bad.hdb");
        File.WriteAllText(hdb, "44d88612fea8a8f36de82e1278abb02f:68:Good.Md5\nnot-a-hash:12:Bad.Md5\n");
        foreach ((string file, int line) in new[] { (ndb, 3), (hdb, 2) })
        {
            SignatureFormatException e = Assert.Throws<SignatureFormatException>(() => SignatureDatabase.Load(file));
            Assert.Contains($"{line}", e.Message, StringComparison.Ordinal);
            (int exit, string stdout, string stderr) = Prism([fixture.GoldenPath, fixture.ClonePaths[0], "--signatures", file]);
            Assert.True(exit == 2, $"exit {exit}: {stderr}{stdout}");
            Assert.Contains($"{Path.GetFileName(file)}:{line}", stderr, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public async Task MissingAndBrokenClonesAreReportedAndTheRestOfTheFleetIsScanned()
    {
        fixture.Require();
        using var dir = new TempDir();
        string parent = dir.File("parent.vhdx");
        File.Copy(fixture.GoldenPath, parent);
        string broken = dir.File("broken.vhdx");
        VhdxDisk.CreateDifferencing(broken, parent);

        // The parent is written after the clone was made: the clone's parent linkage no longer matches.
        byte[] sector = new byte[4096];
        sector[10] = 1;
        FleetDisks.WriteRaw(parent, 256 << 10, sector);
        string good = dir.File("good.vhdx");
        VhdxDisk.CreateDifferencing(good, parent);
        byte[] eicarSector = new byte[4096];
        fixture.Eicar.CopyTo(eicarSector, 100);
        FleetDisks.WriteRaw(good, 300 << 10, eicarSector);
        string missing = dir.File("missing.vhdx");
        string[] clones = [broken, missing, good];

        var engine = new BuiltinEngine(SignatureDatabase.Load(fixture.Databases));
        FleetReport fleet = await new FleetScanner(engine).ScanAsync(parent, clones);
        FleetReport full = await new FleetScanner(engine, new FleetScanOptions { Full = true }).ScanAsync(parent, [good]);
        Assert.NotEmpty(fleet.Clones[0].Errors);
        Assert.NotEmpty(fleet.Clones[1].Errors);
        Assert.Empty(fleet.Clones[2].Errors);
        Assert.Contains("missing.vhdx", fleet.Clones[1].Errors[0], StringComparison.Ordinal);
        Assert.Contains(fleet.Clones[2].Findings, f => f.Signature == "Prism.Fleet.Eicar" && f.Path.StartsWith("$raw", StringComparison.Ordinal));
        FleetDisks.AssertSame(FleetDisks.Hits(full.Clones[0]), FleetDisks.Hits(fleet.Clones[2]), "good clone vs --full");

        string json = dir.File("r.json");
        (int exit, string stdout, string stderr) = Prism([parent, .. clones, "--signatures", .. fixture.Databases, "--json", json]);
        Assert.True(exit == 2, $"exit {exit}: {stderr}{stdout}");
        Assert.Contains("ERROR", stdout, StringComparison.Ordinal);
        Assert.Contains("FOUND Prism.Fleet.Eicar: $raw@", stdout, StringComparison.Ordinal);

        // A raw finding names the virtual disk offset of the match, in the table as in the JSON.
        long eicarAt = (300 << 10) + 100;
        Assert.Contains(fleet.Clones[2].Findings, f => f.Signature == "Prism.Fleet.Eicar" && f.DiskOffset == eicarAt);
        Assert.Contains(full.Clones[0].Findings, f => f.Signature == "Prism.Fleet.Eicar" && f.DiskOffset == eicarAt);
        Assert.Contains($"(match at disk offset 0x{eicarAt:X})", stdout, StringComparison.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement[] c = doc.RootElement.GetProperty("clones").EnumerateArray().ToArray();
        Assert.Equal(3, c.Length);
        Assert.NotEqual(0, c[0].GetProperty("errors").GetArrayLength());
        Assert.NotEqual(0, c[1].GetProperty("errors").GetArrayLength());
        Assert.Equal(0, c[2].GetProperty("errors").GetArrayLength());
        Assert.Equal(fleet.Clones[2].Findings.Count, c[2].GetProperty("findings").GetArrayLength());
    }

    /// <summary>--dir: a clone whose chain is broken cannot be grouped under a parent; it must still fail the run (exit 2), not vanish.</summary>
    [SkippableFact]
    public void DirModeReportsABrokenCloneInsteadOfSkippingIt()
    {
        fixture.Require();
        using var dir = new TempDir();
        string parent = dir.File("a-parent.vhdx");
        File.Copy(fixture.GoldenPath, parent);
        string broken = dir.File("b-broken.vhdx");
        VhdxDisk.CreateDifferencing(broken, parent);
        FleetDisks.WriteRaw(parent, 256 << 10, new byte[4096]);
        string good = dir.File("c-good.vhdx");
        VhdxDisk.CreateDifferencing(good, parent);

        // Signatures the golden does not match (SHA-256 only): the good part of the fleet is clean.
        (int exit, string stdout, string stderr) = Prism(["--dir", dir.Path, "--signatures", fixture.Databases.Single(d => d.EndsWith(".hsb", StringComparison.Ordinal))]);
        Assert.Contains("c-good.vhdx", stdout, StringComparison.Ordinal);
        Assert.True(exit == 2, $"exit {exit} although b-broken.vhdx could not be scanned: {stderr}{stdout}");
        Assert.Contains("b-broken.vhdx", stdout + stderr, StringComparison.Ordinal);
    }
}
