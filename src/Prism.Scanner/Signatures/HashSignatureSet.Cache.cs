namespace Prism.Scanner.Signatures;

/// <summary>A frozen set's arrays in the compiled signature cache (<see cref="SignatureCache"/>).</summary>
internal sealed partial class HashSignatureSet
{
    /// <summary>Writes the frozen set: counters, type names, records and names.</summary>
    public void WriteTo(SignatureCacheWriter w)
    {
        if (!_frozen)
        {
            throw new InvalidOperationException("only a frozen hash set is cached");
        }

        w.WriteInt32((int)Kind);
        w.WriteInt32(Count);
        w.WriteInt32(AllowedCount);
        w.WriteInt32(HasAnySize ? 1 : 0);
        w.WriteInt64(MaxSize);
        w.WriteInt32(_typeNames.Count);
        foreach (string t in _typeNames)
        {
            w.WriteString(t);
        }

        w.WriteUInt64Array(_hashes.AsSpan(0, _records * _words));
        w.WriteUInt32Array(_recordSizes.AsSpan(0, _records));
        w.WriteInt32Array(_nameIndices.AsSpan(0, _records));
        w.WriteByteArray(_types.AsSpan(0, _records));
        w.WriteUInt32Array(_distinctSizes);
        w.WriteByteArray(_names.Blob);
        w.WriteInt32Array(_names.Offsets);
    }

    /// <summary>Reads a set written by <see cref="WriteTo"/>; throws <see cref="InvalidDataException"/> on any inconsistency.</summary>
    public static HashSignatureSet ReadFrom(SignatureCacheReader r, HashKind expected)
    {
        long at = r.Position;
        var kind = (HashKind)r.ReadInt32();
        if (kind != expected)
        {
            throw new InvalidDataException($"hash set at 0x{at:X}: kind {kind}, expected {expected}");
        }

        var set = new HashSignatureSet(kind)
        {
            Count = r.ReadCount(int.MaxValue, "signature count"),
            AllowedCount = r.ReadCount(int.MaxValue, "allow-list count"),
            HasAnySize = r.ReadInt32() != 0,
            MaxSize = r.ReadInt64(),
        };
        int typeCount = r.ReadCount(255, "type name count");
        set._typeNames = [];
        for (int i = 0; i < typeCount; i++)
        {
            set._typeNames.Add(r.ReadString());
        }

        set._hashes = r.ReadUInt64Array("hashes");
        set._records = set._hashes.Length / set._words;
        set._recordSizes = r.ReadUInt32Array("sizes");
        set._nameIndices = r.ReadInt32Array("name indices");
        set._types = r.ReadByteArray("types");
        set._distinctSizes = r.ReadUInt32Array("distinct sizes");
        byte[] blob = r.ReadByteArray("name blob");
        set._names = SignatureNameTable.FromParts(blob, r.ReadInt32Array("name offsets"));
        if (set._hashes.Length != set._records * set._words || set._recordSizes.Length != set._records
            || set._nameIndices.Length != set._records || set._types.Length != set._records)
        {
            throw new InvalidDataException($"hash set at 0x{at:X}: record arrays of different lengths");
        }

        int names = set._names.Count;
        int live = 0, allowed = 0;
        for (int i = 0; i < set._records; i++)
        {
            int n = set._nameIndices[i];
            if (n >= names || n < RemovedName || set._types[i] >= typeCount)
            {
                throw new InvalidDataException($"hash set at 0x{at:X}: record {i} names no stored name or type");
            }

            live += n >= 0 ? 1 : 0;
            allowed += n == AllowedName ? 1 : 0;
        }

        if (live != set.Count || allowed != set.AllowedCount)
        {
            throw new InvalidDataException($"hash set at 0x{at:X}: counts do not match the records");
        }

        set._frozen = true;
        return set;
    }
}
