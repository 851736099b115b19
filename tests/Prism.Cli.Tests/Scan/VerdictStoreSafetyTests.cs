using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Prism.Disks.Vhdx;
using Prism.Scanner.Fleet;
using Prism.Scanner.Tests.Fleet;
using Prism.Testing;

namespace Prism.Cli.Tests.Scan;

/// <summary>
/// Issue 10, item 3 and the exit codes: <c>--store F</c> only ever opens a Prism verdict store. Any other file is refused
/// and left byte for byte; a damaged store is moved aside, never deleted; locked, read-only and unreadable stores are
/// errors naming the file (exit 2), or warnings with <c>--store-optional</c>; scan exits 0 clean, 1 found, 2 error.
/// </summary>
public sealed class VerdictStoreSafetyTests(SmallFleetFixture fleet) : IClassFixture<SmallFleetFixture>
{
    private static readonly VerdictStoreOptions s_quick = new() { LockWait = TimeSpan.FromMilliseconds(300) };

    [Fact]
    public void StoreCaughtMidCreation_SchemaLessDatabaseIsTakenAsNew()
    {
        // A scan creating a store first sets WAL mode (the file then has a SQLite header and no schema) and only then
        // commits its tables; a second scan opening it in that window took it for someone else's database.
        using var dir = new TempDir();
        string path = dir.File("shared.db");
        using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA journal_mode = WAL;";
            cmd.ExecuteNonQuery();
        }

        Assert.True(new FileInfo(path).Length > 0);
        using (VerdictStore store = VerdictStore.Open(path))
        {
            Assert.False(store.WasRebuilt);
        }

        using VerdictStore again = VerdictStore.Open(path);
        Assert.False(again.WasRebuilt);
    }

    private static (int Exit, string Out, string Err) Scan(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = global::Prism.Cli.Program.Run(["scan", .. args, "--quiet"], stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private string[] Fleet(params string[] extra) => [fleet.Parent, fleet.Clean, fleet.Infected, "--signatures", fleet.Signatures, .. extra];

    private static string Sha(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private static void AssertNoSidecars(string path)
    {
        Assert.False(File.Exists(path + "-wal"), $"{path}-wal was created");
        Assert.False(File.Exists(path + "-shm"), $"{path}-shm was created");
        Assert.Empty(Directory.EnumerateFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + ".corrupt-*"));
    }

    /// <summary>A store exactly as the code before application_id made it (its schema and SQL, verbatim).</summary>
    private static void MakeLegacyStore(string path)
    {
        using var c = new SqliteConnection($"Data Source={path};Pooling=False");
        c.Open();
        using SqliteCommand cmd = c.CreateCommand();
        cmd.CommandText = """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS baselines (parent_key TEXT PRIMARY KEY, report TEXT NOT NULL, verdicts TEXT NOT NULL, created TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS clones (path TEXT PRIMARY KEY, clone_key TEXT NOT NULL, clean INTEGER NOT NULL, report TEXT NOT NULL, scanned TEXT NOT NULL);
            INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '1');
            INSERT INTO clones VALUES ('/old/clone.vhdx', 'k', 1, '{}', '2026-01-01');
            """;
        cmd.ExecuteNonQuery();
    }

    private static long Count(string path, string table)
    {
        using var c = new SqliteConnection($"Data Source={path};Pooling=False;Mode=ReadOnly");
        c.Open();
        using SqliteCommand cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT count(*) FROM {table};";
        return (long)cmd.ExecuteScalar()!;
    }

    [Fact]
    public void Open_TextFile_IsRefusedAndLeftByteForByte()
    {
        using var dir = new TempDir();
        string text = dir.File("notes.txt");
        File.WriteAllText(text, "my notes, not a database\n");
        string before = Sha(text);

        var e = Assert.Throws<VerdictStoreException>(() => VerdictStore.Open(text, s_quick));
        Assert.Equal(VerdictStoreProblem.NotAStore, e.Problem);
        Assert.Contains(text, e.Message, StringComparison.Ordinal);

        (int exit, string stdout, string stderr) = Scan(Fleet("--store", text));
        Assert.True(exit == 2, $"exit {exit}: {stderr}{stdout}");
        Assert.Contains(text, stderr, StringComparison.Ordinal);
        Assert.Contains("not a Prism verdict store", stderr, StringComparison.Ordinal);
        Assert.Equal(before, Sha(text));
        AssertNoSidecars(text);
    }

    [Fact]
    public void Open_VhdxOrSealedGolden_IsRefusedAndUntouched()
    {
        using var dir = new TempDir();
        string vhdx = dir.File("disk.vhdx");
        VhdxDisk.Create(vhdx, new VhdxCreateOptions { VirtualSize = 4 << 20 });
        string before = Sha(vhdx);
        var e = Assert.Throws<VerdictStoreException>(() => VerdictStore.Open(vhdx, s_quick));
        Assert.Equal(VerdictStoreProblem.NotAStore, e.Problem);
        (int exit, _, string stderr) = Scan(Fleet("--store", vhdx));
        Assert.True(exit == 2, stderr);
        Assert.Equal(before, Sha(vhdx));
        AssertNoSidecars(vhdx);

        // The fleet's own parent, sealed as a golden is: refused before anything opens it.
        string golden = dir.File("golden.vhdx");
        File.Copy(fleet.Parent, golden);
        File.SetAttributes(golden, FileAttributes.ReadOnly);
        string goldenBefore = Sha(golden);
        (exit, _, stderr) = Scan(Fleet("--store", golden));
        Assert.True(exit == 2, stderr);
        Assert.Contains(golden, stderr, StringComparison.Ordinal);
        Assert.Equal(goldenBefore, Sha(golden));
        Assert.True(VhdxDisk.IsSealed(golden));
        AssertNoSidecars(golden);
    }

    [Fact]
    public void Open_SqliteDatabaseOfOtherTables_IsRefusedAndUntouched()
    {
        using var dir = new TempDir();
        string other = dir.File("app.db");
        using (var c = new SqliteConnection($"Data Source={other};Pooling=False"))
        {
            c.Open();
            using SqliteCommand cmd = c.CreateCommand();
            cmd.CommandText = "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('a'), ('b');";
            cmd.ExecuteNonQuery();
        }

        SqliteConnection.ClearAllPools();
        string before = Sha(other);
        var e = Assert.Throws<VerdictStoreException>(() => VerdictStore.Open(other, s_quick));
        Assert.Equal(VerdictStoreProblem.NotAStore, e.Problem);
        Assert.Contains("customers", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, Sha(other));
        Assert.Equal(2, Count(other, "customers"));
    }

    [Fact]
    public void Open_StoreOfThePreviousFormat_IsRecognisedAndMigratedWithItsRows()
    {
        using var dir = new TempDir();
        string legacy = dir.File("old.db");
        MakeLegacyStore(legacy);
        SqliteConnection.ClearAllPools();
        using (VerdictStore store = VerdictStore.Open(legacy, s_quick))
        {
            Assert.False(store.WasRebuilt);
        }

        Assert.Equal(1, Count(legacy, "clones"));
        byte[] header = new byte[100];
        using (FileStream fs = File.OpenRead(legacy))
        {
            fs.ReadExactly(header);
        }

        Assert.Equal(VerdictStore.ApplicationId, BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(68)));

        // And the scan uses it: the second run takes the parent from it.
        Assert.Equal(1, Scan(Fleet("--store", legacy)).Exit);
        (int exit, string stdout, string stderr) = Scan(Fleet("--store", legacy));
        Assert.True(exit == 1, stderr);
        Assert.Contains("parent verdicts from store", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_DamagedStore_IsMovedAsideNeverDeleted()
    {
        using var dir = new TempDir();
        string path = dir.File("verdicts.db");
        Assert.Equal(1, Scan(Fleet("--store", path)).Exit);
        using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            using SqliteCommand cmd = c.CreateCommand();
            cmd.CommandText = "INSERT INTO meta (key, value) SELECT 'filler' || value, hex(randomblob(2000)) FROM generate_series(1, 40);";
            try
            {
                cmd.ExecuteNonQuery();
            }
            catch (SqliteException)
            {
                // generate_series is an extension some builds lack: fill with a recursive CTE instead.
                cmd.CommandText = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) "
                    + "INSERT INTO meta (key, value) SELECT 'filler' || i, hex(randomblob(2000)) FROM n;";
                cmd.ExecuteNonQuery();
            }

            cmd.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            cmd.ExecuteNonQuery();
        }

        SqliteConnection.ClearAllPools();
        using (FileStream fs = new(path, FileMode.Open, FileAccess.ReadWrite))
        {
            Assert.True(fs.Length > 16 * 4096, $"store is {fs.Length} bytes");
            byte[] garbage = new byte[fs.Length - 4096];
            new Random(7).NextBytes(garbage);
            fs.Position = 4096;
            fs.Write(garbage);
        }

        string damaged = Sha(path);
        (int exit, string stdout, string stderr) = Scan(Fleet("--store", path));
        Assert.True(exit == 1, $"a damaged store is reported, not an error of the scan: exit {exit}: {stderr}{stdout}");
        string aside = Assert.Single(Directory.EnumerateFiles(dir.Path, "verdicts.db.corrupt-*"),
            f => !f.EndsWith("-wal", StringComparison.Ordinal) && !f.EndsWith("-shm", StringComparison.Ordinal));
        Assert.Matches(@"\.corrupt-\d{8}T\d{6}Z$", aside);
        Assert.Contains("moved aside to " + aside, stderr, StringComparison.Ordinal);
        Assert.Equal(damaged, Sha(aside));

        // A new, working store took its place.
        using VerdictStore again = VerdictStore.Open(path, s_quick);
        Assert.False(again.WasRebuilt);
        Assert.Equal(2, Count(path, "clones"));
    }

    [Fact]
    public void Open_DirectoryInPlaceOfTheStore_IsAnErrorNamingIt()
    {
        using var dir = new TempDir();
        string path = Directory.CreateDirectory(dir.File("store.db")).FullName;
        File.WriteAllText(Path.Combine(path, "keep.txt"), "x");
        var e = Assert.Throws<VerdictStoreException>(() => VerdictStore.Open(path, s_quick));
        Assert.Equal(VerdictStoreProblem.Unreadable, e.Problem);

        string json = dir.File("report.json");
        (int exit, _, string stderr) = Scan(Fleet("--store", path, "--json", json));
        Assert.True(exit == 2, stderr);
        Assert.Contains(path, stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(json), "without --store-optional the scan does not run");
        Assert.True(File.Exists(Path.Combine(path, "keep.txt")));

        (exit, _, stderr) = Scan(Fleet("--store", path, "--json", json, "--store-optional"));
        Assert.True(exit == 1, $"--store-optional: the scan runs and reports its findings: exit {exit}: {stderr}");
        Assert.Contains("warning", stderr, StringComparison.Ordinal);
        Assert.Contains(path, stderr, StringComparison.Ordinal);
        Assert.True(File.Exists(json));
    }

    [Fact]
    public void Open_LockedStore_WaitsABoundedReportedTimeThenRefusesAndKeepsIt()
    {
        using var dir = new TempDir();
        string path = dir.File("busy.db");
        Assert.Equal(1, Scan(Fleet("--store", path)).Exit);
        long clones = Count(path, "clones");
        using (var holder = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            holder.Open();
            using SqliteTransaction tx = holder.BeginTransaction(deferred: false);
            var waits = new List<string>();
            var e = Assert.Throws<VerdictStoreException>(() => VerdictStore.Open(path, s_quick with { Waiting = waits.Add }));
            Assert.Equal(VerdictStoreProblem.Locked, e.Problem);
            Assert.Contains(path, Assert.Single(waits), StringComparison.Ordinal);

            string json = dir.File("report.json");
            (int exit, _, string stderr) = Scan(Fleet("--store", path, "--store-wait", "1", "--json", json));
            Assert.True(exit == 2, stderr);
            Assert.Contains("waiting up to 1 s", stderr, StringComparison.Ordinal);
            Assert.Contains("locked", stderr, StringComparison.Ordinal);
            Assert.False(File.Exists(json));

            (exit, _, stderr) = Scan(Fleet("--store", path, "--store-wait", "1", "--json", json, "--store-optional"));
            Assert.True(exit == 1, stderr);
            Assert.True(File.Exists(json));
            tx.Rollback();
        }

        Assert.Equal(clones, Count(path, "clones"));
        Assert.Empty(Directory.EnumerateFiles(dir.Path, "busy.db.corrupt-*"));
    }

    [Fact]
    public async Task StoreThatFailsDuringTheScan_IsRecordedAndTheScanStillReportsEverything()
    {
        using var dir = new TempDir();
        string path = dir.File("mid-run.db");
        var engine = new BuiltinEngine(Prism.Scanner.Signatures.SignatureDatabase.Load([fleet.Signatures]));
        using VerdictStore store = VerdictStore.Open(path, s_quick);
        FleetReport report;
        using (var holder = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            // Another process takes the write lock after the store was opened: every save of this scan times out.
            holder.Open();
            using SqliteTransaction tx = holder.BeginTransaction(deferred: false);
            report = await new FleetScanner(engine, new FleetScanOptions { Store = store }).ScanAsync(fleet.Parent, [fleet.Clean, fleet.Infected]);
            tx.Rollback();
        }

        Assert.NotEmpty(store.Problems);
        Assert.All(store.Problems, p => Assert.Contains(path, p, StringComparison.Ordinal));
        Assert.All(report.Clones, c => Assert.Empty(c.Errors));
        Assert.Equal("Prism.Small.Pattern", Assert.Single(report.Clones[1].Findings).Signature);
        Assert.Empty(report.Clones[0].Findings);
    }

    [Fact]
    public void Open_EmptyFile_BecomesANewStore()
    {
        using var dir = new TempDir();
        string path = dir.File("new.db");
        File.WriteAllBytes(path, []);
        using (VerdictStore store = VerdictStore.Open(path, s_quick))
        {
            Assert.False(store.WasRebuilt);
        }

        Assert.Equal(0, Count(path, "clones"));
    }

    /// <summary>As an unprivileged user (root ignores permission bits): a read-only and an unreadable store.</summary>
    [SkippableFact]
    public void ReadOnlyAndUnreadableStores_AreErrorsExit2_OrWarningsWithStoreOptional()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new SkipException("permission bits as an unprivileged user: Linux only");
        }

        Skip.IfNot(Environment.UserName == "root", "needs root to run the CLI as another user");
        string setpriv = Oracle.Require("setpriv", "util-linux");
        using var dir = new TempDir();
        string store = dir.File("ro.db");
        Assert.Equal(1, Scan(Fleet("--store", store)).Exit);
        SqliteConnection.ClearAllPools();
        string outputs = Directory.CreateDirectory(dir.File("out")).FullName;
        File.SetUnixFileMode(outputs, (UnixFileMode)0x1FF);
        File.SetUnixFileMode(dir.Path, (UnixFileMode)0x1ED);
        foreach (string f in new[] { fleet.Parent, fleet.Clean, fleet.Infected, fleet.Signatures })
        {
            Assert.True((File.GetUnixFileMode(f) & UnixFileMode.OtherRead) != 0, $"{f} must be readable by others");
        }

        ProcessResult AsNobody(params string[] args) => Oracle.Run(setpriv,
            ["--reuid=65534", "--regid=65534", "--clear-groups", "env", $"HOME={outputs}", $"PRISM_CATALOG={Path.Combine(outputs, "none.db")}",
                Dotnet, Path.Combine(AppContext.BaseDirectory, "prism.dll"), "scan", .. Fleet(args), "--quiet"],
            check: false, workingDirectory: outputs);

        foreach ((string what, UnixFileMode mode) in new[] { ("read-only", (UnixFileMode)0x124), ("unreadable", UnixFileMode.None) })
        {
            File.SetUnixFileMode(store, mode);
            string before = Sha(store);
            string json = Path.Combine(outputs, $"{what}.json");
            ProcessResult r = AsNobody("--store", store, "--json", json);
            Assert.True(r.ExitCode == 2, $"{what}: exit {r.ExitCode}: {r.StdErr}{r.StdOut}");
            Assert.Contains(store, r.StdErr, StringComparison.Ordinal);
            Assert.False(File.Exists(json));

            r = AsNobody("--store", store, "--json", json, "--store-optional");
            Assert.True(r.ExitCode == 1, $"{what} with --store-optional: exit {r.ExitCode}: {r.StdErr}{r.StdOut}");
            Assert.Contains("warning", r.StdErr, StringComparison.Ordinal);
            Assert.True(File.Exists(json));
            Assert.Equal(before, Sha(store));
            Assert.Empty(Directory.EnumerateFiles(dir.Path, "ro.db.corrupt-*"));
        }
    }

    private static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "/usr/bin/dotnet";

    [Fact]
    public void ScanExitCodes_AreZeroCleanOneFoundTwoError()
    {
        using var dir = new TempDir();
        Assert.Equal(0, Scan(fleet.Parent, fleet.Clean, "--signatures", fleet.Signatures).Exit);
        Assert.Equal(1, Scan(fleet.Parent, fleet.Infected, "--signatures", fleet.Signatures).Exit);

        // A clone that cannot be read, next to an infected one: an error of the run, not "found".
        string broken = dir.File("broken.vhdx");
        File.WriteAllText(broken, "not a disk");
        (int exit, _, string stderr) = Scan(fleet.Parent, fleet.Infected, broken, "--signatures", fleet.Signatures);
        Assert.True(exit == 2, stderr);

        // A bad signature file.
        string badSig = dir.File("bad.hdb");
        File.WriteAllText(badSig, "this is not a signature line\n");
        (exit, _, stderr) = Scan(fleet.Parent, fleet.Clean, "--signatures", badSig);
        Assert.True(exit == 2, stderr);

        // A catalog that is not a database: an error (2), where it used to escape as exit 1.
        string catalog = dir.File("catalog.db");
        File.WriteAllText(catalog, "not a catalog");
        (exit, _, stderr) = Scan("--catalog", catalog, "--signatures", fleet.Signatures);
        Assert.True(exit == 2, $"exit {exit}: {stderr}");
        Assert.Contains(catalog, stderr, StringComparison.Ordinal);
    }
}
