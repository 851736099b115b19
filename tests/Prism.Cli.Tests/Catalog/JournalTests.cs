using Prism.Disks.Vhdx;
using Prism.Provisioner;
using Prism.Provisioner.Catalog;
using Prism.Provisioner.Cloning;
using Prism.Provisioner.Tests.Cloning;
using Prism.Testing;

namespace Prism.Cli.Tests.Catalog;

/// <summary>
/// Issue #10: every journaled operation stopped at every step boundary — by an injected failure in process, or by
/// SIGKILL of a real <c>prism</c> process — then repaired, leaves the clones and the catalog exactly as before or as after.
/// </summary>
public sealed class JournalTests
{
    private const long MiB = ProvisionerFixture.MiB;

    /// <summary>One operation: how to set its stage up, and how to run it in process and through the CLI.</summary>
    internal sealed record Scenario(string Name, Action<ProvisionerFixture> Setup, Action<CloneManager, ProvisionerFixture> Act, Func<ProvisionerFixture, string[]> Cli)
    {
        public override string ToString() => Name;
    }

    private static void Base(ProvisionerFixture f) => f.MakeGolden("base", 16 * MiB);

    private static void BaseWithClones(ProvisionerFixture f)
    {
        Base(f);
        f.Manager.NewClones("base", ["c1", "c2"], owner: "ops");
        ProvisionerFixture.WriteInto(f.File("c1.vhdx"), 3 * MiB, ProvisionerFixture.Pattern(65536, 2));
    }

    private static void MidAndLeaf(ProvisionerFixture f)
    {
        Base(f);
        f.Manager.NewClones("base", ["mid", "side"]);
        ProvisionerFixture.WriteInto(f.File("mid.vhdx"), 2 * MiB, ProvisionerFixture.Pattern(512 * 1024, 3));
        f.Manager.NewClones("mid", ["leaf"]);
        ProvisionerFixture.WriteInto(f.File("leaf.vhdx"), 2 * MiB + 4096, ProvisionerFixture.Pattern(8192, 4));
        ProvisionerFixture.WriteInto(f.File("leaf.vhdx"), 10 * MiB, ProvisionerFixture.Pattern(1024 * 1024, 5));
    }

    public static TheoryData<string> Scenarios => new(s_scenarios.Select(s => s.Name));

    private static Scenario Named(string name) => s_scenarios.Single(s => s.Name == name);

    private static readonly Scenario[] s_scenarios =
    [
        new Scenario("clone-new", BaseWithClones,
            (m, f) => m.NewClones("base", ["web-0001", "web-0002", "web-0003"]),
            f => ["clone", "new", "base", "--count", "3", "--prefix", "web"]),
        new Scenario("reset", BaseWithClones, (m, f) => m.ResetClone("c1"), f => ["clone", "reset", "c1"]),
        new Scenario("remove", BaseWithClones, (m, f) => m.RemoveClone("c1"), f => ["clone", "remove", "c1"]),
        new Scenario("merge", MidAndLeaf, (m, f) => m.MergeClone("leaf"), f => ["clone", "merge", "leaf"]),
        new Scenario("promote", BaseWithClones, (m, f) => m.PromoteClone("c1", "base2"), f => ["clone", "promote", "c1", "--name", "base2"]),
        new Scenario("golden-add", f =>
        {
            Base(f);
            f.MakeDisk("g2", 8 * MiB, seed: 7);
        }, (m, f) => m.AddGolden(f.File("g2.vhdx"), "g2"), f => ["golden", "add", f.File("g2.vhdx"), "--name", "g2"]),
        new Scenario("golden-remove", f =>
        {
            Base(f);
            f.MakeGolden("g2", 8 * MiB);
        }, (m, f) => m.RemoveGolden("g2", force: false), f => ["golden", "remove", "g2"]),
    ];

    /// <summary>The step boundaries a normal run of the scenario passes, in order.</summary>
    private static (List<string> Steps, string After) NormalRun(Scenario s)
    {
        using var f = new ProvisionerFixture();
        s.Setup(f);
        var steps = new List<string>();
        f.Manager.FaultPoint = steps.Add;
        s.Act(f.Manager, f);
        f.Manager.FaultPoint = null;
        Assert.Empty(f.Manager.Verify(false));
        return (steps, Logical(f));
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void InjectedFailureAtEveryStep_LeavesBeforeOrAfter(string scenario)
    {
        Scenario s = Named(scenario);
        (List<string> steps, string after) = NormalRun(s);
        Assert.Contains(s.Name + ":journaled", steps);
        foreach (string step in steps)
        {
            using var f = new ProvisionerFixture();
            s.Setup(f);
            string before = Logical(f);
            f.Manager.FaultPoint = at =>
            {
                if (at == step)
                {
                    throw new InjectedFault(at);
                }
            };
            Assert.Equal(step, Assert.Throws<InjectedFault>(() => s.Act(f.Manager, f)).Step);
            f.Manager.FaultPoint = null;
            AssertBeforeOrAfter(f, before, after, step);
            Assert.Empty(f.Manager.Verify(false));
        }
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void KilledAtEveryStep_RepairLeavesBeforeOrAfter(string scenario)
    {
        Scenario s = Named(scenario);
        (List<string> steps, string after) = NormalRun(s);
        foreach (string step in steps)
        {
            using var f = new ProvisionerFixture();
            s.Setup(f);
            string before = Logical(f);
            ProcessResult r = Oracle.Run(CliRunner.Dotnet, [CliRunner.PrismDll, .. s.Cli(f), "--catalog", f.Catalog.Path], check: false,
                environment: new Dictionary<string, string> { ["PRISM_TEST_KILL_AT"] = step });
            Assert.True(r.ExitCode == 137, $"{step}: prism exited {r.ExitCode}, not killed: {r.StdErr}{r.StdOut}");

            // Killed with its lease held and its plan in the journal: repair sees a dead operation and recovers it.
            IReadOnlyList<CatalogProblem> repaired = f.Manager.Verify(true);
            Assert.All(repaired, p => Assert.True(p.Repaired, $"{step}: {p.Kind} {p.Message}"));
            Assert.Empty(new OperationJournal(f.Catalog).Entries());
            AssertBeforeOrAfter(f, before, after, step);
            Assert.Empty(f.Manager.Verify(false));
            Assert.Empty(Directory.EnumerateFiles(f.Catalog.Path + ".ops"));
        }
    }

    [Fact]
    public void MergeKilledBetweenRenameAndSwap_RepairRestoresTheClone()
    {
        // Issue #10 item 2: repair used to delete the row and both temporary files, and the clone's writes with them.
        using var f = new ProvisionerFixture();
        MidAndLeaf(f);
        string leaf = ProvisionerFixture.ContentHash(f.File("leaf.vhdx"));
        string mid = ProvisionerFixture.ContentHash(f.File("mid.vhdx"));
        foreach (string step in new[] { "merge:renamed", "merge:backed-up" })
        {
            ProcessResult r = Oracle.Run(CliRunner.Dotnet, [CliRunner.PrismDll, "clone", "merge", "leaf", "--catalog", f.Catalog.Path], check: false,
                environment: new Dictionary<string, string> { ["PRISM_TEST_KILL_AT"] = step });
            Assert.Equal(137, r.ExitCode);
            Assert.False(File.Exists(f.File("leaf.vhdx")));

            // While the dead operation waits for repair, the clone is reported as interrupted, not as missing.
            CatalogProblem p = Assert.Single(f.Manager.Verify(false));
            Assert.Equal("interrupted-operation", p.Kind);
            Assert.Contains("rolls back", p.Message, StringComparison.Ordinal);

            Assert.Equal("interrupted-operation", Assert.Single(f.Manager.Verify(true)).Kind);
            Assert.Equal(leaf, ProvisionerFixture.ContentHash(f.File("leaf.vhdx")));
            Assert.Equal(mid, ProvisionerFixture.ContentHash(f.File("mid.vhdx")));
            Assert.Contains(f.Catalog.Clones(), c => c.Name == "leaf");
        }

        f.Manager.MergeClone("leaf");
        Assert.Equal(leaf, ProvisionerFixture.ContentHash(f.File("mid.vhdx")));
    }

    [Fact]
    public void OperationOnAHeldCloneIsRefusedWhileTheHolderLives()
    {
        using var f = new ProvisionerFixture();
        BaseWithClones(f);
        var journal = new OperationJournal(f.Catalog);
        using (OperationLease held = journal.Begin(new OperationPlan { Kind = "reset", Exclusive = ["c1"], Name = "c1", Path = f.File("c1.vhdx") }))
        {
            var e = Assert.ThrowsAny<ProvisionerException>(() => f.Manager.RemoveClone("c1"));
            Assert.Equal("PrismCatalogBusy", e.ErrorId);
            Assert.Contains("still running", e.Message, StringComparison.Ordinal);

            // Reading a parent others read is fine; changing it is not.
            f.Manager.NewClones("c2", ["c2-child"]);
            using (OperationLease reading = journal.Begin(new OperationPlan { Kind = "clone-new", Shared = ["base"], Exclusive = ["x"] }))
            {
                Assert.Equal("PrismCatalogBusy", Assert.ThrowsAny<ProvisionerException>(() => f.Manager.RemoveGolden("base", force: true)).ErrorId);
                journal.Complete(reading);
            }

            // A live operation is not "interrupted": repair leaves it alone.
            Assert.DoesNotContain(f.Manager.Verify(true), p => p.Kind == "interrupted-operation");
            Assert.Single(journal.Entries());
            journal.Complete(held);
        }

        Assert.Empty(journal.Entries());
        f.Manager.RemoveClone("c1");
    }

    [Fact]
    public async Task RepairInALoopDuringCloneNewPromoteMergeReset_ChangesNothing()
    {
        // Issue #10 item 1: repair adopted clones still being made (clone new then failed and deleted all 500 files),
        // and deleted promote's temporary file.
        string[][] ops =
        [
            ["clone", "new", "base", "--count", "500", "--prefix", "web", "--quiet"],
            ["clone", "promote", "c1", "--name", "base2"],
            ["clone", "merge", "leaf"],
            ["clone", "reset", "mid"],
            ["clone", "new", "base2", "--count", "50", "--prefix", "p2", "--quiet"],
        ];

        static void Stage(ProvisionerFixture f)
        {
            f.MakeGolden("base", 64 * MiB);
            f.Manager.NewClones("base", ["c1", "mid"]);
            ProvisionerFixture.WriteInto(f.File("c1.vhdx"), 0, ProvisionerFixture.Pattern(8 * 1024 * 1024, 11));
            ProvisionerFixture.WriteInto(f.File("mid.vhdx"), 4 * MiB, ProvisionerFixture.Pattern(1024 * 1024, 12));
            f.Manager.NewClones("mid", ["leaf"]);
            ProvisionerFixture.WriteInto(f.File("leaf.vhdx"), 20 * MiB, ProvisionerFixture.Pattern(4 * 1024 * 1024, 13));
        }

        static ProcessResult Cli(ProvisionerFixture f, string[] args) =>
            Oracle.Run(CliRunner.Dotnet, [CliRunner.PrismDll, .. args, "--catalog", f.Catalog.Path], check: false);

        string expected;
        using (var quiet = new ProvisionerFixture())
        {
            Stage(quiet);
            foreach (string[] op in ops)
            {
                ProcessResult r = Cli(quiet, op);
                Assert.True(r.ExitCode == 0, $"{string.Join(' ', op)}: {r.StdErr}");
            }

            expected = Logical(quiet, hashContent: n => !n.StartsWith("web-", StringComparison.Ordinal) && !n.StartsWith("p2-", StringComparison.Ordinal));
        }

        using var f = new ProvisionerFixture();
        Stage(f);
        var repairer = new CloneManager(f.Catalog);
        Task<List<ProcessResult>> work = Task.Run(() => ops.Select(op => Cli(f, op)).ToList());
        int repairs = 0;
        var reported = new List<CatalogProblem>();
        while (!work.IsCompleted)
        {
            reported.AddRange(repairer.Verify(true));
            repairs++;
        }

        List<ProcessResult> results = await work;
        for (int i = 0; i < ops.Length; i++)
        {
            Assert.True(results[i].ExitCode == 0, $"{string.Join(' ', ops[i])} exited {results[i].ExitCode} under concurrent repair: {results[i].StdErr}");
        }

        Assert.True(repairs >= 5, $"only {repairs} repairs ran during the operations");
        Assert.Empty(reported);
        Assert.Equal(expected, Logical(f, hashContent: n => !n.StartsWith("web-", StringComparison.Ordinal) && !n.StartsWith("p2-", StringComparison.Ordinal)));
        Assert.Equal(3 + 500 - 1 + 50, f.Catalog.Clones().Count);
        Assert.Empty(f.Manager.Verify(false));
    }

    private static void AssertBeforeOrAfter(ProvisionerFixture f, string before, string after, string step)
    {
        string now = Logical(f);
        Assert.True(now == before || now == after, $"stopped at {step}: the state is neither before nor after.\nnow:\n{now}\nbefore:\n{before}\nafter:\n{after}");
    }

    /// <summary>
    /// Everything a user can observe, independent of the temp directory and of random GUIDs: every file of the stage
    /// (temporary ones included, so a leftover shows) with its content read through its chain, and every catalog row.
    /// </summary>
    private static string Logical(ProvisionerFixture f, Func<string, bool>? hashContent = null)
    {
        string Rel(string p) => Path.GetRelativePath(f.Dir.Path, p);
        var lines = new List<string>();
        foreach (string file in Directory.EnumerateFiles(f.Dir.Path).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(file);
            string content = "-";
            if (hashContent?.Invoke(name) ?? true)
            {
                try
                {
                    content = ProvisionerFixture.ContentHash(file);
                }
                catch (Exception e) when (e is IOException or Prism.Disks.Errors.DiskFormatException)
                {
                    content = "unreadable: " + ProvisionerFixture.FileHash(file);
                }
            }

            lines.Add($"file {name} {content} sealed={VhdxDisk.IsSealed(file)}");
        }

        lines.AddRange(f.Catalog.Goldens().Select(g => $"golden {g.Name} {Rel(g.Path)} {g.VirtualSize}"));
        lines.AddRange(f.Catalog.Clones().Select(c => $"clone {c.Name} {Rel(c.Path)} {c.Golden} {Rel(c.ParentPath)} {c.Owner}"));
        return string.Join('\n', lines);
    }
}
