using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Prism.Scanner.Signatures;

/// <summary>
/// Aho-Corasick automaton over the signatures' anchors, compiled to a full DFA: one int per (state, byte) holding
/// the next state pre-multiplied by 256, failure transitions folded in. States with outputs are numbered last, so the
/// hot loop tests one comparison per byte. While in the root state a vectorised search skips to the next byte that
/// can start an anchor when few distinct first bytes exist.
/// </summary>
internal sealed partial class AnchorAutomaton
{
    /// <summary>Root skipping pays off only when a random byte rarely leaves the root.</summary>
    public const int MaxSkipFirstBytes = 24;

    /// <summary>Refuse automata whose table would pass ~1 GiB.</summary>
    private const int MaxStates = 1 << 20;

    private readonly int[] _table;
    private readonly int _firstOutputState;
    private readonly int[] _outputStart;
    private readonly int[] _outputs;
    private readonly RootSkip? _rootSkip;

    private AnchorAutomaton(int[] table, int firstOutputState, int[] outputStart, int[] outputs, RootSkip? rootSkip, int stateCount)
    {
        _table = table;
        _firstOutputState = firstOutputState;
        _outputStart = outputStart;
        _outputs = outputs;
        _rootSkip = rootSkip;
        StateCount = stateCount;
    }

    public int StateCount { get; }

    public bool IsEmpty => _firstOutputState >= _table.Length;

    /// <summary>Builds the automaton; a hit on keywords[i] reports ids[i].</summary>
    public static AnchorAutomaton Build(IReadOnlyList<byte[]> keywords, IReadOnlyList<int> ids)
    {
        // Trie: goto edges in a dictionary keyed by state * 256 + byte.
        var edges = new Dictionary<int, int>();
        var outputsByState = new List<List<int>?> { null };
        for (int k = 0; k < keywords.Count; k++)
        {
            int s = 0;
            foreach (byte b in keywords[k])
            {
                int key = (s << 8) | b;
                if (!edges.TryGetValue(key, out int next))
                {
                    next = outputsByState.Count;
                    if (next >= MaxStates)
                    {
                        throw new NotSupportedException($"signature anchors need more than {MaxStates} automaton states");
                    }

                    outputsByState.Add(null);
                    edges.Add(key, next);
                }

                s = next;
            }

            (outputsByState[s] ??= []).Add(ids[k]);
        }

        int n = outputsByState.Count;
        var delta = new int[n * 256];
        var fail = new int[n];
        var queue = new Queue<int>();
        for (int b = 0; b < 256; b++)
        {
            if (edges.TryGetValue(b, out int child))
            {
                delta[b] = child;
                queue.Enqueue(child);
            }
        }

        while (queue.Count > 0)
        {
            int u = queue.Dequeue();
            for (int b = 0; b < 256; b++)
            {
                if (edges.TryGetValue((u << 8) | b, out int v))
                {
                    int f = delta[(fail[u] * 256) + b];
                    fail[v] = f;
                    if (outputsByState[f] is { } inherited)
                    {
                        (outputsByState[v] ??= []).AddRange(inherited);
                    }

                    delta[(u * 256) + b] = v;
                    queue.Enqueue(v);
                }
                else
                {
                    delta[(u * 256) + b] = delta[(fail[u] * 256) + b];
                }
            }
        }

        // Renumber: states without output first (the root stays 0), then states with output.
        var renumber = new int[n];
        int next0 = 0;
        for (int s = 0; s < n; s++)
        {
            if (outputsByState[s] is null)
            {
                renumber[s] = next0++;
            }
        }

        int firstOutput = next0;
        for (int s = 0; s < n; s++)
        {
            if (outputsByState[s] is not null)
            {
                renumber[s] = next0++;
            }
        }

        var table = new int[n * 256];
        var outputStart = new int[n + 1];
        var outputList = new List<int>();
        var byNew = new int[n];
        for (int s = 0; s < n; s++)
        {
            byNew[renumber[s]] = s;
            for (int b = 0; b < 256; b++)
            {
                table[(renumber[s] * 256) + b] = renumber[delta[(s * 256) + b]] * 256;
            }
        }

        for (int ns = 0; ns < n; ns++)
        {
            outputStart[ns] = outputList.Count;
            if (outputsByState[byNew[ns]] is { } outs)
            {
                outputList.AddRange(outs);
            }
        }

        outputStart[n] = outputList.Count;

        var firstBytes = new HashSet<byte>();
        foreach (byte[] k in keywords)
        {
            firstBytes.Add(k[0]);
        }

        RootSkip? skip = firstBytes.Count is > 0 and <= MaxSkipFirstBytes ? new RootSkip([.. firstBytes]) : null;
        return new AnchorAutomaton(table, firstOutput * 256, outputStart, [.. outputList], skip, n);
    }

    /// <summary>Keyword ids that end in (pre-multiplied) <paramref name="state"/>.</summary>
    public ReadOnlySpan<int> OutputsOf(int state)
    {
        int s = state >> 8;
        return _outputs.AsSpan(_outputStart[s], _outputStart[s + 1] - _outputStart[s]);
    }

    /// <summary>
    /// Runs the automaton over <paramref name="data"/> from <paramref name="state"/> (pre-multiplied) and returns the
    /// final state. For every position where a keyword ends, calls <paramref name="sink"/> with the index just past it.
    /// </summary>
    // A hot loop entered once per chunk: compile it optimised at once instead of starting at tier 0.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Run<TSink>(int state, ReadOnlySpan<byte> data, ref TSink sink)
        where TSink : struct, IAnchorSink, allows ref struct
    {
        ref int table = ref MemoryMarshal.GetArrayDataReference(_table);
        ref byte input = ref MemoryMarshal.GetReference(data);
        int threshold = _firstOutputState;
        int length = data.Length;
        int i = 0;
        RootSkip? skip = _rootSkip;
        while (i < length)
        {
            if (state == 0 && skip is not null)
            {
                i = skip.IndexOfAny(data, i);
                if (i < 0)
                {
                    break;
                }
            }

            state = Unsafe.Add(ref table, state + Unsafe.Add(ref input, i));
            i++;
            if (state >= threshold)
            {
                sink.OnAnchorEnd(state, i);
            }
        }

        return state;
    }
}

/// <summary>
/// Finds the next byte that can start an anchor by comparing 32 (or 16) bytes at a time against each first byte.
/// Hand-rolled rather than SearchValues so the whole scan loop is JIT-compiled optimised from its first call.
/// </summary>
internal sealed class RootSkip
{
    private readonly Vector256<byte>[] _wide;
    private readonly byte[] _firstBytes;
    private readonly Vector128<byte>[] _narrow;
    private readonly bool[] _isFirst = new bool[256];

    public RootSkip(byte[] firstBytes)
    {
        _firstBytes = firstBytes;
        _wide = firstBytes.Select(b => Vector256.Create(b)).ToArray();
        _narrow = firstBytes.Select(b => Vector128.Create(b)).ToArray();
        foreach (byte b in firstBytes)
        {
            _isFirst[b] = true;
        }
    }

    /// <summary>The bytes an anchor can start with.</summary>
    public ReadOnlySpan<byte> FirstBytes => _firstBytes;

    /// <summary>Index of the first byte at or after <paramref name="start"/> that starts some anchor, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int IndexOfAny(ReadOnlySpan<byte> data, int start)
    {
        ref byte input = ref MemoryMarshal.GetReference(data);
        int i = start;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<byte>[] wide = _wide;
            for (; i <= data.Length - Vector256<byte>.Count; i += Vector256<byte>.Count)
            {
                Vector256<byte> block = Vector256.LoadUnsafe(ref input, (nuint)i);
                Vector256<byte> hits = Vector256.Equals(block, wide[0]);
                for (int k = 1; k < wide.Length; k++)
                {
                    hits |= Vector256.Equals(block, wide[k]);
                }

                uint mask = hits.ExtractMostSignificantBits();
                if (mask != 0)
                {
                    return i + BitOperations.TrailingZeroCount(mask);
                }
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            Vector128<byte>[] narrow = _narrow;
            for (; i <= data.Length - Vector128<byte>.Count; i += Vector128<byte>.Count)
            {
                Vector128<byte> block = Vector128.LoadUnsafe(ref input, (nuint)i);
                Vector128<byte> hits = Vector128.Equals(block, narrow[0]);
                for (int k = 1; k < narrow.Length; k++)
                {
                    hits |= Vector128.Equals(block, narrow[k]);
                }

                uint mask = hits.ExtractMostSignificantBits();
                if (mask != 0)
                {
                    return i + BitOperations.TrailingZeroCount(mask);
                }
            }
        }

        for (; i < data.Length; i++)
        {
            if (_isFirst[Unsafe.Add(ref input, i)])
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>Receives anchor hits from <see cref="AnchorAutomaton.Run{TSink}"/>.</summary>
internal interface IAnchorSink
{
    /// <summary>Keywords of <paramref name="state"/> end just before <paramref name="endIndex"/> of the run's data.</summary>
    void OnAnchorEnd(int state, int endIndex);
}
