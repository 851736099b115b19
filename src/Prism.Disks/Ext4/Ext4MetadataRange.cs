using Prism.Disks.IO;

namespace Prism.Disks.Ext4;

/// <summary>Where one piece of volume-wide metadata lies, in bytes from the volume start.</summary>
/// <param name="Kind">What lies there.</param>
/// <param name="Range">The byte range.</param>
/// <param name="Group">The block group it belongs to (0 for the journal).</param>
public readonly record struct Ext4MetadataRange(Ext4MetadataKind Kind, ByteRange Range, uint Group);
