using Prism.Disks.IO;

namespace Prism.Disks.Ntfs;

/// <summary>Where one stream's content lies: clusters of its allocated runs, or its value inside the MFT record when resident.</summary>
/// <param name="Name">Stream name; empty for the unnamed stream.</param>
/// <param name="IsResident">True when <paramref name="Ranges"/> is the value's location inside an MFT record.</param>
/// <param name="Ranges">Byte ranges in stream order; sparse runs contribute nothing.</param>
public sealed record NtfsStreamExtents(string Name, bool IsResident, IReadOnlyList<ByteRange> Ranges);
