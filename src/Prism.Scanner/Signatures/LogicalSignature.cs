namespace Prism.Scanner.Signatures;

/// <summary>
/// A logical (.ldb) signature: its target description block (Target 0 or 1, FileSize, EntryPoint, NumberOfSections),
/// its expression, and how many subsignatures it has. The subsignatures' patterns are <see cref="BodySignature"/>s
/// whose <see cref="BodySignature.Logical"/> points back here; a session counts their matches (distinct start
/// offsets, at most <see cref="CountCap"/>) and evaluates the expression when the file ends.
/// </summary>
internal sealed class LogicalSignature(
    string name, int target, (long Min, long Max)? fileSize, (long Min, long Max)? entryPoint, (long Min, long Max)? sections,
    LogicalExpression expression, int subsignatureCount)
{
    public string Name { get; } = name;

    public int Target { get; } = target;

    public (long Min, long Max)? FileSize { get; } = fileSize;

    public (long Min, long Max)? EntryPoint { get; } = entryPoint;

    public (long Min, long Max)? SectionCount { get; } = sections;

    public LogicalExpression Expression { get; } = expression;

    public int SubsignatureCount { get; } = subsignatureCount;

    /// <summary>Counting a subsignature's matches beyond this cannot change the expression's value.</summary>
    public int CountCap { get; init; } = expression.LargestNumber + 1;

    /// <summary>True when the expression holds with no subsignature matched at all (e.g. "0=0"): checked on every file.</summary>
    public bool MatchesWithoutHits { get; } = expression.Evaluate(new int[subsignatureCount]);

    /// <summary>The target description block's conditions on the file's length and PE layout (null when it is no parsed PE).</summary>
    public bool AcceptsFile(long length, PeLayout? pe)
    {
        if (FileSize is { } size && (length < size.Min || length > size.Max))
        {
            return false;
        }

        if (EntryPoint is null && SectionCount is null)
        {
            return true;
        }

        if (pe is null)
        {
            return false;
        }

        return (EntryPoint is not { } ep || (pe.EntryPoint >= ep.Min && pe.EntryPoint <= ep.Max))
            && (SectionCount is not { } n || (pe.Sections.Count >= n.Min && pe.Sections.Count <= n.Max));
    }

    /// <summary>
    /// For the entry that collects the members of a macro group (the .ndb signatures with offset "$n$" of one target
    /// type, its subsignature 0; never reported): the group number n. -1 for a logical signature of the database.
    /// </summary>
    public int MacroGroup { get; init; } = -1;

    /// <summary>The macro subsignatures, by subsignature index (<see cref="MacroSubsignature"/>).</summary>
    public IReadOnlyList<MacroSubsignature> Macros { get; init; } = [];

    public string ToCanonical() =>
        $"ldb:{Name};Target:{Target},FileSize:{FileSize},EntryPoint:{EntryPoint},NumberOfSections:{SectionCount};{Expression.Text}"
        + (MacroGroup >= 0 ? $";macro-group:{MacroGroup}" : string.Empty) + string.Concat(Macros.Select(m => $";{m.Index}:{m}"));
}
