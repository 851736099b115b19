namespace Prism.Scanner.Signatures;

/// <summary>An extended (ndb) body signature: name, target type (0 any file, 1 PE), offset and one or more '*'-separated parts.</summary>
internal sealed class BodySignature
{
    public BodySignature(string name, int target, SignatureOffset offset, PatternSegment[] segments)
    {
        Name = name;
        Target = target;
        Offset = offset;
        Segments = segments;
        foreach (PatternSegment s in segments)
        {
            MaxSegmentSpan = Math.Max(MaxSegmentSpan, s.MaxSpan);
        }
    }

    public string Name { get; }

    /// <summary>ClamAV target type: 0 matches any file, 1 only files typed as MS executables (starting with "MZ").</summary>
    public int Target { get; }

    public SignatureOffset Offset { get; }

    public PatternSegment[] Segments { get; }

    public int MaxSegmentSpan { get; }

    /// <summary>True when the signature has '*' or {n-}: its parts can be arbitrarily far apart.</summary>
    public bool IsUnbounded => Segments.Length > 1;

    /// <summary>ClamAV-syntax line with gaps normalised to {n-m} and part separators to '*' or {n-}.</summary>
    public string ToCanonical() =>
        $"ndb:{Name}:{Target}:{Offset}:" + string.Concat(Segments.Select((s, i) =>
            (i == 0 ? string.Empty : s.MinDistanceFromPrevious > 0 ? $"{{{s.MinDistanceFromPrevious}-}}" : "*") + s.Canonical));
}
