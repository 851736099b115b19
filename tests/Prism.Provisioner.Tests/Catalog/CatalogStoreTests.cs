using Microsoft.Data.Sqlite;
using Npgsql;
using Prism.Provisioner.Catalog;
using Prism.Provisioner.Cloning;
using Prism.Provisioner.Tests.Cloning;
using Prism.Testing;

namespace Prism.Provisioner.Tests.Catalog;

/// <summary>
/// What every catalog store must do the same way: schema versions (applied on open, a newer one refused), hosts and the
/// clone's host, a typed conflict for a taken name, and concurrent numbered clone creation that never shares a name.
/// Run against every store (<see cref="CatalogStoreTestsSqlite"/>, <see cref="CatalogStoreTestsPostgres"/>).
/// </summary>
public abstract class CatalogStoreTests
{
    /// <summary>Where each test's catalog lives.</summary>
    protected abstract ICatalogBackend Backend { get; }

    /// <summary>Runs one SQL statement on the catalog behind the store's back (to fake a newer program).</summary>
    protected abstract void RawExecute(string location, string sql);

    private protected ProvisionerFixture NewFixture() => new(Backend);

    [SkippableFact]
    public void SchemaIsVersionedAndANewerCatalogIsRefusedUntouched()
    {
        using var f = NewFixture();
        f.MakeGolden();
        f.Manager.NewClones("base", ["c1"]);
        Assert.Equal(2, PrismCatalog.SchemaVersion);

        // Opening again (already current) changes nothing.
        using (PrismCatalog again = PrismCatalog.Open(f.CatalogLocation))
        {
            Assert.Equal(["c1"], again.Clones().Select(c => c.Name));
        }

        RawExecute(f.CatalogLocation, "UPDATE prism_schema SET version = 99;");
        var e = Assert.ThrowsAny<ProvisionerException>(() => PrismCatalog.Open(f.CatalogLocation));
        Assert.Equal("PrismCatalogTooNew", e.ErrorId);
        Assert.Contains("schema version 99", e.Message, StringComparison.Ordinal);
        Assert.Contains("up to 2", e.Message, StringComparison.Ordinal);

        // Refused, not rewritten: the version is still the newer program's.
        Assert.Equal("PrismCatalogTooNew", Assert.ThrowsAny<ProvisionerException>(() => PrismCatalog.Open(f.CatalogLocation)).ErrorId);
        RawExecute(f.CatalogLocation, "UPDATE prism_schema SET version = 2;");
        using PrismCatalog back = PrismCatalog.Open(f.CatalogLocation);
        Assert.Equal(["c1"], back.Clones().Select(c => c.Name));
    }

    [SkippableFact]
    public void EveryCloneKnowsItsHostAndTheHostItsStorageRoots()
    {
        using var f = NewFixture();
        f.MakeGolden();
        string vol = Path.Combine(f.Dir.Path, "vol2");
        Directory.CreateDirectory(vol);
        f.Manager.NewClones("base", ["a"]);
        f.Manager.NewClones("base", ["b"], directory: vol);

        Assert.All(f.Catalog.Clones(), c => Assert.Equal(CatalogHost.Current, c.Host));
        HostRecord host = Assert.Single(f.Catalog.Hosts());
        Assert.Equal(CatalogHost.Current, host.Name);
        Assert.Equal([f.Dir.Path, vol], host.Roots);
        Assert.True(host.Seen >= host.Registered);
    }

    [SkippableFact]
    public void VerifyJudgesOnlyTheClonesThisHostMadeOrCanSee()
    {
        using var f = NewFixture();
        f.MakeGolden();
        f.Manager.NewClones("base", ["mine"]);
        CloneRecord mine = f.Catalog.Clones()[0];
        string elsewhere = Path.Combine(f.Dir.Path, "not-mounted-here");
        f.Catalog.Store.Write(w =>
        {
            // Another host's clone on its local disk, and one on storage both see.
            w.AddClones([mine with { Name = "theirs", Path = Path.Combine(elsewhere, "theirs.vhdx"), Host = "host-b" }]);
            return 0;
        });
        Assert.Empty(f.Manager.Verify(false));

        // The same row made by this host is a missing file.
        f.Manager.RemoveClone("theirs", forget: true);
        f.Catalog.Store.Write(w =>
        {
            w.AddClones([mine with { Name = "lost", Path = Path.Combine(elsewhere, "lost.vhdx") }]);
            return 0;
        });
        Assert.Equal("missing-file", Assert.Single(f.Manager.Verify(false)).Kind);
    }

    [SkippableFact]
    public void RepairLeavesAnotherHostsInterruptedOperationToItUnlessItsFilesAreOnStorageThisHostShares()
    {
        using var f = NewFixture();
        GoldenImage golden = f.MakeGolden();

        // host-far died in two clone new operations: one made its file on its own disk (a path that exists here too, as
        // the same local path on two hosts does), one under a storage root this host registered (shared storage).
        using var far = new TempDir();
        string farFile = far.File("vm-1.vhdx");
        string sharedFile = f.File("vm-2.vhdx");
        foreach (string file in new[] { farFile, sharedFile })
        {
            Prism.Disks.Vhdx.VhdxDisk.CreateDifferencing(file, golden.Path);
            var plan = new OperationPlan
            {
                Kind = "clone-new",
                Shared = [golden.Name],
                Exclusive = [Path.GetFileNameWithoutExtension(file)],
                Name = golden.Name,
                ParentPath = golden.Path,
                NewFiles = [file],
            };
            f.Catalog.Store.Write(w =>
            {
                w.AddOperation(new JournalEntry(Guid.NewGuid().ToString("N"), plan, false, 4242, "host-far", CatalogHost.Truncate(DateTime.UtcNow)));
                return 0;
            });
        }

        // Repair here rolls back the one on shared storage and leaves the other, with its file, to host-far.
        List<CatalogProblem> problems = [.. f.Manager.Verify(true).Where(p => p.Kind == "interrupted-operation")];
        Assert.Equal(2, problems.Count);
        Assert.Single(problems, p => p.Repaired);
        CatalogProblem left = Assert.Single(problems, p => !p.Repaired);
        Assert.Contains("run 'prism catalog verify --repair' on host-far", left.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(sharedFile));
        Assert.True(File.Exists(farFile));
        Assert.Equal([farFile], Assert.Single(f.Catalog.Store.Operations()).Plan.NewFiles!);
    }

    [SkippableFact]
    public void ATakenNameIsATypedConflictAndNothingOfTheBatchIsKept()
    {
        using var f = NewFixture();
        f.MakeGolden();
        f.Manager.NewClones("base", ["a"]);
        CloneRecord a = f.Catalog.Clones()[0];

        // Below the journal's own check: the store itself refuses, all or none.
        var e = Assert.Throws<CatalogConflictException>(() => f.Catalog.Store.Write(w =>
        {
            w.AddClones([a with { Name = "z", Path = f.File("z.vhdx") }, a]);
            return 0;
        }));
        Assert.Equal("PrismCloneExists", e.ErrorId);
        Assert.Equal(["a"], f.Catalog.Clones().Select(c => c.Name));

        var g = Assert.Throws<CatalogConflictException>(() => f.Catalog.Store.Write(w =>
        {
            w.AddGolden(f.Catalog.Goldens()[0]);
            return 0;
        }));
        Assert.Equal("PrismGoldenExists", g.ErrorId);
    }

    [SkippableFact]
    public void ThreeCatalogHandlesNumberingClonesAtOnceNeverShareAName()
    {
        using var f = NewFixture();
        f.MakeGolden("base", 8 * ProvisionerFixture.MiB);
        const int PerWriter = 25;
        var writers = Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
        {
            using PrismCatalog own = PrismCatalog.Open(f.CatalogLocation);
            return new Prism.Provisioner.Cloning.CloneManager(own).NewNumberedClones("base", "vm", PerWriter).Count;
        })).ToArray();
        Task.WaitAll(writers, TimeSpan.FromMinutes(3));
        Assert.All(writers, w => Assert.Equal(PerWriter, w.Result));

        IReadOnlyList<CloneRecord> clones = f.Catalog.Clones();
        Assert.Equal(3 * PerWriter, clones.Count);
        Assert.Equal(Enumerable.Range(1, 3 * PerWriter).Select(i => $"vm-{i:0000}"), clones.Select(c => c.Name));
        Assert.All(clones, c => Assert.True(File.Exists(c.Path)));
        Assert.Empty(f.Manager.Verify(false));
    }
}

/// <summary>The store suite on a SQLite catalog file, plus the migration of a catalog made before versioning.</summary>
public sealed class CatalogStoreTestsSqlite : CatalogStoreTests
{
    /// <inheritdoc />
    protected override ICatalogBackend Backend { get; } = new SqliteBackend();

    /// <inheritdoc />
    protected override void RawExecute(string location, string sql)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = location, Pooling = false }.ToString());
        c.Open();
        using SqliteCommand cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    [Fact]
    public void ACatalogMadeBeforeVersioningIsMigratedAndItsClonesGetThisHost()
    {
        using var dir = new TempDir();
        string db = dir.File("old.db");
        // The schema as the first Prism wrote it (no version table, no hosts).
        RawExecute(db, """
            CREATE TABLE goldens (name TEXT PRIMARY KEY, path TEXT NOT NULL UNIQUE, disk_id TEXT NOT NULL, data_write_guid TEXT NOT NULL,
                virtual_size INTEGER NOT NULL, sealed_at TEXT NOT NULL);
            CREATE TABLE clones (name TEXT PRIMARY KEY, path TEXT NOT NULL UNIQUE, golden TEXT NOT NULL REFERENCES goldens(name),
                parent_path TEXT NOT NULL, owner TEXT, created TEXT NOT NULL);
            CREATE TABLE scan_runs (id INTEGER PRIMARY KEY AUTOINCREMENT, started TEXT NOT NULL, finished TEXT NOT NULL, report_path TEXT,
                clones INTEGER NOT NULL, findings INTEGER NOT NULL);
            CREATE TABLE operations (id TEXT PRIMARY KEY, kind TEXT NOT NULL, plan TEXT NOT NULL, phase TEXT NOT NULL,
                pid INTEGER NOT NULL, host TEXT NOT NULL, started TEXT NOT NULL);
            INSERT INTO goldens VALUES ('base', '/srv/base.vhdx', '6f1c0d5e-6a4e-4e44-9a55-0c5d2e7d9a01', '0b7d4c3a-1111-4e44-9a55-0c5d2e7d9a01',
                1048576, '2026-01-02T03:04:05.0000000Z');
            INSERT INTO clones VALUES ('old-1', '/srv/old-1.vhdx', 'base', '/srv/base.vhdx', 'alice', '2026-01-02T03:04:06.0000000Z');
            """);
        using PrismCatalog catalog = PrismCatalog.Open(db);
        CloneRecord c = Assert.Single(catalog.Clones());
        Assert.Equal(("old-1", "alice", CatalogHost.Current), (c.Name, c.Owner, c.Host));
        Assert.Equal(new DateTime(2026, 1, 2, 3, 4, 6, DateTimeKind.Utc), c.Created);
        Assert.Empty(catalog.Hosts());
        using var check = new SqliteConnection($"Data Source={db};Pooling=False");
        check.Open();
        using SqliteCommand cmd = check.CreateCommand();
        cmd.CommandText = "SELECT version FROM prism_schema;";
        Assert.Equal(2L, cmd.ExecuteScalar());
    }
}

/// <summary>The store suite on a PostgreSQL catalog.</summary>
[Collection(PostgresCollection.Name)]
public sealed class CatalogStoreTestsPostgres(PostgresCluster cluster) : CatalogStoreTests
{
    /// <inheritdoc />
    protected override ICatalogBackend Backend { get; } = new PostgresBackend(cluster);

    /// <inheritdoc />
    protected override void RawExecute(string location, string sql)
    {
        using var c = new NpgsqlConnection(location);
        c.Open();
        using var cmd = new NpgsqlCommand(sql, c);
        cmd.ExecuteNonQuery();
    }
}
