using System.CommandLine;
using System.CommandLine.Parsing;

namespace Prism.Cli;

/// <summary>A wrong command line found after parsing (contradicting options): one line, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>How the CLI words errors: one line, with a suggestion for a mistyped command or option.</summary>
internal static class CliErrors
{
    /// <summary>The exceptions a command reports as one line (anything else is a bug and keeps its stack trace).</summary>
    public static bool IsExpected(Exception e) => e is IOException or UnauthorizedAccessException or InvalidOperationException
        or NotSupportedException or ArgumentException or Prism.Disks.Errors.DiskFormatException or System.Data.Common.DbException
        or System.Text.Json.JsonException or TimeoutException;

    public static string OneLine(string message) => message.ReplaceLineEndings(" ").Replace('\t', ' ');

    /// <summary>The parse errors as one line: an unknown token comes first, with the nearest command or option name.</summary>
    public static string OneLine(ParseResult parse)
    {
        var messages = new List<string>();
        foreach (string token in parse.UnmatchedTokens)
        {
            string? near = Nearest(token, parse.CommandResult.Command);
            string where = CommandName(parse.CommandResult.Command);
            messages.Add(near is null
                ? $"unknown {(token.StartsWith('-') ? "option" : "command or argument")} '{token}' for '{where}'"
                : $"unknown {(token.StartsWith('-') ? "option" : "command or argument")} '{token}' for '{where}'; did you mean '{near}'?");
        }

        foreach (ParseError e in parse.Errors)
        {
            if (e.Message.StartsWith("Unrecognized command or argument", StringComparison.Ordinal)
                || (messages.Count > 0 && e.Message.StartsWith("Required command was not provided", StringComparison.Ordinal)))
            {
                continue;
            }

            string m = OneLine(e.Message).Replace("  ", " ", StringComparison.Ordinal);
            if (e.Message.StartsWith("Required command was not provided", StringComparison.Ordinal))
            {
                m = $"'{CommandName(parse.CommandResult.Command)}' needs a command: {string.Join(", ", parse.CommandResult.Command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))}";
            }

            messages.Add(m);
        }

        return string.Join("; ", messages.Distinct());
    }

    private static string CommandName(Command c)
    {
        var names = new List<string>();
        for (Command? x = c; x is not null; x = x.Parents.OfType<Command>().FirstOrDefault())
        {
            names.Add(x is RootCommand ? "prism" : x.Name);
        }

        names.Reverse();
        return string.Join(' ', names);
    }

    /// <summary>The subcommand or option name nearest to <paramref name="token"/> (edit distance at most a third of it).</summary>
    private static string? Nearest(string token, Command command)
    {
        IEnumerable<string> candidates = token.StartsWith('-')
            ? command.Options.Concat(command.Parents.OfType<Command>().SelectMany(p => p.Options.Where(o => o.Recursive)))
                .Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name))
            : command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name);
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string c in candidates)
        {
            int d = Distance(token, c);
            if (d < bestDistance || (d == bestDistance && c.StartsWith(token, StringComparison.Ordinal)))
            {
                (best, bestDistance) = (c, d);
            }
        }

        return best is not null && (bestDistance <= Math.Max(1, token.Length / 3) || best.StartsWith(token, StringComparison.Ordinal)) ? best : null;
    }

    private static int Distance(string a, string b)
    {
        int[] beforePrevious = new int[b.Length + 1];
        int[] previous = new int[b.Length + 1];
        int[] current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    current[j] = Math.Min(current[j], beforePrevious[j - 2] + 1); // a swapped pair ("scna") is one edit
                }
            }

            (beforePrevious, previous, current) = (previous, current, beforePrevious);
        }

        return previous[b.Length];
    }
}
