using Prism.Scanner.Signatures;

namespace Prism.Fleet.Reports;

/// <summary>
/// What the built-in engine loaded for a scan, as <c>prism sigs info</c> shows it: per ClamAV database type the entries
/// loaded, not loaded (unsupported, with the reasons in the load notices) and dropped by ignore lists, and the totals.
/// </summary>
public sealed class SignatureCountsReport
{
    /// <summary>Per database type (hdb, mdb, ndb, ldb, fp, ign2, cbc, ...), sorted by type.</summary>
    public required IReadOnlyList<SignatureTypeCount> Types { get; init; }

    /// <summary>Hash signatures in use (hdb, hsb, mdb, msb).</summary>
    public int HashSignatures { get; init; }

    /// <summary>PE section hash signatures in use (mdb, msb), included in <see cref="HashSignatures"/>.</summary>
    public int SectionHashSignatures { get; init; }

    /// <summary>Body signatures in use (ndb).</summary>
    public int BodySignatures { get; init; }

    /// <summary>Logical signatures in use (ldb).</summary>
    public int LogicalSignatures { get; init; }

    /// <summary>Lines, members and files not loaded.</summary>
    public int IssueCount { get; init; }

    /// <summary>The compiled cache the signatures were read from, or null when they were loaded from their sources.</summary>
    public string? Cache { get; init; }

    /// <summary>The report of a loaded database.</summary>
    public static SignatureCountsReport From(SignatureDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        return new SignatureCountsReport
        {
            Types = database.TypeCounts,
            HashSignatures = database.HashSignatureCount,
            SectionHashSignatures = database.SectionHashSignatureCount,
            BodySignatures = database.BodySignatureCount,
            LogicalSignatures = database.LogicalSignatureCount,
            IssueCount = database.Issues.Count,
            Cache = database.CachePath,
        };
    }
}
