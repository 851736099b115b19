namespace Prism.Scanner.Signatures;

/// <summary>An extended (ndb) body signature: name, target type 0, offset and one or more '*'-separated parts.</summary>
internal sealed class BodySignature
{
    public BodySignature(string name, SignatureOffset offset, PatternSegment[] segments)
    {
        Name = name;
        Offset = offset;
        Segments = segments;
        foreach (PatternSegment s in segments)
        {
            MaxSegmentSpan = Math.Max(MaxSegmentSpan, s.MaxSpan);
        }
    }

    public string Name { get; }

    public SignatureOffset Offset { get; }

    public PatternSegment[] Segments { get; }

    public int MaxSegmentSpan { get; }

    /// <summary>True when the signature has '*' or {n-}: its parts can be arbitrarily far apart.</summary>
    public bool IsUnbounded => Segments.Length > 1;

    /// <summary>ClamAV-syntax line with gaps normalised to {n-m} and part separators to '*' or {n-}.</summary>
    public string ToCanonical() =>
        $"ndb:{Name}:0:{Offset}:" + string.Concat(Segments.Select((s, i) =>
            (i == 0 ? string.Empty : s.MinDistanceFromPrevious > 0 ? $"{{{s.MinDistanceFromPrevious}-}}" : "*") + s.Canonical));
}
