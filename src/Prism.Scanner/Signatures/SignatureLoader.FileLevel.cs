namespace Prism.Scanner.Signatures;

/// <summary>
/// The .ldb subsignatures that run over the whole file once the body patterns have: PCRE
/// (<see cref="PcreSubsignature"/>) and byte compare (<see cref="ByteCompareSubsignature"/>).
/// </summary>
internal sealed partial class SignatureLoader
{
    /// <summary>PCRE subsignatures in database order (the order clamscan runs them in).</summary>
    public List<PcreSubsignature> Pcres { get; } = [];

    public List<ByteCompareSubsignature> ByteCompares { get; } = [];

    /// <summary>
    /// Parses <paramref name="text"/> into <paramref name="pcres"/> or <paramref name="byteCompares"/> when it is a
    /// PCRE or byte-compare subsignature (ClamAV's order of tests: macro '$' first, then '/', then '(' with two '#');
    /// false when it is neither.
    /// </summary>
    private static bool TryParseFileLevelSubsignature(
        string text, int target, int index, int logical, List<PcreSubsignature> pcres, List<ByteCompareSubsignature> byteCompares)
    {
        if (text.StartsWith('$'))
        {
            return false;
        }

        if (PcreSubsignature.IsPcre(text))
        {
            PcreSubsignature pcre = PcreSubsignature.Parse(text, logical, index);
            if (pcre.Offset.IsExecutableRelative && target is not (1 or 6 or 9))
            {
                throw new FormatException($"offset {pcre.Offset} needs an executable target type (1, 6 or 9), not {target}");
            }

            pcres.Add(pcre);
            return true;
        }

        if (ByteCompareSubsignature.IsByteCompare(text))
        {
            byteCompares.Add(ByteCompareSubsignature.Parse(text, logical, index));
            return true;
        }

        return false;
    }

    /// <summary>Keeps the PCRE and byte-compare subsignatures of kept logical signatures, renumbered by <paramref name="newIndex"/>.</summary>
    private void RenumberFileLevelSubsignatures(int[] newIndex)
    {
        List<PcreSubsignature> pcres = [.. Pcres.Where(p => newIndex[p.Logical] >= 0).Select(p => p.WithLogical(newIndex[p.Logical]))];
        Pcres.Clear();
        Pcres.AddRange(pcres);
        List<ByteCompareSubsignature> byteCompares = [.. ByteCompares.Where(b => newIndex[b.Logical] >= 0).Select(b => b.WithLogical(newIndex[b.Logical]))];
        ByteCompares.Clear();
        ByteCompares.AddRange(byteCompares);
    }
}
