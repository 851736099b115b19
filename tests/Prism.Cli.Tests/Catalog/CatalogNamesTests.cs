using System.Text.Json;
using Microsoft.Data.Sqlite;
using Prism.Cli;
using Prism.Disks.Errors;
using Prism.Provisioner.Catalog;
using Prism.Provisioner.Tests.Catalog;
using Prism.Provisioner.Tests.Cloning;

namespace Prism.Cli.Tests.Catalog;

/// <summary>
/// Names are printable (issue 10, item 8): golden, clone and owner names with control characters or bidi controls are
/// refused; names already in an older catalog are listed escaped, so a listing line cannot be forged.
/// </summary>
public sealed class CatalogNamesTests
{
    private static (int Rc, string Out, string Err) Prism(ProvisionerFixture f, params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int rc = Program.Run([.. args, "--catalog", f.Catalog.Path], o, e);
        return (rc, o.ToString(), e.ToString());
    }

    /// <summary>Each unprintable character, with how a message must show it.</summary>
    public static TheoryData<string, string> Unprintable => new()
    {
        { "\n", @"\u000a" },
        { "\r", @"\u000d" },
        { "\t", @"\u0009" },
        { "\u001b", @"\u001b" },
        { "\u0000", @"\u0000" },
        { "\u007f", @"\u007f" },
        { "\u0085", @"\u0085" },
        { "\u009b", @"\u009b" },
        { "\u202e", @"\u202e" },
        { "\u202a", @"\u202a" },
        { "\u2066", @"\u2066" },
        { "\u2069", @"\u2069" },
        { "\u200e", @"\u200e" },
        { "\u200f", @"\u200f" },
        { "\u061c", @"\u061c" },
        { "\u2028", @"\u2028" },
    };

    /// <summary><see cref="Unprintable"/> without NUL, which no real command line can carry.</summary>
    public static TheoryData<string, string> UnprintableArgv
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach ((string c, string escaped) in new[]
            {
                ("\n", @"\u000a"), ("\r", @"\u000d"), ("\t", @"\u0009"), ("\u001b", @"\u001b"), ("\u007f", @"\u007f"),
                ("\u0085", @"\u0085"), ("\u009b", @"\u009b"), ("\u202e", @"\u202e"), ("\u202a", @"\u202a"), ("\u2066", @"\u2066"),
                ("\u2069", @"\u2069"), ("\u200e", @"\u200e"), ("\u200f", @"\u200f"), ("\u061c", @"\u061c"), ("\u2028", @"\u2028"),
            })
            {
                data.Add(c, escaped);
            }

            return data;
        }
    }

    private static void AssertPrintable(string text)
    {
        int i = TextEscaping.IndexOfUnsafe(text.ReplaceLineEndings("\n").Replace("\n", "", StringComparison.Ordinal));
        Assert.True(i < 0, $"unescaped character in: {text}");
    }

    [Theory]
    [MemberData(nameof(Unprintable))]
    public void Validate_UnprintableCharacter_RejectedShowingItEscaped(string c, string escaped)
    {
        foreach (string name in new[] { $"vm{c}01", $"{c}vm", $"vm{c}" })
        {
            ArgumentException e = Assert.Throws<ArgumentException>(() => CatalogNames.Validate(name, "clone name"));
            Assert.Contains(escaped, e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(c, e.Message, StringComparison.Ordinal);
            Assert.Contains("clone name", e.Message, StringComparison.Ordinal);
            e = Assert.Throws<ArgumentException>(() => CatalogNames.ValidateOwner(name));
            Assert.Contains(escaped, e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData(".hidden")]
    public void Validate_ExistingRules_StillApply(string name) =>
        Assert.Throws<ArgumentException>(() => CatalogNames.Validate(name, "clone name"));

    [Fact]
    public void Validate_LengthLimit_200()
    {
        CatalogNames.Validate(new string('a', 200), "clone name");
        Assert.Throws<ArgumentException>(() => CatalogNames.Validate(new string('a', 201), "clone name"));
        Assert.Throws<ArgumentException>(() => CatalogNames.ValidateOwner(new string('a', 201)));
    }

    [Theory]
    [InlineData("web-01")]
    [InlineData("Serveur_é-ü")]
    [InlineData("日本語-vm")]
    [InlineData("vm 01")]
    public void Validate_PrintableNames_Accepted(string name)
    {
        CatalogNames.Validate(name, "clone name");
        CatalogNames.ValidateOwner(name);
    }

    [Theory]
    [InlineData(@"CONTOSO\alice")]
    [InlineData("team/ops")]
    [InlineData("alice@example.com")]
    public void ValidateOwner_AccountsWithSeparators_Accepted(string owner) => CatalogNames.ValidateOwner(owner);

    [Theory]
    [MemberData(nameof(UnprintableArgv))]
    public void Cli_UnprintableGoldenCloneOrOwnerName_RefusedAndNothingCreated(string c, string escaped)
    {
        using var f = new ProvisionerFixture();
        string disk = f.MakeDisk("gold");
        var r = Prism(f, "golden", "add", disk, "--name", $"g{c}1");
        Assert.Equal(1, r.Rc);
        Assert.Contains(escaped, r.Err, StringComparison.Ordinal);
        AssertPrintable(r.Err);
        Assert.Empty(f.Catalog.Goldens());

        Assert.Equal(0, Prism(f, "golden", "add", disk, "--name", "g1").Rc);
        string[] filesBefore = Directory.GetFiles(f.Dir.Path);
        r = Prism(f, "clone", "new", "g1", "ok1", $"vm{c}01");
        Assert.Equal(1, r.Rc);
        Assert.Contains(escaped, r.Err, StringComparison.Ordinal);
        AssertPrintable(r.Err);

        r = Prism(f, "clone", "new", "g1", "ok2", "--owner", $"ops{c}\nprism: forged");
        Assert.Equal(1, r.Rc);
        Assert.Contains("owner", r.Err, StringComparison.Ordinal);
        AssertPrintable(r.Err);

        r = Prism(f, "clone", "new", "g1", "--count", "2", "--prefix", $"p{c}");
        Assert.Equal(1, r.Rc);
        AssertPrintable(r.Err);

        Assert.Empty(f.Catalog.Clones());
        Assert.Equal(filesBefore.Order(), Directory.GetFiles(f.Dir.Path).Order());
    }

    [Fact]
    public void Cli_PrintableOwnerWithBackslash_Accepted()
    {
        using var f = new ProvisionerFixture();
        f.MakeGolden("g1");
        var r = Prism(f, "clone", "new", "g1", "vm1", "--owner", @"CONTOSO\alice");
        Assert.True(r.Rc == 0, r.Err);
        Assert.Equal(@"CONTOSO\alice", Assert.Single(f.Catalog.Clones()).Owner);
    }

    [Fact]
    public void Cli_RowsWithControlCharactersFromAnOlderCatalog_ListedEscaped()
    {
        using var f = new ProvisionerFixture();
        f.MakeGolden("g1");
        Assert.Equal(0, Prism(f, "clone", "new", "g1", "vm1", "--owner", "ops").Rc);

        // An older Prism accepted any name: put such rows in behind the library's back.
        string evilClone = "vm2\nvm3                      g1   0 B  0.000%  /forged\u001b[2K";
        string evilGolden = "g2\u001b]0;owned\u0007\u202e";
        using (var c = new SqliteConnection($"Data Source={f.Catalog.Path};Pooling=False"))
        {
            c.Open();
            using SqliteCommand cmd = c.CreateCommand();
            cmd.CommandText = """
                INSERT INTO goldens SELECT $g, path || '.old', disk_id, data_write_guid, virtual_size, sealed_at FROM goldens WHERE name = 'g1';
                INSERT INTO clones SELECT $n, path || $n, golden, parent_path, $n, created, host FROM clones WHERE name = 'vm1';
                """;
            cmd.Parameters.AddWithValue("$g", evilGolden);
            cmd.Parameters.AddWithValue("$n", evilClone);
            cmd.ExecuteNonQuery();
        }

        var r = Prism(f, "clone", "list");
        Assert.True(r.Rc == 0, r.Err);
        AssertPrintable(r.Out);
        string[] lines = r.Out.TrimEnd('\n').Split('\n');
        Assert.Equal(3, lines.Length); // header, vm1, the escaped row: no forged fourth line
        Assert.Contains(@"vm2\u000avm3", r.Out, StringComparison.Ordinal);
        Assert.Contains(@"/forged\u001b[2K", r.Out, StringComparison.Ordinal);

        r = Prism(f, "golden", "list");
        Assert.True(r.Rc == 0, r.Err);
        AssertPrintable(r.Out);
        Assert.Contains(@"g2\u001b]0;owned\u0007\u202e", r.Out, StringComparison.Ordinal);

        // JSON escapes control characters by itself and keeps the real value.
        foreach (string[] args in new[] { new[] { "clone", "list", "--json" }, ["golden", "list", "--json"] })
        {
            r = Prism(f, args);
            Assert.True(r.Rc == 0, r.Err);
            AssertPrintable(r.Out);
            using JsonDocument doc = JsonDocument.Parse(r.Out);
            var names = doc.RootElement.EnumerateArray().Select(e => e.GetProperty("name").GetString()).ToList();
            Assert.Contains(args[0] == "clone" ? evilClone : evilGolden, names);
        }
    }
}
