namespace Prism.Scanner.Signatures;

/// <summary>One signature that matched a scanned file.</summary>
/// <param name="SignatureName">The signature's name as written in its database (without ClamAV's ".UNOFFICIAL" suffix), control characters escaped as \uXXXX.</param>
/// <param name="Offset">Byte offset where the match starts; null for whole-file hash signatures.</param>
public readonly record struct Detection(string SignatureName, long? Offset);
