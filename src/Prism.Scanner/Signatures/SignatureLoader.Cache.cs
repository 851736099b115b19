namespace Prism.Scanner.Signatures;

/// <summary>
/// What the compiled cache (<see cref="SignatureCache"/>) keeps of a load: the frozen hash sets as arrays, and the
/// source lines of every other signature (ndb, ldb, ignore lists and whatever other type the text path reads), which
/// are parsed again when the cache is read, so any signature kind the text path knows round-trips unchanged.
/// </summary>
internal sealed partial class SignatureLoader
{
    private List<(string Type, string Line)>? _recordedLines;
    private bool _hashSetsRestored;

    /// <summary>The loaded non-hash lines, in load order (empty unless <see cref="RecordSourceLines"/> was called first).</summary>
    public IReadOnlyList<(string Type, string Line)> RecordedLines => _recordedLines ?? [];

    /// <summary>Keeps every non-hash line loaded from now on, for the compiled cache.</summary>
    public void RecordSourceLines() => _recordedLines ??= [];

    /// <summary>The six hash sets in the cache's order.</summary>
    public HashSignatureSet[] HashSets => [Md5, Sha1, Sha256, SectionMd5, SectionSha1, SectionSha256];

    /// <summary>
    /// Rebuilds a finished loader from cached parts: the hash sets as stored, the recorded lines parsed again in their
    /// order (then <see cref="Finish"/>), and the counts and issues of the original load. A line that no longer
    /// parses as it did throws <see cref="InvalidDataException"/>: the cache is then not used.
    /// </summary>
    public static SignatureLoader Restore(
        HashSignatureSet[] hashSets, IReadOnlyList<(string Type, string Line)> lines, IReadOnlyList<SignatureTypeCount> counts,
        IReadOnlyList<SignatureIssue> issues)
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
        for (int i = 0; i < lines.Count; i++)
        {
            (string type, string line) = lines[i];
            if (!s_readTypes.Contains(type))
            {
                throw new InvalidDataException($"cached line {i}: type '{type}' is not read by this engine");
            }

            try
            {
                loader.ParseLine(type, line);
            }
            catch (Exception e) when (e is FormatException or NotSupportedException or IgnoredSignatureException)
            {
                throw new InvalidDataException($"cached {type} line {i} no longer loads: {e.Message}", e);
            }
        }

        loader.Finish();
        loader._counts.Clear();
        foreach (SignatureTypeCount c in counts)
        {
            loader._counts[c.Type] = [c.Loaded, c.NotLoaded, c.Ignored];
        }

        loader.Issues.Clear();
        loader.Issues.AddRange(issues);
        return loader;
    }
}
