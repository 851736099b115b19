using Prism.Scanner.Signatures;

namespace Prism.Fleet.Scanning;

/// <summary>Turns <c>--signatures</c> arguments (files and folders) into the database files to load.</summary>
public static class SignatureSources
{
    /// <summary>Each folder becomes its database files (by name, ordinal order); files are kept as given.</summary>
    public static IReadOnlyList<string> Expand(IEnumerable<string> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var files = new List<string>();
        foreach (string s in sources)
        {
            if (Directory.Exists(s))
            {
                files.AddRange(Directory.EnumerateFiles(s).Where(SignatureDatabase.IsDatabaseFile).Order(StringComparer.Ordinal));
            }
            else
            {
                files.Add(s);
            }
        }

        return files;
    }

    /// <summary>Loads the databases; each issue (a line not loaded, a type ignored) goes to <paramref name="notice"/>.</summary>
    /// <exception cref="InvalidOperationException">No usable signature was loaded.</exception>
    public static SignatureDatabase Load(IEnumerable<string> sources, Action<string> notice)
    {
        ArgumentNullException.ThrowIfNull(notice);
        SignatureDatabase db = SignatureDatabase.Load([.. Expand(sources)], notice);
        foreach (SignatureIssue issue in db.Issues)
        {
            notice($"signatures: {issue}");
        }

        return db.SignatureCount == 0 ? throw new InvalidOperationException("no usable signatures were loaded") : db;
    }
}
