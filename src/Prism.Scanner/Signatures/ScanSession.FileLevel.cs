namespace Prism.Scanner.Signatures;

/// <summary>The logical signatures' byte-compare and PCRE subsignatures, run once the body patterns have, over the whole file.</summary>
public sealed partial class ScanSession
{
    private Dictionary<int, long>? _lastStarts;

    /// <summary>Records the latest match start of a subsignature a byte compare reads from; always true.</summary>
    private bool TrackLastStart(int key, long start)
    {
        _lastStarts ??= [];
        if (!_lastStarts.TryGetValue(key, out long last) || start > last)
        {
            _lastStarts[key] = start;
        }

        return true;
    }

    /// <summary>
    /// As clamscan: byte compares first (each on its reference's last match start), then the PCREs in database order,
    /// each only when its trigger holds on the counts so far (earlier PCREs included). The session kept the whole
    /// file: <paramref name="window"/> starts at offset 0.
    /// </summary>
    private void RunFileLevelSubsignatures(ReadOnlySpan<byte> window, long windowBase)
    {
        if (windowBase != 0 || window.Length != _total)
        {
            throw new InvalidOperationException("PCRE and byte-compare subsignatures need the whole file in the session's buffer");
        }

        foreach (ByteCompareSubsignature b in _db.ByteCompares)
        {
            if (_db.Logicals[b.Logical].Target == 1 || (_normalizedText && _db.Logicals[b.Logical].Target == TextTarget))
            {
                // clamscan 1.4.6 never counts a byte compare of a Target:1 logical signature (observed on built PEs,
                // valid and broken, where a PCRE of the same signature matches), nor of a Target:7 one on normalised
                // text (where the same Target:0 one reads the normalised bytes): neither does Prism.
                continue;
            }

            int referenceKey = (b.Logical * 64) + b.Reference;
            if (_lastStarts?.TryGetValue(referenceKey, out long start) == true && AppliesTo(b.Logical) && b.Evaluate(window, start))
            {
                CountFileLevelMatch(b.Logical, b.Subsignature, -1);
            }
        }

        string? text = null;
        foreach (PcreSubsignature p in _db.Pcres)
        {
            if (!AppliesTo(p.Logical) || !p.Trigger.Evaluate(CountsOf(p.Logical)))
            {
                continue;
            }

            text ??= PcreTranslator.MapBytes(window);
            p.Run(text, _pe, _eofOffsetsDisabled, start => CountFileLevelMatch(p.Logical, p.Subsignature, start));
        }
    }

    /// <summary>False when the logical signature cannot match this file whatever its subsignatures do (target, file size).</summary>
    private bool AppliesTo(int logical)
    {
        LogicalSignature l = _db.Logicals[logical];
        return AppliesToFile(l.Target) && (l.FileSize is not { } size || (TargetBlockLength >= size.Min && TargetBlockLength <= size.Max));
    }

    private void CountFileLevelMatch(int logical, int subsignature, long start)
    {
        _subsignatureStarts ??= [];
        int key = (logical * 64) + subsignature;
        if (!_subsignatureStarts.TryGetValue(key, out HashSet<long>? starts))
        {
            starts = [];
            _subsignatureStarts.Add(key, starts);
        }

        if (starts.Count < _db.Logicals[logical].CountCap)
        {
            starts.Add(start);
        }
    }

    private int[] CountsOf(int logical)
    {
        var counts = new int[_db.Logicals[logical].SubsignatureCount];
        for (int s = 0; s < counts.Length; s++)
        {
            if (_subsignatureStarts?.TryGetValue((logical * 64) + s, out HashSet<long>? starts) == true)
            {
                counts[s] = starts.Count;
            }
        }

        return counts;
    }
}
