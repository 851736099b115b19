using System.Management.Automation;
using Prism.Provisioner.Cloning;

namespace Prism.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Lists registered clones with their divergence from the parent.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "PrismClone")]
[OutputType(typeof(PrismClone))]
public sealed class GetPrismCloneCommand : PrismCatalogCmdletBase
{
    /// <summary>Clone names (wildcards allowed); all clones when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        IReadOnlyList<CloneStatus> clones;
        try
        {
            clones = Manager.ListClones();
        }
        catch (Exception e) when (IsExpected(e))
        {
            ThrowFatal(e, Catalog);
            return;
        }

        if (Name is null || Name.Length == 0)
        {
            WriteObject(clones.Select(c => new PrismClone(c)), enumerateCollection: true);
            return;
        }

        foreach (string n in Name)
        {
            var pattern = new WildcardPattern(n, WildcardOptions.CultureInvariant);
            var matches = clones.Where(c => pattern.IsMatch(c.Record.Name)).ToList();
            if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(n))
            {
                WriteError(new ErrorRecord(new ItemNotFoundException($"no clone named '{n}' in the catalog"), "PrismCloneNotFound",
                    ErrorCategory.ObjectNotFound, n));
                continue;
            }

            WriteObject(matches.Select(c => new PrismClone(c)), enumerateCollection: true);
        }
    }
}
