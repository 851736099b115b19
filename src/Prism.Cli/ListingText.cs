using System.Globalization;
using Prism.Disks.Errors;

namespace Prism.Cli;

/// <summary>
/// The output shared by <c>prism fs ls</c> and <c>prism ntfs ls</c>: a JSON array written one element per line as the
/// entries come, and the text line of one entry (type, size, id, time, path) followed by one line per named stream.
/// </summary>
internal static class ListingText
{
    /// <summary>Writes <paramref name="items"/> as a JSON array, each element (already serialized) on its own line.</summary>
    public static void WriteJsonArray<T>(TextWriter stdout, IEnumerable<T> items, Func<T, string> serialize)
    {
        stdout.Write('[');
        bool first = true;
        foreach (T item in items)
        {
            stdout.Write(first ? "\n  " : ",\n  ");
            first = false;
            stdout.Write(serialize(item));
        }

        stdout.WriteLine(first ? "]" : "\n]");
    }

    /// <summary>Writes one entry's line and a line per named stream (<c>s</c>, size, id, path:name).</summary>
    public static void WriteEntry(TextWriter stdout, char kind, long size, long id, DateTime modified, string path, bool isDirectory,
        IEnumerable<(string Name, long Size)> streams)
    {
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{kind} {size,12} {id,8} {modified:yyyy-MM-dd HH:mm:ss} {TextEscaping.Escape(path)}{(isDirectory ? "/" : string.Empty)}"));
        foreach ((string name, long streamSize) in streams)
        {
            if (name.Length > 0)
            {
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"s {streamSize,12} {id,8} {"",19} {TextEscaping.Escape(path)}:{TextEscaping.Escape(name)}"));
            }
        }
    }
}
