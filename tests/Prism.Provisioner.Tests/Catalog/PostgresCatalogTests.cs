using Prism.Provisioner.Catalog;
using Prism.Provisioner.Cloning;
using Prism.Provisioner.Tests.Cloning;
using Prism.Testing;

namespace Prism.Provisioner.Tests.Catalog;

/// <summary>
/// What only a catalog on a server can meet: how it is named (URI or connection string) and never shows its password,
/// and a server that goes away in the middle of an operation.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresCatalogTests(PostgresCluster cluster)
{
    [Theory]
    [InlineData("postgres://u:p@db.example:5433/prism", true)]
    [InlineData("postgresql://u@db.example/prism?sslmode=require", true)]
    [InlineData("Host=db.example;Username=u;Password=p;Database=prism", true)]
    [InlineData("server = db.example; database = prism", true)]
    [InlineData("/var/lib/prism/catalog.db", false)]
    [InlineData("catalog.db", false)]
    [InlineData("C:\\Prism\\catalog.db", false)]
    [InlineData("", false)]
    public void AFileIsSqliteAndAUriOrConnectionStringIsPostgres(string location, bool postgres) =>
        Assert.Equal(postgres, PostgresConnection.IsPostgres(location));

    [Fact]
    public void TheUriIsReadLikeLibpqDoesAndShownWithoutItsPassword()
    {
        var b = PostgresConnection.Parse("postgresql://al%40ice:s3cr%3At@db.example:5433/fleet?sslmode=require&application_name=prism");
        Assert.Equal(("al@ice", "s3cr:t", "db.example", 5433, "fleet"), (b.Username, b.Password, b.Host, b.Port, b.Database));
        Assert.Equal(Npgsql.SslMode.Require, b.SslMode);
        Assert.Equal("postgresql://al%40ice@db.example:5433/fleet", PostgresConnection.Display(b));
        Assert.Equal("postgresql://u@h:5432/d", PostgresConnection.Redact("Host=h;Username=u;Password=hunter2;Database=d"));
        Assert.Equal("/x/catalog.db", PostgresConnection.Redact("/x/catalog.db"));
    }

    [Fact]
    public void AMalformedConnectionStringNamesTheKeyNeverThePassword()
    {
        const string secret = "Tr0ub4dor-and-3";
        var e = Assert.ThrowsAny<ArgumentException>(() => PrismCatalog.Open($"Host=h;Password={secret};Port=notanumber"));
        Assert.Contains("'Port'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, e.ToString(), StringComparison.Ordinal);
        var k = Assert.ThrowsAny<ArgumentException>(() => PrismCatalog.Open($"Host=h;Password={secret};Bogus Key=1"));
        Assert.DoesNotContain(secret, k.ToString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void ThePasswordAppearsInNoPathListingOrError()
    {
        cluster.Require();
        string db = cluster.NewDatabase();
        using var dir = new TempDir();
        var seen = new List<string>();

        // The right password, by URI: works, and the catalog calls itself by server and database only.
        using (PrismCatalog catalog = PrismCatalog.Open(cluster.Uri(db)))
        {
            Assert.True(catalog.IsShared);
            Assert.Equal($"postgresql://{PostgresCluster.User}@127.0.0.1:{cluster.Port}/{db}", catalog.Path);
            var m = new CloneManager(catalog);
            string disk = dir.File("base.vhdx");
            Prism.Disks.Vhdx.VhdxDisk.Create(disk, new Prism.Disks.Vhdx.VhdxCreateOptions { VirtualSize = 8 * ProvisionerFixture.MiB });
            m.AddGolden(disk);
            m.NewClones("base", ["c1"]);
            seen.Add(catalog.Path);
            seen.AddRange(catalog.Clones().Select(c => c.ToString()));
            seen.AddRange(catalog.Hosts().Select(h => h.ToString()));
            seen.Add(Assert.ThrowsAny<ProvisionerException>(() => m.GetGolden("nope")).ToString());
            seen.Add(Assert.ThrowsAny<ProvisionerException>(() => m.NewClones("base", ["c1"])).ToString());
        }

        // A wrong password: refused, naming the server, not either password.
        string wrong = "wrong-" + cluster.Password[3..];
        var auth = Assert.ThrowsAny<ProvisionerException>(() => PrismCatalog.Open(
            cluster.ConnectionString(db).Replace(cluster.Password, wrong, StringComparison.Ordinal)));
        Assert.Equal("PrismCatalogUnavailable", auth.ErrorId);
        Assert.Contains("password authentication failed", auth.Message, StringComparison.Ordinal);
        seen.Add(auth.ToString());

        // A server that is not there.
        string nowhere = cluster.ConnectionString(db).Replace($"Port={cluster.Port}", "Port=1", StringComparison.Ordinal);
        var down = Assert.ThrowsAny<ProvisionerException>(() => PrismCatalog.Open(nowhere));
        Assert.Equal("PrismCatalogUnavailable", down.ErrorId);
        Assert.Contains("127.0.0.1:1/", down.Message, StringComparison.Ordinal);
        seen.Add(down.ToString());

        // The write guard's error over an unreachable catalog.
        seen.Add(Assert.ThrowsAny<IOException>(() => ProtectedDisks.Guard(nowhere, includeClones: true)).ToString());

        Assert.All(seen, s =>
        {
            Assert.DoesNotContain(cluster.Password, s, StringComparison.Ordinal);
            Assert.DoesNotContain(wrong, s, StringComparison.Ordinal);
        });
    }

    [SkippableFact]
    public void ServerStoppedMidOperationFailsCleanlyRegistersNothingAndTheNextRunSucceeds()
    {
        cluster.Require();
        using var f = new ProvisionerFixture(new PostgresBackend(cluster));
        f.MakeGolden("base", 8 * ProvisionerFixture.MiB);
        f.Manager.NewNumberedClones("base", "vm", 2);

        // The server goes away after the files are made, before the catalog commits them.
        f.Manager.FaultPoint = step =>
        {
            if (step == "clone-new:durable")
            {
                cluster.Stop();
            }
        };
        ProvisionerException e;
        try
        {
            e = Assert.ThrowsAny<ProvisionerException>(() => f.Manager.NewNumberedClones("base", "vm", 3));
        }
        finally
        {
            f.Manager.FaultPoint = null;
            cluster.Start();
        }

        Assert.Equal("PrismCatalogUnavailable", e.ErrorId);
        Assert.Contains(f.Catalog.Path, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(cluster.Password, e.ToString(), StringComparison.Ordinal);

        // The next run is a new process (a new catalog handle): nothing half-registered, and it succeeds.
        using PrismCatalog next = PrismCatalog.Open(f.CatalogLocation);
        var m = new CloneManager(next);
        Assert.Equal(["vm-0001", "vm-0002"], next.Clones().Select(c => c.Name));
        IReadOnlyList<CloneRecord> made = m.NewNumberedClones("base", "vm", 3);
        Assert.Equal(["vm-0006", "vm-0007", "vm-0008"], made.Select(c => c.Name));

        // The interrupted operation is in the journal (its files exist, unregistered); repair rolls it back.
        CatalogProblem p = Assert.Single(m.Verify(false));
        Assert.Equal("interrupted-operation", p.Kind);
        Assert.True(File.Exists(f.File("vm-0003.vhdx")));
        Assert.All(m.Verify(true), q => Assert.True(q.Repaired));
        Assert.False(File.Exists(f.File("vm-0003.vhdx")));
        Assert.Empty(m.Verify(false));
        Assert.Equal(5, next.Clones().Count);
    }
}
