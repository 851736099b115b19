namespace Prism.Provisioner.HyperV;

/// <summary>Retry bounds for transient Hyper-V failures: exponential backoff from <see cref="BaseDelay"/>, capped at <see cref="MaxDelay"/>.</summary>
public sealed record HyperVRetryOptions
{
    /// <summary>Retries after the first attempt (so at most MaxRetryAttempts + 1 calls). Default 4.</summary>
    public int MaxRetryAttempts { get; init; } = 4;

    /// <summary>Delay before the first retry; doubles per retry. Default 1 s.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound of one delay. Default 15 s.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Randomize delays so parallel provisioners do not retry in lockstep. Default true.</summary>
    public bool UseJitter { get; init; } = true;

    /// <summary>How often a started job is polled. Default 250 ms.</summary>
    public TimeSpan JobPollInterval { get; init; } = HyperVJobWaiter.DefaultPollInterval;

    /// <summary>How long one job may run before Prism gives up waiting (it is not retried). Default 10 min.</summary>
    public TimeSpan JobTimeout { get; init; } = HyperVJobWaiter.DefaultTimeout;
}
