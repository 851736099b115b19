using System.Collections.Immutable;
using Prism.Disks.Errors;

namespace Prism.Disks.Ntfs;

/// <summary>A file's base record plus the extension records its $ATTRIBUTE_LIST points to, with attributes merged.</summary>
internal sealed class NtfsFile
{
    public NtfsFile(FileRecord baseRecord, ImmutableArray<FileRecord> extensions, ImmutableArray<NtfsAttribute> attributes)
    {
        Base = baseRecord;
        Extensions = extensions;
        Attributes = attributes;
    }

    public FileRecord Base { get; }

    public long RecordNumber => Base.RecordNumber;

    public ImmutableArray<FileRecord> Extensions { get; }

    /// <summary>Attributes of the base and extension records (the $ATTRIBUTE_LIST itself included; kept types only, see <see cref="FileRecord.IsKept"/>).</summary>
    public ImmutableArray<NtfsAttribute> Attributes { get; }

    public NtfsAttribute? First(NtfsAttributeType type)
    {
        foreach (NtfsAttribute a in Attributes)
        {
            if (a.Type == type)
            {
                return a;
            }
        }

        return null;
    }

    /// <summary>Distinct stream names of the attributes of <paramref name="type"/>, sorted ordinally (unnamed first).</summary>
    public List<string> StreamNames(NtfsAttributeType type)
    {
        var names = new List<string>(1);
        foreach (NtfsAttribute a in Attributes)
        {
            if (a.Type == type && !names.Contains(a.Name))
            {
                names.Add(a.Name);
            }
        }

        if (names.Count > 1)
        {
            names.Sort(StringComparer.Ordinal);
        }

        return names;
    }

    /// <summary>
    /// The stream of <paramref name="type"/> named <paramref name="name"/>: its one attribute, or its pieces (sorted by
    /// start VCN, which must be contiguous) merged into one; null when the file has none.
    /// Throws <see cref="NtfsFormatException"/> on overlapping, missing or mixed resident/non-resident pieces.
    /// </summary>
    public NtfsAttribute? GetStream(NtfsAttributeType type, string name, string? volume)
    {
        // Nearly every stream is one attribute: find it without building a list of pieces.
        NtfsAttribute? single = null;
        bool several = false;
        foreach (NtfsAttribute a in Attributes)
        {
            if (a.Type == type && string.Equals(a.Name, name, StringComparison.Ordinal))
            {
                several = single is not null;
                single = a;
                if (several)
                {
                    break;
                }
            }
        }

        if (single is null)
        {
            return null;
        }

        if (!several)
        {
            if (!single.IsResident && single.StartVcn != 0)
            {
                throw FileRecord.Error(volume, single.RecordNumber, single.RecordOffset,
                    $"piece of stream 0x{(uint)type:X} \"{name}\" starts at VCN {single.StartVcn}, expected 0");
            }

            return single;
        }

        var pieces = new List<NtfsAttribute>();
        foreach (NtfsAttribute a in Attributes)
        {
            if (a.Type == type && string.Equals(a.Name, name, StringComparison.Ordinal))
            {
                pieces.Add(a);
            }
        }

        pieces.Sort((x, y) => x.StartVcn.CompareTo(y.StartVcn));
        return Merge(pieces, type, name, volume);
    }

    // Two or more pieces sorted by start VCN; they must follow each other without gaps or overlaps. The first piece
    // gives the sizes and flags.
    private static NtfsAttribute Merge(List<NtfsAttribute> pieces, NtfsAttributeType type, string name, string? volume)
    {
        var runs = ImmutableArray.CreateBuilder<DataRun>();
        long nextVcn = 0;
        foreach (NtfsAttribute p in pieces)
        {
            if (p.IsResident || p.StartVcn != nextVcn)
            {
                throw FileRecord.Error(volume, p.RecordNumber, p.RecordOffset,
                    $"piece of stream 0x{(uint)type:X} \"{name}\" starts at VCN {p.StartVcn}, expected {nextVcn}"
                    + (p.IsResident ? " (resident piece in a multi-piece stream)" : string.Empty));
            }

            runs.AddRange(p.Runs);
            nextVcn = p.LastVcn + 1;
        }

        NtfsAttribute head = pieces[0];
        return new NtfsAttribute
        {
            Type = type,
            Name = name,
            Flags = head.Flags,
            RecordNumber = head.RecordNumber,
            RecordSequence = head.RecordSequence,
            RecordOffset = head.RecordOffset,
            IsResident = false,
            StartVcn = 0,
            LastVcn = nextVcn - 1,
            CompressionUnitLog2 = head.CompressionUnitLog2,
            AllocatedSize = head.AllocatedSize,
            DataSize = head.DataSize,
            InitializedSize = head.InitializedSize,
            Runs = runs.ToImmutable(),
        };
    }
}
