using System.Management.Automation;
using Prism.Provisioner.Catalog;

namespace Prism.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Lists registered golden images.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "PrismGolden")]
[OutputType(typeof(PrismGolden))]
public sealed class GetPrismGoldenCommand : PrismCatalogCmdletBase
{
    /// <summary>Golden names (wildcards allowed); all when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        IReadOnlyList<GoldenImage> goldens;
        IReadOnlyList<CloneRecord> clones;
        try
        {
            goldens = OpenCatalog().Goldens();
            clones = OpenCatalog().Clones();
        }
        catch (Exception e) when (IsExpected(e))
        {
            ThrowFatal(e, Catalog);
            return;
        }

        PrismGolden Convert(GoldenImage g) => new(g, clones.Count(c => c.Golden == g.Name));
        if (Name is null || Name.Length == 0)
        {
            WriteObject(goldens.Select(Convert), enumerateCollection: true);
            return;
        }

        foreach (string n in Name)
        {
            var pattern = new WildcardPattern(n, WildcardOptions.CultureInvariant);
            var matches = goldens.Where(g => pattern.IsMatch(g.Name)).ToList();
            if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(n))
            {
                WriteError(new ErrorRecord(new ItemNotFoundException($"no golden image named '{n}' in the catalog"), "PrismGoldenNotFound",
                    ErrorCategory.ObjectNotFound, n));
                continue;
            }

            WriteObject(matches.Select(Convert), enumerateCollection: true);
        }
    }
}
