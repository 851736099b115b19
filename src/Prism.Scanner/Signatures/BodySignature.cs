namespace Prism.Scanner.Signatures;

/// <summary>An extended (ndb) body signature: name, target type (0 any file, 1 PE), offset and one or more '*'-separated parts.</summary>
internal sealed class BodySignature
{
    public BodySignature(string name, int target, SignatureOffset offset, PatternSegment[] segments, int logical = -1, int subsignature = 0)
    {
        Logical = logical;
        Subsignature = subsignature;
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

    /// <summary>This pattern as a subsignature of the logical signature now at index <paramref name="logical"/>.</summary>
    public BodySignature WithLogical(int logical) => new(Name, Target, Offset, Segments, logical, Subsignature);

    /// <summary>Index of the logical signature this pattern is a subsignature of; -1 for an .ndb signature.</summary>
    public int Logical { get; }

    /// <summary>The subsignature's index in its logical signature.</summary>
    public int Subsignature { get; }

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
