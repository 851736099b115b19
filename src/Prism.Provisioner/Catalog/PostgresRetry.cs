using Npgsql;
using Polly;
using Polly.Retry;

namespace Prism.Provisioner.Catalog;

/// <summary>
/// Retries of PostgreSQL work that may run twice (Polly): reads, opening and migrating a database, taking a lease, and
/// upserts. Never used for an operation's journal, its commit, or any insert a second run would repeat: a transient error
/// there may hide a commit that happened, so it fails at once and recovery reads the journal instead.
/// </summary>
internal static class PostgresRetry
{
    /// <summary>
    /// SQLSTATEs after which the same work on a new connection may succeed: connection exceptions (class 08), a
    /// serialization failure or deadlock (40001, 40P01), too many connections (53300), the server shutting down,
    /// crashed or starting (57P01, 57P02, 57P03).
    /// </summary>
    private static readonly string[] s_transientStates = ["40001", "40P01", "53300", "57P01", "57P02", "57P03"];

    /// <summary>True for an error that says nothing about the work itself: the server or the way to it failed for a moment.</summary>
    internal static bool IsTransient(Exception e) => e switch
    {
        PostgresException p => p.SqlState.StartsWith("08", StringComparison.Ordinal) || s_transientStates.Contains(p.SqlState, StringComparer.Ordinal),

        // No SQLSTATE: the connection could not be opened, broke, or timed out (Npgsql says which of these may pass).
        NpgsqlException n => n.IsTransient,
        _ => false,
    };

    /// <summary>Five retries, 200 ms doubling to at most 2 s with jitter: about 5 s, what a server restart or fail-over takes.</summary>
    internal static ResiliencePipeline Idempotent { get; } = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Exception is { } e && IsTransient(e)),
            MaxRetryAttempts = 5,
            BackoffType = DelayBackoffType.Exponential,
            Delay = TimeSpan.FromMilliseconds(200),
            MaxDelay = TimeSpan.FromSeconds(2),
            UseJitter = true,
        })
        .Build();

    /// <summary>Runs idempotent <paramref name="work"/>, again after a transient error.</summary>
    internal static T Run<T>(Func<T> work) => Idempotent.Execute(static w => w(), work);
}
