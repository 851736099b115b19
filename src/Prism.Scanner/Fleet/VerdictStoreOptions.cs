namespace Prism.Scanner.Fleet;

/// <summary>How to open a verdict store.</summary>
public sealed record VerdictStoreOptions
{
    /// <summary>How long to wait for another process's write lock on the store before giving up (default 30 s).</summary>
    public TimeSpan LockWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Receives a line when the open has to wait for a lock (so the wait is reported, not silent).</summary>
    public Action<string>? Waiting { get; init; }
}
