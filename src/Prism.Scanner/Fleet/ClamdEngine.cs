using System.Security.Cryptography;
using System.Text;
using Prism.Disks.Errors;
using Prism.Disks.IO;
using Prism.Scanner.Clamd;

namespace Prism.Scanner.Fleet;

/// <summary>Sends each stream to a clamd daemon over INSTREAM. clamd names the first signature that matched.</summary>
public sealed class ClamdEngine : IScanEngine
{
    private readonly ClamdClient _client;

    /// <summary>Uses <paramref name="client"/>; <paramref name="databaseIdentity"/> (e.g. clamd's VERSION line) keys cached results.</summary>
    public ClamdEngine(ClamdClient client, string databaseIdentity)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        SignatureSetHash = "clamd:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(databaseIdentity)));
    }

    /// <inheritdoc />
    public string Name => "clamd";

    /// <inheritdoc />
    public string SignatureSetHash { get; }

    /// <inheritdoc />
    public async Task<IReadOnlyList<EngineHit>> ScanAsync(IDiskSource content, CancellationToken cancellationToken)
    {
        await using var stream = new DiskStream(content);
        ClamdScanResult result = await _client.ScanStreamAsync(stream, cancellationToken).ConfigureAwait(false);
        // clamd's reply is text from another process and its database: escaped like the builtin engine's names.
        return result.IsInfected ? [new EngineHit(TextEscaping.Escape(result.SignatureName), null)] : [];
    }
}
