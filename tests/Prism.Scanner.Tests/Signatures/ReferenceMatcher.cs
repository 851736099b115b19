using System.Text;
using System.Text.RegularExpressions;

namespace Prism.Scanner.Tests.Signatures;

/// <summary>
/// An obviously-correct (and slow) matcher for generated signatures: each signature is also written as a .NET regex
/// over the file's bytes as Latin-1 characters, and its offset becomes a leading "\A.{min,max}".
/// </summary>
internal static class ReferenceMatcher
{
    /// <summary>A generated signature: its ndb hex text, the equivalent regex, and how it is anchored.</summary>
    public sealed record Signature(string Name, string Hex, string Regex, string OffsetText, long? Absolute, long? FromEnd, long Shift)
    {
        public string NdbLine => $"{Name}:0:{OffsetText}:{Hex}";
    }

    public static bool Matches(Signature s, byte[] data)
    {
        string text = Encoding.Latin1.GetString(data);
        long lo, hi;
        if (s.Absolute is long n)
        {
            (lo, hi) = (n, n + s.Shift);
        }
        else if (s.FromEnd is long e)
        {
            if (e > data.Length)
            {
                return false;
            }

            (lo, hi) = (data.Length - e, data.Length - e + s.Shift);
        }
        else
        {
            return new Regex(s.Regex, Options).IsMatch(text);
        }

        // Anchored: the match must start at one of the allowed offsets.
        var anchored = new Regex(@"\A(?:" + s.Regex + ")", Options);
        for (long start = Math.Max(0, lo); start <= Math.Min(hi, data.Length); start++)
        {
            if (anchored.IsMatch(text[(int)start..]))
            {
                return true;
            }
        }

        return false;
    }

    private const RegexOptions Options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;
}
