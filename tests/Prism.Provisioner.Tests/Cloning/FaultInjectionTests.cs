using Prism.Disks.Vhdx;
using Prism.Provisioner.Cloning;
using Prism.Provisioner.Tests.Catalog;
using Prism.Testing;

namespace Prism.Provisioner.Tests.Cloning;

/// <summary>A failure at every named step leaves the files and the catalog exactly as they were. Run against every catalog store (<see cref="FaultInjectionTestsSqlite"/>, <see cref="FaultInjectionTestsPostgres"/>).</summary>
public abstract class FaultInjectionTests
{
    /// <summary>Where each test's catalog lives.</summary>
    protected abstract ICatalogBackend Backend { get; }

    private protected ProvisionerFixture NewFixture() => new(Backend);

    private const long MiB = ProvisionerFixture.MiB;

    public static TheoryData<string> CloneNewSteps => new()
    {
        "clone-new:file:0", "clone-new:file:1", "clone-new:file:3", "clone-new:file:6", "clone-new:file:7", "clone-new:durable", "clone-new:before-commit",
    };

    [SkippableTheory]
    [MemberData(nameof(CloneNewSteps))]
    public void CloneNewCount(string step)
    {
        using var f = NewFixture();
        f.MakeGolden();
        f.Manager.NewClones("base", f.Manager.NextNames("web", 2));
        ProvisionerFixture.WriteInto(f.File("web-0001.vhdx"), MiB, ProvisionerFixture.Pattern(4096, 1));
        ProvisionerFixture.State before = f.Snapshot();
        IReadOnlyList<string> names = f.Manager.NextNames("web", 8);
        Assert.Equal("web-0003", names[0]);

        var seen = new List<string>();
        f.Manager.FaultPoint = s =>
        {
            seen.Add(s);
            if (s == step)
            {
                throw new InjectedFault(s);
            }
        };
        var e = Assert.Throws<InjectedFault>(() => f.Manager.NewClones("base", names));
        Assert.Equal(step, e.Step);
        f.AssertSameState(before);

        // The same names can be created afterwards: nothing half-registered is in the way.
        f.Manager.FaultPoint = null;
        f.Manager.NewClones("base", names);
        Assert.Equal(10, f.Catalog.Clones().Count);
        Assert.Empty(f.Manager.Verify(false));
    }

    private static Action<string> ThrowAt(string step) => s =>
    {
        if (s == step)
        {
            throw new InjectedFault(s);
        }
    };

    [SkippableFact]
    public void CloneNewFailingOnAnExistingFileRemovesOnlyWhatItCreated()
    {
        using var f = NewFixture();
        f.MakeGolden();
        File.WriteAllText(f.File("web-0003.vhdx"), "someone else's file");
        ProvisionerFixture.State before = f.Snapshot();
        Assert.ThrowsAny<IOException>(() => f.Manager.NewClones("base", f.Manager.NextNames("web", 5)));
        Assert.Equal("someone else's file", File.ReadAllText(f.File("web-0003.vhdx")));
        Assert.Equal(before.Files, f.Snapshot().Files);
        Assert.Empty(f.Catalog.Clones());
    }

    [SkippableFact]
    public void CloneNewCancelledHalfwayRemovesWhatItCreated()
    {
        using var f = NewFixture();
        f.MakeGolden();
        f.Manager.NewClones("base", ["keep"]);
        ProvisionerFixture.State before = f.Snapshot();
        using var cts = new CancellationTokenSource();
        var progress = new CancelAt(4, cts);
        Assert.ThrowsAny<OperationCanceledException>(() => f.Manager.NewClones("base", f.Manager.NextNames("n", 10), progress: progress, cancellationToken: cts.Token));
        f.AssertSameState(before);
    }

    private sealed class CancelAt(int at, CancellationTokenSource cts) : IProgress<int>
    {
        public void Report(int value)
        {
            if (value == at)
            {
                cts.Cancel();
            }
        }
    }

    [SkippableFact]
    public void GoldenAddSealedStep()
    {
        using var f = NewFixture();
        string path = f.MakeDisk("g");
        ProvisionerFixture.State before = f.Snapshot();
        f.Manager.FaultPoint = ThrowAt("golden-add:sealed");
        Assert.Equal("golden-add:sealed", Assert.Throws<InjectedFault>(() => f.Manager.AddGolden(path)).Step);
        Assert.False(VhdxDisk.IsSealed(path));
        f.AssertSameState(before);
    }

    [SkippableFact]
    public void ResetCreatedStep()
    {
        using var f = NewFixture();
        f.MakeGolden();
        f.Manager.NewClones("base", ["c1", "c2"]);
        ProvisionerFixture.WriteInto(f.File("c1.vhdx"), 3 * MiB, ProvisionerFixture.Pattern(65536, 2));
        string content = ProvisionerFixture.ContentHash(f.File("c1.vhdx"));
        ProvisionerFixture.State before = f.Snapshot();
        f.Manager.FaultPoint = ThrowAt("reset:created");
        Assert.Equal("reset:created", Assert.Throws<InjectedFault>(() => f.Manager.ResetClone("c1")).Step);
        f.AssertSameState(before);
        Assert.Equal(content, ProvisionerFixture.ContentHash(f.File("c1.vhdx")));
    }

    [SkippableFact]
    public void RemoveMovedStep()
    {
        using var f = NewFixture();
        f.MakeGolden();
        f.Manager.NewClones("base", ["c1", "c2"]);
        ProvisionerFixture.WriteInto(f.File("c2.vhdx"), 0, ProvisionerFixture.Pattern(4096, 2));
        ProvisionerFixture.State before = f.Snapshot();
        f.Manager.FaultPoint = ThrowAt("remove:moved");
        Assert.Equal("remove:moved", Assert.Throws<InjectedFault>(() => f.Manager.RemoveClone("c2")).Step);
        f.AssertSameState(before);
    }

    [SkippableTheory]
    [InlineData("merge:written")]
    [InlineData("merge:swapped")]
    public void MergeSteps(string step)
    {
        using var f = NewFixture();
        f.MakeGolden();
        f.Manager.NewClones("base", ["mid", "side"]);
        ProvisionerFixture.WriteInto(f.File("mid.vhdx"), 2 * MiB, ProvisionerFixture.Pattern(512 * 1024, 3));
        f.Manager.NewClones("mid", ["leaf"]);
        ProvisionerFixture.WriteInto(f.File("leaf.vhdx"), 2 * MiB + 4096, ProvisionerFixture.Pattern(8192, 4));
        ProvisionerFixture.WriteInto(f.File("leaf.vhdx"), 30 * MiB, ProvisionerFixture.Pattern(1024 * 1024, 5));
        string midContent = ProvisionerFixture.ContentHash(f.File("mid.vhdx"));
        string leafContent = ProvisionerFixture.ContentHash(f.File("leaf.vhdx"));
        ProvisionerFixture.State before = f.Snapshot();

        f.Manager.FaultPoint = s =>
        {
            if (s == step)
            {
                throw new InjectedFault(s);
            }
        };
        Assert.Equal(step, Assert.Throws<InjectedFault>(() => f.Manager.MergeClone("leaf")).Step);
        f.AssertSameState(before);
        Assert.Equal(midContent, ProvisionerFixture.ContentHash(f.File("mid.vhdx")));
        Assert.Equal(leafContent, ProvisionerFixture.ContentHash(f.File("leaf.vhdx")));

        f.Manager.FaultPoint = null;
        f.Manager.MergeClone("leaf");
        Assert.Equal(leafContent, ProvisionerFixture.ContentHash(f.File("mid.vhdx")));
        Assert.Empty(f.Manager.Verify(false));
    }

    [SkippableTheory]
    [InlineData("promote:written")]
    [InlineData("golden-add:sealed")]
    public void PromoteSteps(string step)
    {
        using var f = NewFixture();
        f.MakeGolden();
        f.Manager.NewClones("base", ["dev"]);
        ProvisionerFixture.WriteInto(f.File("dev.vhdx"), 9 * MiB, ProvisionerFixture.Pattern(1024 * 1024, 6));
        ProvisionerFixture.State before = f.Snapshot();
        f.Manager.FaultPoint = s =>
        {
            if (s == step)
            {
                throw new InjectedFault(s);
            }
        };
        Assert.Equal(step, Assert.Throws<InjectedFault>(() => f.Manager.PromoteClone("dev", "base2")).Step);
        f.AssertSameState(before);
        Assert.False(File.Exists(f.File("base2.vhdx")));

        f.Manager.FaultPoint = null;
        f.Manager.PromoteClone("dev", "base2");
        Assert.Equal(["base", "base2"], f.Catalog.Goldens().Select(g => g.Name));
    }
}

/// <summary>The FaultInjection suite on a SQLite catalog file.</summary>
public sealed class FaultInjectionTestsSqlite : FaultInjectionTests
{
    /// <inheritdoc />
    protected override ICatalogBackend Backend { get; } = new SqliteBackend();
}

/// <summary>The FaultInjection suite on a PostgreSQL catalog (one cluster for the collection, one database per test).</summary>
[Collection(PostgresCollection.Name)]
public sealed class FaultInjectionTestsPostgres(PostgresCluster cluster) : FaultInjectionTests
{
    /// <inheritdoc />
    protected override ICatalogBackend Backend { get; } = new PostgresBackend(cluster);
}
