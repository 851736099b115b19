namespace Prism.Disks.Ntfs;

/// <summary>
/// A plain file as a walk's record unit leaves it: what its <see cref="NtfsFileEntry"/> would hold, as fields. Plain: a
/// base record in use, not a directory, without $ATTRIBUTE_LIST or $REPARSE_POINT, with at most one $DATA attribute and
/// that one unnamed (nearly every file). Its stream was checked as <see cref="NtfsStreamSource.Validate(NtfsAttribute, int, string?, long)"/> checks one.
/// </summary>
internal struct PlainFile
{
    public long RecordNumber;
    public ushort SequenceNumber;
    public ushort LinkCount;
    public long ParentRecordNumber;

    /// <summary>From $STANDARD_INFORMATION, or the directory entry's copy of the times when the record has none.</summary>
    public StandardInformation Times;

    public bool HasStream;

    /// <summary>The unnamed $DATA attribute, when <see cref="HasStream"/>.</summary>
    public AttributeLayout Stream;
}
