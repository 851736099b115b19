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

        // Nothing half-registered: the files it made exist, unregistered, and the journal holds the interrupted operation.
        using PrismCatalog next = PrismCatalog.Open(f.CatalogLocation);
        var m = new CloneManager(next);
        Assert.Equal(["vm-0001", "vm-0002"], next.Clones().Select(c => c.Name));
        Assert.True(File.Exists(f.File("vm-0003.vhdx")));
        Assert.Equal("interrupted-operation", Assert.Single(m.Verify(false)).Kind);

        // The next run (a new catalog handle, as a new process) first rolls the dead operation back (its session, and so
        // its lease, ended with the server), then takes the same numbers again and succeeds.
        IReadOnlyList<CloneRecord> made = m.NewNumberedClones("base", "vm", 3);
        Assert.Equal(["vm-0003", "vm-0004", "vm-0005"], made.Select(c => c.Name));
        Assert.Empty(m.Verify(false));
        Assert.Equal(5, next.Clones().Count);
        Assert.Equal(next.Clones().Select(c => c.Path).Append(f.File("base.vhdx")).Order(StringComparer.Ordinal),
            Directory.EnumerateFiles(f.Dir.Path, "*.vhdx").Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("08006", true)] // connection failure
    [InlineData("08001", true)]
    [InlineData("57P01", true)] // admin shutdown (pg_ctl stop, pg_terminate_backend)
    [InlineData("57P03", true)] // the server is starting
    [InlineData("53300", true)] // too many connections
    [InlineData("40001", true)] // serialization failure
    [InlineData("40P01", true)] // deadlock
    [InlineData("23505", false)] // unique violation: the work itself is refused
    [InlineData("42P01", false)] // undefined table
    [InlineData("28P01", false)] // wrong password
    public void ATransientErrorIsOneOfTheServerOrTheConnectionNeverOfTheWork(string sqlState, bool transient) =>
        Assert.Equal(transient, PostgresRetry.IsTransient(new Npgsql.PostgresException("m", "ERROR", "ERROR", sqlState)));

    [Fact]
    public void AConnectionThatBreaksOrTimesOutIsTransientAndOtherErrorsAreNot()
    {
        Assert.True(PostgresRetry.IsTransient(new Npgsql.NpgsqlException("Exception while reading from stream", new IOException("reset by peer"))));
        Assert.True(PostgresRetry.IsTransient(new Npgsql.NpgsqlException("timeout", new TimeoutException())));
        Assert.False(PostgresRetry.IsTransient(new Npgsql.NpgsqlException("no inner cause")));
        Assert.False(PostgresRetry.IsTransient(new InvalidOperationException("Npgsql: connection is broken")));
        Assert.False(PostgresRetry.IsTransient(new IOException("disk")));
    }

    /// <summary>
    /// Ends the session that holds the catalog's write lock in <paramref name="db"/> (as a fail-over or
    /// pg_terminate_backend would), waiting until it is gone.
    /// </summary>
    private void EndTheWritersSession(string db)
    {
        using var c = new Npgsql.NpgsqlConnection(cluster.ConnectionString(db) + ";Pooling=false");
        c.Open();
        using var cmd = new Npgsql.NpgsqlCommand(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(l.pid, 30000)) FROM pg_locks l "
            + "WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid() "
            + "AND l.classid = 1886546291 AND l.objid = 1835229556 AND l.objsubid = 1 " // the key 0x7072_6973_6D63_6174 ("prismcat")
            + "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database());", c);
        Assert.Equal(1L, cmd.ExecuteScalar());
    }

    private static string DatabaseOf(string connectionString) => new Npgsql.NpgsqlConnectionStringBuilder(connectionString).Database!;

    [SkippableFact]
    public void AWriteIsNeverRetriedAfterATransientErrorAndAnIdempotentOneIs()
    {
        cluster.Require();
        string db = cluster.NewDatabase();
        using PrismCatalog catalog = PrismCatalog.Open(cluster.ConnectionString(db));
        int calls = 0;
        int Work(ICatalogWriter w)
        {
            // The first run loses its session in the middle of the transaction (57P01 or a broken connection: transient).
            if (++calls == 1)
            {
                EndTheWritersSession(db);
            }

            w.RegisterHost("host-r", ["/r"]);
            return w.CountClonesOf("base");
        }

        // A write in general (a journal row, a commit, an insert): it may have committed for all the client knows, so it
        // fails at once, cleanly, naming the catalog without its password.
        var e = Assert.ThrowsAny<ProvisionerException>(() => catalog.Store.Write(Work));
        Assert.Equal("PrismCatalogUnavailable", e.ErrorId);
        Assert.Equal(1, calls);
        Assert.DoesNotContain(cluster.Password, e.ToString(), StringComparison.Ordinal);
        Assert.Empty(catalog.Hosts());

        // An idempotent one (an upsert: host registration) runs again on a new connection and succeeds.
        calls = 0;
        Assert.Equal(0, catalog.Store.WriteIdempotent(Work));
        Assert.Equal(2, calls);
        Assert.Equal(["/r"], Assert.Single(catalog.Hosts()).Roots);
    }

    [SkippableFact]
    public void AReadIsRetriedAcrossAServerRestartAndACloneNewCommitIsNot()
    {
        cluster.Require();
        using var f = new ProvisionerFixture(new PostgresBackend(cluster));
        f.MakeGolden("base", 8 * ProvisionerFixture.MiB);
        f.Manager.NewClones("base", ["c1"]);

        // The server restarts, so every pooled connection is dead: a read meets one, is retried on a new one and succeeds.
        cluster.Stop();
        cluster.Start();
        Assert.Equal(["c1"], f.Catalog.Clones().Select(c => c.Name));

        // A clone new whose commit meets a dead session is not retried: it fails and registers nothing; the next clone
        // new rolls it back (its files) and succeeds.
        int commits = 0;
        f.Manager.FaultPoint = step =>
        {
            if (step == "clone-new:before-commit")
            {
                commits++;
                EndTheWritersSession(DatabaseOf(f.CatalogLocation));
            }
        };
        var e = Assert.ThrowsAny<ProvisionerException>(() => f.Manager.NewClones("base", ["c2"]));
        f.Manager.FaultPoint = null;
        Assert.Equal("PrismCatalogUnavailable", e.ErrorId);
        Assert.Equal(1, commits);
        Assert.Equal(["c1"], f.Catalog.Clones().Select(c => c.Name));
        f.Manager.NewClones("base", ["c2"]);
        Assert.Equal(["c1", "c2"], f.Catalog.Clones().Select(c => c.Name));
        Assert.Empty(f.Manager.Verify(false));
    }
}
