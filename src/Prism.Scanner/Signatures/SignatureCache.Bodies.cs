namespace Prism.Scanner.Signatures;

/// <summary>
/// The compiled cache's signature section: body signatures (.ndb and .ldb subsignatures) with their compiled parts,
/// logical signatures, and the PCRE and byte-compare subsignatures, in binary as they are in memory, so a cached load
/// parses no database text. Names are stored once each in a table the signatures index.
/// </summary>
internal static partial class SignatureCache
{
    /// <summary>Subsignatures a logical signature may have (ClamAV's limit).</summary>
    private const int MaxSubsignatures = 64;

    private static void WriteSignatures(SignatureCacheWriter w, SignatureLoader loader)
    {
        var b = new SignatureCacheBlobWriter();
        var nameIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var names = new List<string>();
        int NameOf(string name)
        {
            if (!nameIndex.TryGetValue(name, out int i))
            {
                i = names.Count;
                nameIndex.Add(name, i);
                names.Add(name);
            }

            return i;
        }

        var signatures = new SignatureCacheBlobWriter();
        signatures.WriteInt32(loader.Logicals.Count);
        foreach (LogicalSignature l in loader.Logicals)
        {
            signatures.WriteInt32(NameOf(l.Name));
            signatures.WriteInt32(l.Target);
            WriteRange(signatures, l.FileSize);
            WriteRange(signatures, l.EntryPoint);
            WriteRange(signatures, l.SectionCount);
            signatures.WriteString(l.Expression.Text);
            signatures.WriteInt32(l.SubsignatureCount);
            signatures.WriteInt32(l.CountCap);
            signatures.WriteInt32(l.MacroGroup);
            signatures.WriteInt32(l.Macros.Count);
            foreach (MacroSubsignature m in l.Macros)
            {
                signatures.WriteInt32(m.Index);
                signatures.WriteInt32(m.Min);
                signatures.WriteInt32(m.Max);
                signatures.WriteInt32(m.Group);
            }
        }

        signatures.WriteInt32(loader.Bodies.Count);
        foreach (BodySignature body in loader.Bodies)
        {
            signatures.WriteInt32(NameOf(body.Name));
            signatures.WriteInt32(body.Target);
            signatures.WriteInt32(body.Logical);
            signatures.WriteInt32(body.Subsignature);
            signatures.WriteByte((byte)body.Offset.Kind);
            signatures.WriteInt64(body.Offset.Value);
            signatures.WriteInt64(body.Offset.MaxShift);
            signatures.WriteInt32(body.Offset.Section);
            signatures.WriteInt32(body.Segments.Length);
            foreach (PatternSegment s in body.Segments)
            {
                s.WriteTo(signatures);
            }
        }

        // PCRE and byte-compare subsignatures are stored as their text and parsed again (a Regex cannot be stored).
        WriteFileLevel(signatures, [.. loader.Pcres.Select(p => (p.Logical, p.Subsignature, p.SourceText))]);
        WriteFileLevel(signatures, [.. loader.ByteCompares.Select(c => (c.Logical, c.Subsignature, c.Text))]);

        b.WriteInt32(names.Count);
        foreach (string name in names)
        {
            b.WriteString(name);
        }

        w.WriteByteArray(b.Written);
        w.WriteByteArray(signatures.Written);
    }

    /// <summary>Decodes the two arrays <see cref="WriteSignatures"/> wrote (after the file's checksum held).</summary>
    private static CachedSignatures ReadSignatures(byte[] nameBlob, byte[] signatureBlob)
    {
        var nr = new SignatureCacheBlobReader(nameBlob, "signature name");
        var names = new string[nr.ReadCount(int.MaxValue, "name count")];
        for (int i = 0; i < names.Length; i++)
        {
            names[i] = nr.ReadString();
        }

        nr.EnsureEnd();
        var r = new SignatureCacheBlobReader(signatureBlob, "signature");
        string Name() => names[r.ReadInt32(0, names.Length - 1, "name index")];

        var logicals = new LogicalSignature[r.ReadCount(int.MaxValue, "logical signature count")];
        for (int i = 0; i < logicals.Length; i++)
        {
            string name = Name();
            int target = r.ReadInt32(0, int.MaxValue, "target type");
            (long, long)? fileSize = ReadRange(r), entryPoint = ReadRange(r), sections = ReadRange(r);
            string expressionText = r.ReadString();
            LogicalExpression expression;
            try
            {
                expression = LogicalExpression.Parse(expressionText);
            }
            catch (FormatException e)
            {
                throw r.Malformed($"logical expression '{expressionText}': {e.Message}");
            }

            int subsignatures = r.ReadInt32(expression.HighestIndex + 1, MaxSubsignatures, "subsignature count");
            int countCap = r.ReadInt32(1, int.MaxValue, "count cap");
            int macroGroup = r.ReadInt32(-1, MacroSubsignature.MaxGroups - 1, "macro group");
            var macros = new MacroSubsignature[r.ReadCount(subsignatures, "macro subsignature count")];
            for (int m = 0; m < macros.Length; m++)
            {
                macros[m] = new MacroSubsignature(r.ReadInt32(0, subsignatures - 1, "macro subsignature index"),
                    r.ReadInt32(0, int.MaxValue, "macro minimum"), r.ReadInt32(0, int.MaxValue, "macro maximum"),
                    r.ReadInt32(0, MacroSubsignature.MaxGroups - 1, "macro group"));
            }

            logicals[i] = new LogicalSignature(name, target, fileSize, entryPoint, sections, expression, subsignatures)
            {
                CountCap = countCap,
                MacroGroup = macroGroup,
                Macros = macros,
            };
        }

        var bodies = new BodySignature[r.ReadCount(int.MaxValue, "body signature count")];
        for (int i = 0; i < bodies.Length; i++)
        {
            string name = Name();
            int target = r.ReadInt32(0, int.MaxValue, "target type");
            int logical = r.ReadInt32(-1, logicals.Length - 1, "logical signature index");
            int subsignature = r.ReadInt32(0, logical < 0 ? 0 : logicals[logical].SubsignatureCount - 1, "subsignature index");
            byte kind = r.ReadByte();
            if (kind > (byte)SignatureOffsetKind.WholeSection)
            {
                throw r.Malformed($"unknown offset kind {kind}");
            }

            var offset = new SignatureOffset((SignatureOffsetKind)kind, r.ReadInt64(), r.ReadInt64(), r.ReadInt32());
            if (offset.MaxShift < 0 || (offset.Kind is SignatureOffsetKind.Absolute or SignatureOffsetKind.FromEnd && offset.Value < 0))
            {
                throw r.Malformed($"offset {offset} out of range");
            }

            var segments = new PatternSegment[r.ReadCount(1 << 16, "part count")];
            if (segments.Length == 0)
            {
                throw r.Malformed("a body signature without parts");
            }

            for (int s = 0; s < segments.Length; s++)
            {
                segments[s] = PatternSegment.ReadFrom(r);
            }

            bodies[i] = new BodySignature(name, target, offset, segments, logical, subsignature);
        }

        var pcres = new PcreSubsignature[r.ReadCount(int.MaxValue, "PCRE count")];
        for (int i = 0; i < pcres.Length; i++)
        {
            (int logical, int index, string text) = ReadFileLevel(r, logicals);
            pcres[i] = Reparse(r, text, () => PcreSubsignature.Parse(text, logical, index));
        }

        var byteCompares = new ByteCompareSubsignature[r.ReadCount(int.MaxValue, "byte compare count")];
        for (int i = 0; i < byteCompares.Length; i++)
        {
            (int logical, int index, string text) = ReadFileLevel(r, logicals);
            byteCompares[i] = Reparse(r, text, () => ByteCompareSubsignature.Parse(text, logical, index));
        }

        r.EnsureEnd();
        return new CachedSignatures(bodies, logicals, pcres, byteCompares);
    }

    /// <summary>Writes file-level subsignatures as <see cref="ReadFileLevel"/> reads each: a count, then per subsignature
    /// its logical signature, its index there and its text.</summary>
    private static void WriteFileLevel(SignatureCacheBlobWriter w, (int Logical, int Index, string Text)[] subsignatures)
    {
        w.WriteInt32(subsignatures.Length);
        foreach ((int logical, int index, string text) in subsignatures)
        {
            w.WriteInt32(logical);
            w.WriteInt32(index);
            w.WriteString(text);
        }
    }

    private static (int Logical, int Index, string Text) ReadFileLevel(SignatureCacheBlobReader r, LogicalSignature[] logicals)
    {
        int logical = r.ReadInt32(0, logicals.Length - 1, "logical signature index");
        return (logical, r.ReadInt32(0, logicals[logical].SubsignatureCount - 1, "subsignature index"), r.ReadString());
    }

    private static T Reparse<T>(SignatureCacheBlobReader r, string text, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (Exception e) when (e is FormatException or NotSupportedException)
        {
            throw r.Malformed($"subsignature '{text}' no longer loads: {e.Message}");
        }
    }

    private static void WriteRange(SignatureCacheBlobWriter w, (long Min, long Max)? range)
    {
        w.WriteByte(range is null ? (byte)0 : (byte)1);
        w.WriteInt64(range?.Min ?? 0);
        w.WriteInt64(range?.Max ?? 0);
    }

    private static (long, long)? ReadRange(SignatureCacheBlobReader r)
    {
        byte present = r.ReadByte();
        long min = r.ReadInt64(), max = r.ReadInt64();
        return present switch
        {
            0 => null,
            1 => (min, max),
            _ => throw r.Malformed($"range flag {present}"),
        };
    }
}

/// <summary>The signatures of a compiled cache, as <see cref="SignatureLoader"/> holds them after a load.</summary>
internal sealed record CachedSignatures(
    BodySignature[] Bodies, LogicalSignature[] Logicals, PcreSubsignature[] Pcres, ByteCompareSubsignature[] ByteCompares);
