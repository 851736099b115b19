using System.Globalization;

namespace Prism.Scanner.Signatures;

/// <summary>
/// Where a body signature may start (ndb field 3): "*", "n", "EOF-n", and for executables "EP+n", "EP-n", "Sx+n",
/// "SL+n", "SEx"; every form but "*" may add ",maxshift". <paramref name="Value"/> is n (negative for EP-n),
/// <paramref name="Section"/> is x.
/// </summary>
internal readonly record struct SignatureOffset(SignatureOffsetKind Kind, long Value, long MaxShift, int Section = 0)
{
    public static readonly SignatureOffset Any = new(SignatureOffsetKind.Any, 0, 0);

    /// <summary>True for the forms that need a parsed executable (EP±n, Sx+n, SL+n, SEx).</summary>
    public bool IsExecutableRelative => Kind is SignatureOffsetKind.EntryPoint or SignatureOffsetKind.SectionStart
        or SignatureOffsetKind.LastSectionStart or SignatureOffsetKind.WholeSection;

    /// <summary>
    /// Throws <see cref="FormatException"/> for malformed text, <see cref="NotSupportedException"/> for "VI" (version
    /// information) and <see cref="MacroOffsetException"/> for "$n$" macros.
    /// </summary>
    public static SignatureOffset Parse(string text)
    {
        if (text == "*")
        {
            return Any;
        }

        // $n$: an offset taken from logical-signature macro group n. clamscan accepts "$" and a digit (the rest is not
        // checked) on any target and rejects other "$" forms (verified with ClamAV 1.4.6).
        if (text.StartsWith('$'))
        {
            if (text.Length < 2 || !char.IsAsciiDigit(text[1]))
            {
                throw new FormatException($"invalid macro offset '{text}'");
            }

            throw new MacroOffsetException($"macro offset {text} (logical signature macro groups) is not supported");
        }

        string body = text;
        long shift = 0;
        int comma = body.IndexOf(',', StringComparison.Ordinal);
        if (comma >= 0)
        {
            shift = ParseNumber(body[(comma + 1)..], text);
            body = body[..comma];
        }

        // Executable-relative forms; like ClamAV, an empty number reads as 0 and "Sx+n" ignores what follows n.
        if (body.StartsWith("EP+", StringComparison.Ordinal) || body.StartsWith("EP-", StringComparison.Ordinal))
        {
            long n = ParseClamNumber(body[3..], text);
            return new SignatureOffset(SignatureOffsetKind.EntryPoint, body[2] == '-' ? -n : n, shift);
        }

        if (body.StartsWith("SE", StringComparison.Ordinal))
        {
            return new SignatureOffset(SignatureOffsetKind.WholeSection, 0, shift, (int)Math.Min(int.MaxValue, ParseClamNumber(body[2..], text)));
        }

        if (body.StartsWith("SL+", StringComparison.Ordinal))
        {
            return new SignatureOffset(SignatureOffsetKind.LastSectionStart, ParseClamNumber(body[3..], text), shift);
        }

        if (body.StartsWith('S'))
        {
            int plus = body.IndexOf('+', StringComparison.Ordinal);
            int end = plus + 1;
            while (end < body.Length && char.IsAsciiDigit(body[end]))
            {
                end++;
            }

            if (plus < 2 || end == plus + 1 || !body[1..plus].All(char.IsAsciiDigit)
                || !int.TryParse(body[1..plus], NumberStyles.None, CultureInfo.InvariantCulture, out int section))
            {
                throw new FormatException($"invalid offset '{text}'");
            }

            return new SignatureOffset(SignatureOffsetKind.SectionStart, ParseNumber(body[(plus + 1)..end], text), shift, section);
        }

        if (text.StartsWith("VI", StringComparison.Ordinal))
        {
            throw new NotSupportedException($"offset {text} (PE version information) is not supported");
        }

        if (body.StartsWith("EOF-", StringComparison.Ordinal))
        {
            return new SignatureOffset(SignatureOffsetKind.FromEnd, ParseNumber(body[4..], text), shift);
        }

        return new SignatureOffset(SignatureOffsetKind.Absolute, ParseNumber(body, text), shift);
    }

    /// <summary>
    /// Bounds of the match start for a file of <paramref name="fileLength"/> bytes (null while unknown) and executable
    /// layout <paramref name="pe"/> (null when the file is no parsed PE: executable-relative offsets then match nothing).
    /// </summary>
    public (long Min, long Max) StartRange(long? fileLength, PeLayout? pe = null)
    {
        if (!IsExecutableRelative)
        {
            return StartRange(fileLength);
        }

        if (pe is null)
        {
            return (1, 0);
        }

        long min;
        long max;
        switch (Kind)
        {
            case SignatureOffsetKind.EntryPoint:
                min = pe.EntryPoint + Value;
                max = min + MaxShift;
                break;
            case SignatureOffsetKind.LastSectionStart when pe.Sections.Count > 0:
                min = pe.Sections[^1].RawOffset + Value;
                max = min + MaxShift;
                break;
            case SignatureOffsetKind.SectionStart when Section < pe.Sections.Count:
                min = pe.Sections[Section].RawOffset + Value;
                max = min + MaxShift;
                break;
            case SignatureOffsetKind.WholeSection when Section < pe.Sections.Count:
                min = pe.Sections[Section].RawOffset;
                max = min + pe.Sections[Section].RawSize + MaxShift;
                break;
            default:
                return (1, 0);
        }

        // ClamAV computes offsets in 32 bits: EP-n before the file's start wraps to an offset no file reaches.
        return min < 0 || min > uint.MaxValue ? (1, 0) : (min, max);
    }

    /// <summary>Bounds of the match start for a file of <paramref name="fileLength"/> bytes (null while unknown); not for executable-relative forms.</summary>
    public (long Min, long Max) StartRange(long? fileLength) => Kind switch
    {
        SignatureOffsetKind.Absolute => (Value, Value + MaxShift),
        // Like ClamAV, EOF-n in a file shorter than n bytes is no valid offset at all, even if a shift would reach 0.
        SignatureOffsetKind.FromEnd when fileLength is long n => Value > n ? (1, 0) : (n - Value, n - Value + MaxShift),
        _ => (0, long.MaxValue),
    };

    /// <summary>Canonical text, as ClamAV writes it.</summary>
    public override string ToString()
    {
        string shift = MaxShift > 0 ? "," + MaxShift.ToString(CultureInfo.InvariantCulture) : string.Empty;
        string n = Math.Abs(Value).ToString(CultureInfo.InvariantCulture);
        string x = Section.ToString(CultureInfo.InvariantCulture);
        return Kind switch
        {
            SignatureOffsetKind.Any => "*",
            SignatureOffsetKind.FromEnd => "EOF-" + Value.ToString(CultureInfo.InvariantCulture) + shift,
            SignatureOffsetKind.EntryPoint => (Value < 0 ? "EP-" : "EP+") + n + shift,
            SignatureOffsetKind.SectionStart => "S" + x + "+" + n + shift,
            SignatureOffsetKind.LastSectionStart => "SL+" + n + shift,
            SignatureOffsetKind.WholeSection => "SE" + x + shift,
            _ => Value.ToString(CultureInfo.InvariantCulture) + shift,
        };
    }

    private static long ParseNumber(string s, string whole)
    {
        if (!long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out long n))
        {
            throw new FormatException($"bad offset '{whole}'");
        }

        return n;
    }

    /// <summary>Digits only, as ClamAV's cli_isnumber; the empty string reads as 0 (atoi).</summary>
    private static long ParseClamNumber(string s, string whole) => s.Length == 0 ? 0 : ParseNumber(s, whole);
}

/// <summary>How a <see cref="SignatureOffset"/> is anchored.</summary>
internal enum SignatureOffsetKind
{
    /// <summary>Anywhere ("*").</summary>
    Any,

    /// <summary>From the start of the file ("n", "n,maxshift").</summary>
    Absolute,

    /// <summary>From the end of the file ("EOF-n", "EOF-n,maxshift").</summary>
    FromEnd,

    /// <summary>From the executable's entry point ("EP+n", "EP-n").</summary>
    EntryPoint,

    /// <summary>From the start of section x's data ("Sx+n").</summary>
    SectionStart,

    /// <summary>From the start of the last section's data ("SL+n").</summary>
    LastSectionStart,

    /// <summary>Anywhere in section x's data ("SEx").</summary>
    WholeSection,
}

/// <summary>A "$n$" macro offset: valid for ClamAV on every target type, not implemented here.</summary>
internal sealed class MacroOffsetException(string message) : NotSupportedException(message);
