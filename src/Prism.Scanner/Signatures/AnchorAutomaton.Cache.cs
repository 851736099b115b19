namespace Prism.Scanner.Signatures;

/// <summary>The automaton's tables in the compiled signature cache (<see cref="SignatureCache"/>).</summary>
internal sealed partial class AnchorAutomaton
{
    public void WriteTo(SignatureCacheWriter w)
    {
        w.WriteInt32(StateCount);
        w.WriteInt32(_firstOutputState);
        w.WriteInt32Array(_table);
        w.WriteInt32Array(_outputStart);
        w.WriteInt32Array(_outputs);
        w.WriteInt32(_rootSkip is null ? 0 : 1);
        w.WriteByteArray(_rootSkip is null ? [] : _rootSkip.FirstBytes);
    }

    /// <summary>
    /// Reads an automaton written by <see cref="WriteTo"/> whose keyword ids must be below <paramref name="keywordCount"/>.
    /// Every transition is checked to name a state: the scan loop indexes the table without bounds checks.
    /// </summary>
    public static AnchorAutomaton ReadFrom(SignatureCacheReader r, int keywordCount)
    {
        long at = r.Position;
        int states = r.ReadCount(MaxStates, "automaton state count");
        int firstOutput = r.ReadInt32();
        int[] table = r.ReadInt32Array("automaton table"), outputStart = r.ReadInt32Array("automaton output starts"), outputs = r.ReadInt32Array("automaton outputs");
        int skip = r.ReadInt32();
        byte[] firstBytes = r.ReadByteArray("automaton first bytes");
        if (states == 0 || table.Length != states * 256 || firstOutput < 0 || firstOutput > table.Length || firstOutput % 256 != 0
            || outputStart.Length != states + 1 || skip is not (0 or 1) || (skip == 1 && firstBytes.Length is 0 or > MaxSkipFirstBytes))
        {
            throw new InvalidDataException($"anchor automaton at 0x{at:X}: table sizes do not fit");
        }

        foreach (int next in table)
        {
            if (next < 0 || next % 256 != 0 || next >= table.Length)
            {
                throw new InvalidDataException($"anchor automaton at 0x{at:X}: a transition names no state");
            }
        }

        if (outputStart[0] != 0 || outputStart[states] != outputs.Length)
        {
            throw new InvalidDataException($"anchor automaton at 0x{at:X}: outputs do not span the output list");
        }

        for (int s = 0; s < states; s++)
        {
            if (outputStart[s + 1] < outputStart[s])
            {
                throw new InvalidDataException($"anchor automaton at 0x{at:X}: output starts go backwards at state {s}");
            }
        }

        if (Array.Exists(outputs, k => (uint)k >= (uint)keywordCount))
        {
            throw new InvalidDataException($"anchor automaton at 0x{at:X}: an output names no keyword");
        }

        return new AnchorAutomaton(table, firstOutput, outputStart, outputs, skip == 1 ? new RootSkip(firstBytes) : null, states);
    }
}
