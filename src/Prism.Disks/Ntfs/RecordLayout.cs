namespace Prism.Disks.Ntfs;

/// <summary>
/// A file record as <see cref="FileRecord.Read"/> checked and laid it out: header fields, the decoded
/// $STANDARD_INFORMATION and the kept attributes as positions into the fixed-up record. One layout serves record after
/// record; nothing in it is valid after the next <see cref="FileRecord.Read"/>.
/// </summary>
internal sealed class RecordLayout
{
    private AttributeLayout[] _attributes = new AttributeLayout[4];

    public long RecordNumber { get; private set; }

    public ushort SequenceNumber { get; private set; }

    public ushort LinkCount { get; private set; }

    public ushort Flags { get; private set; }

    /// <summary>The base record's number for an extension record; 0 for a base record.</summary>
    public long BaseRecordNumber { get; private set; }

    public bool InUse => (Flags & FileRecord.FlagInUse) != 0;

    public bool IsDirectory => (Flags & FileRecord.FlagDirectory) != 0;

    public StandardInformation? StandardInformation { get; set; }

    /// <summary>Number of kept attributes.</summary>
    public int Count { get; private set; }

    public ref readonly AttributeLayout this[int index] => ref _attributes[index];

    /// <summary>Starts laying out a record: header fields set, no attributes.</summary>
    public void Start(long recordNumber, ushort sequence, ushort linkCount, ushort flags, long baseRecord)
    {
        (RecordNumber, SequenceNumber, LinkCount, Flags, BaseRecordNumber) = (recordNumber, sequence, linkCount, flags, baseRecord);
        StandardInformation = null;
        // Slots past Count are not read, and Add overwrites a slot whole: nothing to clear (an old run list stays
        // referenced until its slot is reused).
        Count = 0;
    }

    /// <summary>A new attribute slot at the end.</summary>
    public ref AttributeLayout Add()
    {
        if (Count == _attributes.Length)
        {
            Array.Resize(ref _attributes, 2 * _attributes.Length);
        }

        return ref _attributes[Count++];
    }
}
