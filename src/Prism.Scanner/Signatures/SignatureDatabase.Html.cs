namespace Prism.Scanner.Signatures;

/// <summary>What the scan of HTML normalisations (<see cref="HtmlNormalizer"/>) needs from the database, derived once from its signatures.</summary>
public sealed partial class SignatureDatabase
{
    private bool? _htmlRescan;

    /// <summary>
    /// True when a file's HTML normalisations can match something: a body or logical signature of target type 0 or 3,
    /// or a file hash signature (clamscan hashes each normalised buffer, not an HTML file).
    /// </summary>
    internal bool HtmlRescan => _htmlRescan ??=
        Bodies.Any(b => b.Target is 0 or 3) || Logicals.Any(l => l.Target is 0 or 3)
        || Md5.Count + Md5.AllowedCount + Sha1.Count + Sha1.AllowedCount + Sha256.Count + Sha256.AllowedCount > 0;
}
