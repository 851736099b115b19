using Prism.Disks.IO;

namespace Prism.Disks.Ntfs;

/// <summary>
/// The sector map of one file: where its MFT records and each stream's content lie, in bytes of the underlying disk
/// (volume offsets plus <see cref="NtfsVolume.DiskOffset"/>).
/// </summary>
/// <param name="MftRecords">Byte ranges of the base and extension file records.</param>
/// <param name="Streams">One entry per $DATA stream.</param>
public sealed record NtfsFileExtents(IReadOnlyList<ByteRange> MftRecords, IReadOnlyList<NtfsStreamExtents> Streams);
