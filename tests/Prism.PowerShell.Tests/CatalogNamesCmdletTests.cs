using System.Management.Automation;
using Prism.Disks.Errors;
using Prism.Provisioner.Catalog;
using Prism.Testing;

namespace Prism.PowerShell.Tests;

/// <summary>New-PrismClone and Add-PrismGolden refuse unprintable names and owners (issue 10, item 8).</summary>
public sealed class CatalogNamesCmdletTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly PrismShell _shell;

    public CatalogNamesCmdletTests()
    {
        _shell = new PrismShell(_dir);
        PrismShell.CreateDisk(_dir.File("base.vhdx"));
    }

    public void Dispose()
    {
        _shell.Dispose();
        _dir.Dispose();
    }

    /// <summary>A PowerShell escape for the character, and how the error message must show it.</summary>
    public static TheoryData<string, string> Unprintable => new()
    {
        { "`n", @"\u000a" },
        { "`r", @"\u000d" },
        { "`t", @"\u0009" },
        { "`e", @"\u001b" },
        { "`u{85}", @"\u0085" },
        { "`u{202E}", @"\u202e" },
        { "`u{7F}", @"\u007f" },
    };

    private List<CloneRecord> CatalogClones()
    {
        using PrismCatalog catalog = PrismCatalog.Open(_shell.CatalogPath);
        return catalog.Clones().ToList();
    }

    private static void AssertEscaped(ErrorRecord e, string escaped)
    {
        PrismShell.AssertError(e, "PrismInvalidArgument", ErrorCategory.InvalidArgument);
        Assert.Contains(escaped, e.Exception.Message, StringComparison.Ordinal);
        Assert.Equal(-1, TextEscaping.IndexOfUnsafe(e.Exception.Message));
    }

    [Theory]
    [MemberData(nameof(Unprintable))]
    public void NewPrismClone_UnprintableNameOrOwner_RefusedAndNothingCreated(string psChar, string escaped)
    {
        _shell.Run("Add-PrismGolden base.vhdx");
        string[] filesBefore = Directory.GetFiles(_dir.Path).Order(StringComparer.Ordinal).ToArray();

        AssertEscaped(_shell.RunTerminating($"New-PrismClone base -Name ok1, \"vm{psChar}01\""), escaped);
        AssertEscaped(_shell.RunTerminating($"New-PrismClone base -Name ok2 -Owner \"ops{psChar}x\""), escaped);
        AssertEscaped(_shell.RunTerminating($"New-PrismClone base -Count 2 -Prefix \"p{psChar}\""), escaped);
        AssertEscaped(_shell.RunTerminating($"New-PrismClone base -Name ok3 -Owner \"ops{psChar}x\" -WhatIf"), escaped);

        Assert.Empty(CatalogClones());
        Assert.Equal(filesBefore, Directory.GetFiles(_dir.Path).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Unprintable))]
    public void AddPrismGolden_UnprintableName_RefusedAndNotRegistered(string psChar, string escaped)
    {
        _shell.Run($"Add-PrismGolden base.vhdx -Name \"g{psChar}1\"");
        ErrorRecord e = Assert.Single(_shell.Errors);
        PrismShell.AssertError(e, "PrismInvalidArgument", ErrorCategory.InvalidArgument);
        Assert.Contains(escaped, e.Exception.Message, StringComparison.Ordinal);
        using PrismCatalog catalog = PrismCatalog.Open(_shell.CatalogPath);
        Assert.Empty(catalog.Goldens());
    }

    [Fact]
    public void NewPrismClone_DomainAccountOwner_Recorded()
    {
        _shell.Run("Add-PrismGolden base.vhdx");
        _shell.Run(@"New-PrismClone base -Name vm1 -Owner 'CONTOSO\alice'");
        Assert.Empty(_shell.Errors);
        Assert.Equal(@"CONTOSO\alice", Assert.Single(CatalogClones()).Owner);
    }
}
