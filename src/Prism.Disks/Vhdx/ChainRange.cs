namespace Prism.Disks.Vhdx;

/// <summary>A run of virtual bytes and the layer of the chain that serves it (0 = the disk itself, 1 = its parent, ...).</summary>
/// <param name="Offset">Virtual byte offset.</param>
/// <param name="Length">Length in bytes.</param>
/// <param name="Layer">Index into <see cref="VhdxDisk.Chain"/>.</param>
public readonly record struct ChainRange(long Offset, long Length, int Layer)
{
    /// <summary>First byte past the range.</summary>
    public long End => Offset + Length;
}
