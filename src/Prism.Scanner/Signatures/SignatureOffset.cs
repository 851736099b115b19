using System.Globalization;

namespace Prism.Scanner.Signatures;

/// <summary>Where a body signature may start (ndb field 3): "*", "n", "n,maxshift", "EOF-n" or "EOF-n,maxshift".</summary>
internal readonly record struct SignatureOffset(SignatureOffsetKind Kind, long Value, long MaxShift)
{
    public static readonly SignatureOffset Any = new(SignatureOffsetKind.Any, 0, 0);

    /// <summary>
    /// Throws <see cref="FormatException"/> for malformed text, <see cref="NotSupportedException"/> for the
    /// executable-relative forms (EP+n, Sx+n, SEx, SL+n) and macro offsets.
    /// </summary>
    public static SignatureOffset Parse(string text)
    {
        if (text == "*")
        {
            return Any;
        }

        // EP+n/EP-n (entry point), Sx+n, SEx, SL+n (sections), VI (version info) and $n$ macros need a parsed executable.
        if (text.StartsWith("EP", StringComparison.Ordinal) || text.StartsWith('S') || text.StartsWith("VI", StringComparison.Ordinal)
            || text.StartsWith('$'))
        {
            throw new NotSupportedException($"offset {text} (executable-relative or macro) is not supported");
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
