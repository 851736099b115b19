using System.Collections.Immutable;
using Prism.Disks.IO;

namespace Prism.Disks.Ntfs;

/// <summary>One $DATA stream of a file in an <see cref="NtfsWalkSnapshot"/>: its name, size and where its content lies.</summary>
public sealed class NtfsSnapshotStream
{
    internal NtfsSnapshotStream(string name, long size, bool isResident, ImmutableArray<ByteRange> ranges)
    {
        Name = name;
        Size = size;
        IsResident = isResident;
        Ranges = ranges;
    }

    /// <summary>Stream name; empty for the unnamed stream.</summary>
    public string Name { get; }

    /// <summary>Logical size in bytes.</summary>
    public long Size { get; }

    /// <summary>True when the content is stored inside the MFT record.</summary>
    public bool IsResident { get; }

    /// <summary>Where the content lies on the underlying disk (as <see cref="NtfsStreamExtents.Ranges"/>).</summary>
    public ImmutableArray<ByteRange> Ranges { get; }

    /// <inheritdoc />
    public override string ToString() => $"{(Name.Length == 0 ? "::$DATA" : Name)} {Size} bytes{(IsResident ? " resident" : "")} [{string.Join(' ', Ranges)}]";
}
