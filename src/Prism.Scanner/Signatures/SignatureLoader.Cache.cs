namespace Prism.Scanner.Signatures;

/// <summary>
/// What the compiled cache (<see cref="SignatureCache"/>) keeps of a load: the frozen hash sets as arrays and the
/// signatures as they are after <see cref="Finish"/> (ignore lists applied), restored without parsing database text.
/// </summary>
internal sealed partial class SignatureLoader
{
    private bool _hashSetsRestored;

    /// <summary>The six hash sets in the cache's order.</summary>
    public HashSignatureSet[] HashSets => [Md5, Sha1, Sha256, SectionMd5, SectionSha1, SectionSha256];

    /// <summary>A finished loader from cached parts: the hash sets and signatures as stored, and the counts and issues of the original load.</summary>
    public static SignatureLoader Restore(
        HashSignatureSet[] hashSets, CachedSignatures signatures, IReadOnlyList<SignatureTypeCount> counts, IReadOnlyList<SignatureIssue> issues)
    {
        var loader = new SignatureLoader
        {
            Md5 = hashSets[0],
            Sha1 = hashSets[1],
            Sha256 = hashSets[2],
            SectionMd5 = hashSets[3],
            SectionSha1 = hashSets[4],
            SectionSha256 = hashSets[5],
            _hashSetsRestored = true,
        };
        loader.Bodies.AddRange(signatures.Bodies);
        loader.Logicals.AddRange(signatures.Logicals);
        loader.Pcres.AddRange(signatures.Pcres);
        loader.ByteCompares.AddRange(signatures.ByteCompares);
        loader.Finish();
        foreach (SignatureTypeCount c in counts)
        {
            loader._counts[c.Type] = [c.Loaded, c.NotLoaded, c.Ignored];
        }

        loader.Issues.AddRange(issues);
        return loader;
    }
}
