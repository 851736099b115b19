namespace Prism.Scanner.Clamd;

/// <summary>Settings of a <see cref="ClamdClient"/>.</summary>
public sealed record ClamdClientOptions
{
    /// <summary>Bytes per INSTREAM chunk (clamd's default StreamMaxLength is 25 MiB; chunks are far smaller). Default 64 KiB.</summary>
    public int ChunkSize { get; init; } = 64 * 1024;

    /// <summary>
    /// The server's StreamMaxLength when known (clamd has no command to query it). A stream longer than this fails
    /// with <see cref="ClamdSizeLimitExceededException"/> before more is sent. Null: rely on clamd's own check.
    /// </summary>
    public long? StreamMaxLength { get; init; }
}
