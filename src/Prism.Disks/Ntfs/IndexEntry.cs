namespace Prism.Disks.Ntfs;

/// <summary>A $I30 index entry: a file reference and its $FILE_NAME key.</summary>
internal readonly record struct IndexEntry(long RecordNumber, ushort SequenceNumber, FileNameAttribute Key);
