namespace Prism.Disks.Vhdx;

/// <summary>Fixed positions, sizes and GUIDs of the VHDX format (MS-VHDX 2.1-2.6).</summary>
internal static class VhdxLayout
{
    public const long KiB = 1024;
    public const long MiB = 1024 * 1024;
    public const long FileIdentifierOffset = 0;
    public const long Header1Offset = 64 * KiB;
    public const long Header2Offset = 128 * KiB;
    public const long RegionTable1Offset = 192 * KiB;
    public const long RegionTable2Offset = 256 * KiB;
    public const long HeaderAreaSize = 1 * MiB;
    public const int RegionTableSize = 64 * 1024;
    public const int MetadataTableSize = 64 * 1024;
    public const int LogSectorSize = 4096;
    public const long MaxVirtualSize = 64L * 1024 * 1024 * 1024 * 1024;
    public const long MinBlockSize = 1 * MiB;
    public const long MaxBlockSize = 256 * MiB;
    public const long SectorsPerChunk = 1L << 23;

    /// <summary>Upper bound for any file offset we accept (FileOffsetMB is 44 bits; we stop at 1 EiB to stay in a long).</summary>
    public const long MaxFileOffset = 1L << 60;

    public static readonly Guid BatRegion = new("2DC27766-F623-4200-9D64-115E9BFD4A08");
    public static readonly Guid MetadataRegion = new("8B7CA206-4790-4B9A-B8FE-575F050F886E");

    public static readonly Guid FileParametersItem = new("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
    public static readonly Guid VirtualDiskSizeItem = new("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
    public static readonly Guid VirtualDiskIdItem = new("BECA12AB-B2E6-4523-93EF-C309E000C746");
    public static readonly Guid LogicalSectorSizeItem = new("8141BF1D-A96F-4709-BA47-F233A8FAAB5F");
    public static readonly Guid PhysicalSectorSizeItem = new("CDA348C7-445D-4471-9CC9-E9885251C556");
    public static readonly Guid ParentLocatorItem = new("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");
    public static readonly Guid IncompleteFileItem = new("71CC85F0-1B69-4E28-9558-C3BF83AE75D3");
    public static readonly Guid VhdxParentLocatorType = new("B04AEFB7-D19E-4A81-B789-25B8E9445913");

    public static long RoundUp(long value, long alignment) => (value + alignment - 1) / alignment * alignment;

    public static long CeilDiv(long value, long divisor) => (value + divisor - 1) / divisor;
}
