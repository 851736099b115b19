using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Prism.Cli;

/// <summary>The option and argument kinds the commands share, declared once: sizes, counts, flags, the catalog.</summary>
internal static class CliOptions
{
    /// <summary>A size option (64GiB, 4KiB, 0x200, 10MB); a bad value is a parse error naming the option.</summary>
    public static Option<long?> Size(string name, string description, long? defaultValue = null)
    {
        var o = new Option<long?>(name)
        {
            Description = description,
            HelpName = "SIZE",
            CustomParser = r => ParseSize(r, name),
        };
        if (defaultValue is long d)
        {
            o.DefaultValueFactory = _ => d;
        }

        return o;
    }

    /// <summary>A byte offset or length (a size, so 0x200 and 1MiB work).</summary>
    public static Option<long?> Bytes(string name, string description, bool required = false) => new(name)
    {
        Description = description,
        HelpName = "N",
        Required = required,
        CustomParser = r => ParseSize(r, name),
    };

    /// <summary>A whole number, at least <paramref name="minimum"/>.</summary>
    public static Option<int?> Int(string name, string description, int? defaultValue = null, int minimum = 0, string helpName = "N")
    {
        var o = new Option<int?>(name)
        {
            Description = description,
            HelpName = helpName,
            CustomParser = r =>
            {
                string v = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                if (!int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < minimum)
                {
                    r.AddError($"{name}: '{v}' is not a whole number{(minimum > 0 ? $" of at least {minimum}" : "")}");
                    return null;
                }

                return n;
            },
        };
        if (defaultValue is int d)
        {
            o.DefaultValueFactory = _ => d;
        }

        return o;
    }

    /// <summary>A boolean flag.</summary>
    public static Option<bool> Flag(string name, string description, params string[] aliases)
    {
        var o = new Option<bool>(name, aliases) { Description = description, Arity = ArgumentArity.Zero };
        return o;
    }

    /// <summary>A text value.</summary>
    public static Option<string?> Text(string name, string description, string helpName, bool required = false) => new(name)
    {
        Description = description,
        HelpName = helpName,
        Required = required,
    };

    /// <summary>One of a fixed set of words.</summary>
    public static Option<string> OneOf(string name, string description, string defaultValue, params string[] values)
    {
        var o = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        o.AcceptOnlyFromAmong(values);
        return o;
    }

    /// <summary><c>--catalog F</c>: the catalog (default: $PRISM_CATALOG, else the per-user catalog).</summary>
    public static Option<string?> Catalog() => Text("--catalog",
        "the Prism catalog: a SQLite file, or a PostgreSQL postgres:// URI or connection string shared by many hosts (default: $PRISM_CATALOG, "
        + "else the per-user catalog); its goldens, parents and clones are never written", "FILE|URI");

    /// <summary><c>--json</c> as a flag: the result as JSON on stdout.</summary>
    public static Option<bool> JsonFlag() => Flag("--json", "write the result as JSON to stdout");

    /// <summary><c>--allow-remote-parents</c>.</summary>
    public static Option<bool> AllowRemoteParents() => Flag("--allow-remote-parents", "follow parent locators that name UNC (remote) paths");

    /// <summary>A positional argument.</summary>
    public static Argument<string> Arg(string name, string description) => new(name) { Description = description };

    /// <summary>A group command (disk, clone ...): without a subcommand it prints its help to stderr with exit 2.</summary>
    public static Command Group(string name, string description, params Command[] subcommands)
    {
        var group = new Command(name, description);
        foreach (Command c in subcommands)
        {
            group.Subcommands.Add(c);
        }

        group.SetAction(p =>
        {
            PrintHelp(p, p.InvocationConfiguration.Error);
            return 2;
        });
        return group;
    }

    /// <summary>Writes the help of the command <paramref name="parse"/> selected to <paramref name="writer"/>.</summary>
    public static void PrintHelp(ParseResult parse, TextWriter writer)
    {
        var tokens = new List<string>();
        for (SymbolResult? r = parse.CommandResult; r is not null; r = r.Parent)
        {
            if (r is CommandResult c && c.Command is not RootCommand)
            {
                tokens.Add(c.Command.Name);
            }
        }

        tokens.Reverse();
        tokens.Add("--help");
        parse.RootCommandResult.Command.Parse(tokens).Invoke(new InvocationConfiguration { Output = writer });
    }

    private static long? ParseSize(ArgumentResult r, string name)
    {
        string v = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
        try
        {
            return Sizes.Parse(v, name);
        }
        catch (UsageException e)
        {
            r.AddError(e.Message);
            return null;
        }
    }
}
