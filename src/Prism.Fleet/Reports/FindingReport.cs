namespace Prism.Fleet.Reports;

/// <summary>One detection: a file stream (or raw region) of a disk and the signature that matched it.</summary>
/// <param name="Path">Path from the volume root with '/' separators, or "$raw@0x..." for space no file system claims.</param>
/// <param name="Stream">Alternate data stream name, or null for the unnamed data stream.</param>
/// <param name="Signature">Signature name.</param>
/// <param name="Offset">Offset of the match inside the stream, when the engine reports it.</param>
/// <param name="Partition">Partition number of the volume (0 without a partition table or for raw space).</param>
public sealed record FindingReport(string Path, string? Stream, string Signature, long? Offset, int Partition)
{
    /// <summary>For a raw finding, the virtual disk offset of the match, when the engine reports offsets.</summary>
    public long? DiskOffset { get; init; }
}
