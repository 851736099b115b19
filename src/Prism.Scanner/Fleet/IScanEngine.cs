using Prism.Disks.IO;

namespace Prism.Scanner.Fleet;

/// <summary>Scans one byte stream (a file stream or a raw region) and names the signatures it matched.</summary>
public interface IScanEngine
{
    /// <summary>"builtin" or "clamd".</summary>
    string Name { get; }

    /// <summary>Identity of the signature set: results are reusable only under the same value.</summary>
    string SignatureSetHash { get; }

    /// <summary>
    /// Reads <paramref name="content"/> from start to end once and returns the matched signatures (names, with the
    /// match offset where the engine knows it).
    /// </summary>
    Task<IReadOnlyList<EngineHit>> ScanAsync(IDiskSource content, CancellationToken cancellationToken);
}

/// <summary>A signature that matched, and where in the scanned stream when known.</summary>
/// <param name="Signature">Signature name.</param>
/// <param name="Offset">Offset of the match inside the scanned stream, when known.</param>
public readonly record struct EngineHit(string Signature, long? Offset);
