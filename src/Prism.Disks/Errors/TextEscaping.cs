using System.Globalization;
using System.Text;

namespace Prism.Disks.Errors;

/// <summary>
/// Makes text read from a disk, a database or a signature file safe to print: control characters (C0, DEL, C1),
/// line and paragraph separators and Unicode bidi controls become <c>\uXXXX</c>, so such text can neither move the
/// cursor, forge extra output lines nor reorder what a terminal shows. Public so that every front end (CLI, cmdlets,
/// scanner reports) escapes with the same rule.
/// </summary>
public static class TextEscaping
{
    /// <summary>True for characters that must not reach a terminal or a line-oriented listing unescaped.</summary>
    /// <param name="c">The UTF-16 code unit.</param>
    public static bool IsUnsafe(char c) =>
        c < 0x20 || c is >= '\u007F' and <= '\u009F'
        || c is >= '\u202A' and <= '\u202E' || c is >= '\u2066' and <= '\u2069'
        || c is '\u200E' or '\u200F' or '\u061C' or '\u2028' or '\u2029';

    /// <summary>Index of the first character <see cref="IsUnsafe"/> rejects or of an unpaired surrogate, else -1.</summary>
    /// <param name="text">The text to inspect.</param>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public static int IndexOfUnsafe(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (IsUnsafe(c))
            {
                return i;
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Returns <paramref name="text"/> with every unsafe character (and unpaired surrogate) written as <c>\uXXXX</c>
    /// (lower-case hex, e.g. ESC as <c>\u001b</c>); the same string when there is none. Null gives "".
    /// </summary>
    /// <param name="text">Text from a disk, database or file.</param>
    public static string Escape(string? text)
    {
        if (text is null)
        {
            return "";
        }

        int first = IndexOfUnsafe(text);
        if (first < 0)
        {
            return text;
        }

        var sb = new StringBuilder(text.Length + 16);
        sb.Append(text, 0, first);
        for (int i = first; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(c).Append(text[i + 1]);
                i++;
            }
            else if (IsUnsafe(c) || char.IsSurrogate(c))
            {
                sb.Append(EscapeChar(c));
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    /// <summary>One character as <c>\uXXXX</c> (lower-case hex).</summary>
    /// <param name="c">The UTF-16 code unit.</param>
    public static string EscapeChar(char c) => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture);
}
