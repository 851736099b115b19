using System.Globalization;

namespace Prism.Scanner.Signatures;

/// <summary>
/// A macro subsignature "${min-max}group$" of a logical signature (subsignature <paramref name="Index"/>): it matches
/// when a member of macro group <paramref name="Group"/> (an .ndb signature of the logical signature's target type
/// whose offset is "$group$"; members are never reported themselves) starts <paramref name="Min"/> to
/// <paramref name="Max"/> bytes after the start of the previous subsignature's match, as ClamAV 1.4 decides it (see
/// <see cref="Evaluate"/>).
/// </summary>
internal readonly record struct MacroSubsignature(int Index, int Min, int Max, int Group)
{
    /// <summary>ClamAV's number of macro groups.</summary>
    public const int MaxGroups = 32;

    /// <summary>
    /// "${min-max}group$" as ClamAV reads it: the last character must be '$' and "${", min, '-', max, '}', group must
    /// lead (what follows the group number is not checked); a group of 32 or more is rejected.
    /// </summary>
    public static MacroSubsignature Parse(string text, int index)
    {
        if (!text.EndsWith('$') || text.Length < 2)
        {
            throw new FormatException($"macro subsignature '{text}' is missing the '$' terminator");
        }

        int at = 0;
        if (!Skip(text, ref at, "${") || !Number(text, ref at, out long min) || !Skip(text, ref at, "-")
            || !Number(text, ref at, out long max) || !Skip(text, ref at, "}") || !Number(text, ref at, out long group))
        {
            throw new FormatException($"invalid macro subsignature '{text}'; expected ${{min-max}}group$");
        }

        if (group >= MaxGroups)
        {
            throw new FormatException($"macro group {group}: ClamAV supports at most {MaxGroups} macro groups");
        }

        return new MacroSubsignature(index, (int)Math.Min(int.MaxValue, min), (int)Math.Min(int.MaxValue, max), (int)group);
    }

    /// <summary>The group of a "$n$" .ndb offset: the digits after '$' (ClamAV checks nothing after them); 32 or more is rejected.</summary>
    public static int ParseGroupOffset(string offset)
    {
        int at = 1;
        if (!offset.StartsWith('$') || !Number(offset, ref at, out long group))
        {
            throw new FormatException($"invalid macro offset '{offset}'");
        }

        return group < MaxGroups ? (int)group
            : throw new FormatException($"macro offset {offset}: ClamAV supports at most {MaxGroups} macro groups");
    }

    /// <summary>
    /// The counts ClamAV ends with for the previous subsignature and this macro, from the distinct match starts of the
    /// previous subsignature and of the group's members (both ascending). ClamAV checks the macro only from the
    /// previous subsignature's second match on: at each further match, and once more when the file ends, the first
    /// kept start plus min..max must reach the latest member start seen so far (members starting before that match;
    /// at the end, the last member). A check that holds counts the macro once; one that fails takes back the
    /// previous subsignature's match and makes it the new first kept start. With a single match of the previous
    /// subsignature the macro never counts.
    /// </summary>
    public (int PreviousCount, int MacroCount) Evaluate(IReadOnlyList<long> previousStarts, IReadOnlyList<long> memberStarts)
    {
        int count = 0;
        int macroCount = 0;
        long kept = -1;
        long latestMember = -1;
        int m = 0;
        foreach (long start in previousStarts)
        {
            while (m < memberStarts.Count && memberStarts[m] < start)
            {
                latestMember = memberStarts[m++];
            }

            count++;
            if (count <= 1)
            {
                kept = start;
                continue;
            }

            if (Holds(kept, latestMember))
            {
                macroCount++;
            }
            else
            {
                count--;
                kept = start;
            }
        }

        if (count > 1)
        {
            latestMember = memberStarts.Count > 0 ? memberStarts[^1] : -1;
            if (Holds(kept, latestMember))
            {
                macroCount++;
            }
            else
            {
                count--;
            }
        }

        return (count, macroCount);
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"${{{Min}-{Max}}}{Group}$");

    private bool Holds(long kept, long member) => member >= 0 && kept + Min <= member && kept + Max >= member;

    private static bool Skip(string text, ref int at, string expected)
    {
        if (!text.AsSpan(at).StartsWith(expected, StringComparison.Ordinal))
        {
            return false;
        }

        at += expected.Length;
        return true;
    }

    private static bool Number(string text, ref int at, out long value)
    {
        int start = at;
        while (at < text.Length && char.IsAsciiDigit(text[at]) && at - start < 18)
        {
            at++;
        }

        return long.TryParse(text.AsSpan(start, at - start), NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
