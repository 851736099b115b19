namespace Prism.Disks.Ntfs;

/// <summary>
/// A $I30 index entry: the file reference and what the reader uses of its $FILE_NAME key. The name lies in the
/// <see cref="IndexEntryList"/> holding the entry (<see cref="IndexEntryList.Name"/>).
/// </summary>
internal readonly record struct IndexEntry(long RecordNumber, ushort SequenceNumber, long ParentRecordNumber,
    StandardInformation Times, int NameStart, int NameLength);
