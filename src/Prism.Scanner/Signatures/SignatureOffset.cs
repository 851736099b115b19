using System.Globalization;

namespace Prism.Scanner.Signatures;

/// <summary>Where a body signature may start (ndb field 3): "*", "n", "n,maxshift", "EOF-n" or "EOF-n,maxshift".</summary>
internal readonly record struct SignatureOffset(SignatureOffsetKind Kind, long Value, long MaxShift)
{
    public static readonly SignatureOffset Any = new(SignatureOffsetKind.Any, 0, 0);

    /// <summary>
    /// Throws <see cref="FormatException"/> for malformed text, <see cref="NotSupportedException"/> for the
    /// executable-relative forms (EP+n, Sx+n, SEx, SL+n) and <see cref="MacroOffsetException"/> for "$n$" macros.
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

        // EP+n/EP-n (entry point), Sx+n, SEx, SL+n (sections) and VI (version info) need a parsed executable.
        if (text.StartsWith("EP", StringComparison.Ordinal) || text.StartsWith('S') || text.StartsWith("VI", StringComparison.Ordinal))
        {
            throw new NotSupportedException($"offset {text} (executable-relative) is not supported");
        }

        string body = text;
        long shift = 0;
        int comma = body.IndexOf(',', StringComparison.Ordinal);
        if (comma >= 0)
        {
            shift = ParseNumber(body[(comma + 1)..], text);
            body = body[..comma];
        }

        if (body.StartsWith("EOF-", StringComparison.Ordinal))
        {
            return new SignatureOffset(SignatureOffsetKind.FromEnd, ParseNumber(body[4..], text), shift);
        }

        return new SignatureOffset(SignatureOffsetKind.Absolute, ParseNumber(body, text), shift);
    }

    /// <summary>Bounds of the match start for a file of <paramref name="fileLength"/> bytes (null while unknown).</summary>
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
        return Kind switch
        {
            SignatureOffsetKind.Any => "*",
            SignatureOffsetKind.FromEnd => "EOF-" + Value.ToString(CultureInfo.InvariantCulture) + shift,
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
}

/// <summary>A "$n$" macro offset: valid for ClamAV on every target type, not implemented here.</summary>
internal sealed class MacroOffsetException(string message) : NotSupportedException(message);
