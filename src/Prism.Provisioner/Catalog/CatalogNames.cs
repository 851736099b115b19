using Prism.Disks.Errors;

namespace Prism.Provisioner.Catalog;

/// <summary>
/// The rule for names the catalog stores and prints (golden, clone, owner): printable, so that <c>clone list</c> and
/// <c>golden list</c> lines cannot be forged with a newline, moved with a terminal escape or reordered with a bidi
/// override.
/// </summary>
public static class CatalogNames
{
    /// <summary>Longest accepted name, in UTF-16 code units.</summary>
    public const int MaxLength = 200;

    /// <summary>
    /// Throws unless <paramref name="name"/> can name a golden or clone: not blank, at most <see cref="MaxLength"/>
    /// characters, no control characters (C0, DEL, C1), no bidi controls (U+202A-U+202E, U+2066-U+2069, U+200E,
    /// U+200F, U+061C), no line separators, no path separators or characters invalid in file names, no leading '.'.
    /// </summary>
    /// <param name="name">The proposed name.</param>
    /// <param name="what">What the name is for, in the message ("clone name", "golden name").</param>
    /// <exception cref="ArgumentException">The name breaks one of the rules; the message shows it escaped.</exception>
    public static void Validate(string name, string what)
    {
        ValidatePrintable(name, what);
        if (name.IndexOfAny(Path.GetInvalidFileNameChars()) is int bad and >= 0 || (bad = name.IndexOfAny(['/', '\\'])) >= 0)
        {
            throw Invalid(name, what, $"it contains '{name[bad]}' (no path separators)");
        }

        if (name.StartsWith('.'))
        {
            throw Invalid(name, what, "it starts with '.'");
        }
    }

    /// <summary>
    /// Throws unless <paramref name="owner"/> is a printable owner: the <see cref="Validate"/> rules except the
    /// file-name ones, since an owner is never a file name and is often an account such as <c>CONTOSO\alice</c>.
    /// </summary>
    /// <param name="owner">The owner recorded with new clones.</param>
    /// <exception cref="ArgumentException">The owner is blank, too long or not printable.</exception>
    public static void ValidateOwner(string owner) => ValidatePrintable(owner, "owner");

    private static void ValidatePrintable(string name, string what)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(what);
        if (string.IsNullOrWhiteSpace(name))
        {
            throw Invalid(name, what, "it is empty");
        }

        if (name.Length > MaxLength)
        {
            throw Invalid(name, what, $"it has {name.Length} characters, at most {MaxLength} are allowed");
        }

        int i = TextEscaping.IndexOfUnsafe(name);
        if (i >= 0)
        {
            throw Invalid(name, what,
                $"character {i} is {TextEscaping.EscapeChar(name[i])} (control characters and bidi overrides are not allowed)");
        }
    }

    private static ArgumentException Invalid(string name, string what, string reason) =>
        new($"'{TextEscaping.Escape(name)}' is not a usable {what}: {reason} (use letters, digits, '-', '_')", what);
}
