using System.Buffers;
using Prism.Disks.IO;
using Prism.Scanner.Signatures;

namespace Prism.Scanner.Fleet;

/// <summary>The embedded signature engine: ClamAV .hdb/.hsb/.ndb/.cvd signatures, one streaming pass per stream.</summary>
public sealed class BuiltinEngine : IScanEngine
{
    private const int ChunkSize = 1024 * 1024;

    /// <summary>Wraps a loaded signature database.</summary>
    public BuiltinEngine(SignatureDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        Database = database;
    }

    /// <summary>The signatures.</summary>
    public SignatureDatabase Database { get; }

    /// <inheritdoc />
    public string Name => "builtin";

    /// <inheritdoc />
    public string SignatureSetHash => Database.SignatureSetHash;

    /// <inheritdoc />
    public Task<IReadOnlyList<EngineHit>> ScanAsync(IDiskSource content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            using ScanSession session = Database.CreateSession(content.Length);
            for (long offset = 0; offset < content.Length; offset += ChunkSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int n = (int)Math.Min(ChunkSize, content.Length - offset);
                content.ReadExactly(buffer.AsSpan(0, n), offset);
                session.Append(buffer.AsSpan(0, n));
            }

            IReadOnlyList<Detection> detections = session.Complete();
            IReadOnlyList<EngineHit> hits = detections.Select(d => new EngineHit(d.SignatureName, d.Offset)).ToList();
            return Task.FromResult(hits);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
