using Prism.Testing;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>Runs clamscan (the independent oracle) and parses its per-file findings.</summary>
internal static class ClamscanOracle
{
    private const string UnofficialSuffix = ".UNOFFICIAL";

    /// <summary>
    /// clamscan (--allmatch unless told otherwise) over <paramref name="files"/> with only the given databases; returns the signature names
    /// found per file (ClamAV's ".UNOFFICIAL" suffix removed). Files without findings map to an empty set.
    /// </summary>
    public static Dictionary<string, SortedSet<string>> Scan(IReadOnlyList<string> databases, IReadOnlyList<string> files, bool allMatch = true)
    {
        string clamscan = Oracle.Require("clamscan", "clamav");
        var args = new List<string> { "--no-summary", allMatch ? "--allmatch" : "--allmatch=no", "--bytecode=no", "--max-filesize=4000M", "--max-scansize=4000M" };
        foreach (string db in databases)
        {
            args.Add("-d");
            args.Add(db);
        }

        args.AddRange(files);
        ProcessResult r = Oracle.Run(clamscan, args, check: false);
        if (r.ExitCode is not (0 or 1))
        {
            throw new InvalidOperationException($"clamscan exited {r.ExitCode}: {r.StdErr}{r.StdOut}");
        }

        var result = files.ToDictionary(f => f, _ => new SortedSet<string>(StringComparer.Ordinal));
        foreach (string line in r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!line.EndsWith(" FOUND", StringComparison.Ordinal))
            {
                // clamscan says "Empty file" for a zero-length file: nothing found in it.
                if (!line.EndsWith(": OK", StringComparison.Ordinal) && !line.EndsWith(": Empty file", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException("unexpected clamscan output line: " + line);
                }

                continue;
            }

            int colon = line.LastIndexOf(": ", StringComparison.Ordinal);
            string file = line[..colon];
            string name = line[(colon + 2)..^" FOUND".Length];
            if (name.EndsWith(UnofficialSuffix, StringComparison.Ordinal))
            {
                name = name[..^UnofficialSuffix.Length];
            }

            result[file].Add(name);
        }

        return result;
    }
}
