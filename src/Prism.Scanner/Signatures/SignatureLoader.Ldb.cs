using System.Globalization;

namespace Prism.Scanner.Signatures;

/// <summary>Logical signatures (.ldb): Name;TargetDescriptionBlock;LogicalExpression;Subsig0[;Subsig1...].</summary>
internal sealed partial class SignatureLoader
{
    /// <summary>ClamAV's limit on subsignatures per logical signature.</summary>
    private const int MaxSubsignatures = 64;

    /// <summary>ClamAV's number of target types (0-14); higher Target values are skipped.</summary>
    private const int TargetTypeCount = 15;

    /// <summary>
    /// Parses one .ldb line in ClamAV's order of checks: fields, ignore lists, the expression (its highest index must
    /// match the number of subsignatures, at most 64), the target description block, then each subsignature. Lines
    /// clamscan rejects throw <see cref="FormatException"/>; lines it skips or that use what this engine lacks (PCRE
    /// constructs .NET cannot run, text byte compares, macro and fuzzy-hash subsignatures, icon groups, container types, target types other than 0 and
    /// 1) throw <see cref="NotSupportedException"/> with the reason.
    /// </summary>
    private void ParseLdbLine(string line)
    {
        string[] f = line.Split(';');
        if (f.Length < 4)
        {
            throw new FormatException($"expected name;target block;expression;subsignature..., got {f.Length} field(s)");
        }

        string name = ParseName(f[0]);
        ThrowIfIgnored(f[0], line);
        LogicalExpression expression = LogicalExpression.Parse(f[2]);
        int subsignatureCount = f.Length - 3;
        if (expression.HighestIndex + 1 != subsignatureCount)
        {
            throw new FormatException($"the expression names {expression.HighestIndex + 1} subsignature(s), the line has {subsignatureCount}");
        }

        if (subsignatureCount > MaxSubsignatures)
        {
            throw new FormatException($"{subsignatureCount} subsignatures; ClamAV takes at most {MaxSubsignatures}");
        }

        TargetBlock tdb = ParseTargetBlock(f[1]);
        var bodies = new List<BodySignature>();
        var pcres = new List<PcreSubsignature>();
        var byteCompares = new List<ByteCompareSubsignature>();
        NotSupportedException? unsupported = tdb.Unsupported;
        var macros = new List<MacroSubsignature>();
        for (int i = 0; i < subsignatureCount; i++)
        {
            try
            {
                if (f[3 + i].StartsWith('$'))
                {
                    macros.Add(MacroSubsignature.Parse(f[3 + i], i));
                    continue;
                }

                if (TryParseFileLevelSubsignature(f[3 + i], tdb.Target, i, Logicals.Count, pcres, byteCompares))
                {
                    continue;
                }

                bodies.AddRange(ParseSubsignature(name, tdb.Target, f[3 + i], i, Logicals.Count));
            }
            catch (NotSupportedException e)
            {
                // Keep validating the other subsignatures: a malformed one still rejects the database, as in clamscan.
                unsupported ??= new NotSupportedException($"subsignature {i}: {e.Message}", e);
            }
        }

        foreach (MacroSubsignature macro in macros)
        {
            // ClamAV checks a macro against the match starts of the body subsignature before it (none for subsignature 0).
            if (macro.Index > 0 && !bodies.Exists(b => b.Subsignature == macro.Index - 1 && !b.IsUnbounded))
            {
                unsupported ??= new NotSupportedException(
                    $"subsignature {macro.Index}: a macro after a subsignature that is no single-part body pattern is not supported");
            }
        }

        if (unsupported is not null)
        {
            throw unsupported;
        }

        bool counted = expression.Text.Contains('<', StringComparison.Ordinal) || expression.Text.Contains('>', StringComparison.Ordinal)
            || HasNonZeroEquals(expression.Text);
        if (counted && bodies.Exists(b => b.IsUnbounded))
        {
            throw new NotSupportedException("match counts of a subsignature with '*' or {n-} parts are not supported");
        }

        // A PCRE trigger may compare counts with larger numbers than the expression does.
        // A macro is checked against every match of the subsignature before it: count them all.
        int countCap = macros.Count > 0 ? int.MaxValue
            : pcres.Select(p => p.Trigger.LargestNumber + 1).Append(expression.LargestNumber + 1).Max();
        Logicals.Add(new LogicalSignature(name, tdb.Target, tdb.FileSize, tdb.EntryPoint, tdb.Sections, expression, subsignatureCount)
        {
            CountCap = countCap,
            Macros = macros,
        });
        Bodies.AddRange(bodies);
        Pcres.AddRange(pcres);
        ByteCompares.AddRange(byteCompares);
    }

    private static bool HasNonZeroEquals(string expression)
    {
        for (int i = expression.IndexOf('=', StringComparison.Ordinal); i >= 0; i = expression.IndexOf('=', i + 1))
        {
            if (i + 1 >= expression.Length || expression[i + 1] != '0' || (i + 2 < expression.Length && char.IsAsciiDigit(expression[i + 2]))
                || expression[i - 1] == ')')
            {
                return true;
            }
        }

        return false;
    }

    private static TargetBlock ParseTargetBlock(string text)
    {
        int? target = null;
        (long, long)? fileSize = null, entryPoint = null, sections = null;
        (long Min, long Max)? engine = null;
        NotSupportedException? unsupported = null;
        bool icons = false, newAttributes = false;
        string[] attributes = text.Split(',');
        if (text.Length == 0)
        {
            throw new FormatException("empty target description block");
        }

        for (int i = 0; i < attributes.Length; i++)
        {
            string a = attributes[i];
            int colon = a.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                throw new FormatException($"target description attribute '{a}' has no ':'");
            }

            string key = a[..colon], value = a[(colon + 1)..];
            newAttributes |= key is not ("Target" or "Engine");
            switch (key)
            {
                case "Target":
                    target = int.TryParse(value.Length == 0 ? "0" : value, NumberStyles.None, CultureInfo.InvariantCulture, out int t)
                        ? t : throw new FormatException($"bad Target '{value}'");
                    break;
                case "Engine":
                    if (i != 0)
                    {
                        throw new FormatException("Engine must be the first attribute of the target description block");
                    }

                    engine = ParseRange(key, value);
                    break;
                case "FileSize":
                    fileSize = ParseRange(key, value);
                    break;
                case "EntryPoint":
                    entryPoint = ParseRange(key, value);
                    break;
                case "NumberOfSections":
                    sections = ParseRange(key, value);
                    break;
                case "IconGroup1" or "IconGroup2":
                    icons = true;
                    unsupported ??= new NotSupportedException($"{key} needs ClamAV's icon matcher and .idb icon signatures (clamscan without them never matches it)");
                    break;
                case "Container" or "Intermediates" or "HandlerType":
                    unsupported ??= new NotSupportedException($"{key} (file types of containers) is not supported");
                    break;
                default:
                    // clamscan skips signatures with attributes it does not know, without reading further.
                    throw new NotSupportedException($"unknown target description attribute '{key}' (skipped, as clamscan does)");
            }
        }

        if (newAttributes && (engine is not { } required || required.Min < 51))
        {
            throw new FormatException("attributes other than Target need Engine with a minimum of at least 51 (first attribute)");
        }

        if (engine is { } e && (e.Min > FunctionalityLevel || e.Max < FunctionalityLevel))
        {
            throw new NotSupportedException($"Engine range {e.Min}-{e.Max} excludes {FunctionalityLevel} (skipped, as clamscan does)");
        }

        if (target is null)
        {
            throw new FormatException("no Target in the target description block");
        }

        if (target >= TargetTypeCount)
        {
            throw new NotSupportedException($"target type {target} is unknown (skipped, as clamscan does)");
        }

        if (icons && target != 1)
        {
            throw new FormatException("IconGroup needs target type 1 (PE)");
        }

        if (entryPoint is not null || sections is not null)
        {
            if (target is not (1 or 6 or 9))
            {
                throw new FormatException("EntryPoint and NumberOfSections need an executable target type (1, 6 or 9)");
            }
        }

        if (target is int typed && !IsSupportedTarget(typed))
        {
            unsupported ??= UnsupportedTarget(typed);
        }

        return new TargetBlock(target ?? 0, fileSize, entryPoint, sections, unsupported);
    }

    private static (long Min, long Max) ParseRange(string key, string value)
    {
        int dash = value.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
        {
            throw new FormatException($"{key} needs a range min-max, got '{value}'");
        }

        return (ParseDigits(key, value[..dash]), ParseDigits(key, value[(dash + 1)..]));
    }

    /// <summary>Digits only; ClamAV reads an empty number as 0.</summary>
    private static long ParseDigits(string key, string s) =>
        s.Length == 0 ? 0
        : long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v
        : throw new FormatException($"bad {key} value '{s}'");

    /// <summary>[offset:]hexsig[::modifiers]; special subsignature kinds are reported, not loaded.</summary>
    private static IEnumerable<BodySignature> ParseSubsignature(string name, int target, string text, int index, int logical)
    {
        if (text.StartsWith("fuzzy_img#", StringComparison.Ordinal))
        {
            throw new NotSupportedException("fuzzy image hash subsignatures are not supported");
        }

        string[] t = text.Split(':');
        if (t.Length > 4)
        {
            throw new FormatException($"subsignature {index} has {t.Length} ':'-separated fields; expected at most offset:hex::modifiers");
        }

        string offsetText = t.Length % 2 == 0 ? t[0] : "*";
        string hex = t.Length % 2 == 0 ? t[1] : t[0];
        string options = t.Length switch { 3 => t[2], 4 => t[3], _ => string.Empty };
        SignatureOffset offset;
        try
        {
            offset = SignatureOffset.Parse(offsetText);
        }
        catch (NotSupportedException e) when (target is not (1 or 6 or 9) && e is not MacroOffsetException)
        {
            throw new FormatException($"offset {offsetText} needs an executable target type (1, 6 or 9), not {target}");
        }

        if (offset.IsExecutableRelative && target is not (1 or 6 or 9))
        {
            throw new FormatException($"offset {offsetText} needs an executable target type (1, 6 or 9), not {target}");
        }

        var result = new List<BodySignature>();
        foreach ((string variant, bool wide) in SubsignatureModifiers.Apply(hex, options))
        {
            List<HexPatternParser.RawSegment> raw = HexPatternParser.Parse(variant);
            if (offset.Kind == SignatureOffsetKind.FromEnd && raw.Count > 1)
            {
                throw new NotSupportedException("an EOF-relative offset combined with '*' or {n-} is not supported");
            }

            PatternSegment[] segments = [.. raw.Select(PatternSegment.Compile)];
            if (wide)
            {
                segments = Array.ConvertAll(segments, s => s.WithWideWordEdges());
            }

            result.Add(new BodySignature(name, target, offset, segments, logical, index));
        }

        return result;
    }

    /// <summary>Drops logical signatures an ignore list read after them names, with their subsignature patterns.</summary>
    /// <summary>
    /// Adds an .ndb signature with offset "$n$" to the entry collecting macro group n of its target type (created on
    /// first use), as that entry's subsignature 0.
    /// </summary>
    private void AddMacroGroupMember(string name, int target, int group, PatternSegment[] segments)
    {
        int index = Logicals.FindIndex(l => l.MacroGroup == group && l.Target == target);
        if (index < 0)
        {
            index = Logicals.Count;
            Logicals.Add(new LogicalSignature($"$macro-group-{group}-target-{target}$", target, null, null, null, LogicalExpression.Parse("0"), 1)
            {
                CountCap = int.MaxValue,
                MacroGroup = group,
            });
        }

        Bodies.Add(new BodySignature(name, target, SignatureOffset.Any, segments, index, 0));
    }

    private void RemoveIgnoredLogicals()
    {
        if (!Logicals.Exists(l => _ignoredNames.Contains(l.Name)))
        {
            return;
        }

        var newIndex = new int[Logicals.Count];
        var kept = new List<LogicalSignature>();
        for (int i = 0; i < Logicals.Count; i++)
        {
            newIndex[i] = _ignoredNames.Contains(Logicals[i].Name) ? -1 : kept.Count;
            if (newIndex[i] >= 0)
            {
                kept.Add(Logicals[i]);
            }
        }

        int removed = Logicals.Count - kept.Count;
        Count("ldb", 0, 0, removed, -removed);
        Logicals.Clear();
        Logicals.AddRange(kept);
        var bodies = new List<BodySignature>(Bodies.Count);
        foreach (BodySignature b in Bodies)
        {
            if (b.Logical < 0)
            {
                bodies.Add(b);
            }
            else if (newIndex[b.Logical] >= 0)
            {
                bodies.Add(b.WithLogical(newIndex[b.Logical]));
            }
        }

        Bodies.Clear();
        Bodies.AddRange(bodies);
        RenumberFileLevelSubsignatures(newIndex);
    }

    private sealed record TargetBlock(int Target, (long, long)? FileSize, (long, long)? EntryPoint, (long, long)? Sections, NotSupportedException? Unsupported);
}
