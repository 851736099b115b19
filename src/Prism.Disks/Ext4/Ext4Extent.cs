namespace Prism.Disks.Ext4;

/// <summary>
/// One range of a file's sector map: <see cref="Length"/> bytes of content at <see cref="FileOffset"/>, lying at
/// <see cref="VolumeOffset"/> bytes from the volume start (add the partition's offset for a disk offset).
/// </summary>
/// <param name="FileOffset">Offset of the range inside the file's content.</param>
/// <param name="Length">Length in bytes; the last range ends at the file size.</param>
/// <param name="VolumeOffset">Where the bytes lie in the volume; -1 for a hole.</param>
/// <param name="Kind">Data, unwritten, hole or inline.</param>
public readonly record struct Ext4Extent(long FileOffset, long Length, long VolumeOffset, Ext4ExtentKind Kind)
{
    /// <summary>The first content byte past the range.</summary>
    public long FileEnd => FileOffset + Length;
}
