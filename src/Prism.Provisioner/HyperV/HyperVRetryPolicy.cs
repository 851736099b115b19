using Polly;
using Polly.Retry;

namespace Prism.Provisioner.HyperV;

/// <summary>Builds the Polly pipeline that retries exactly what <see cref="HyperVRetryClassifier"/> calls transient.</summary>
internal static class HyperVRetryPolicy
{
    public static ResiliencePipeline Create(HyperVRetryOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxRetryAttempts);
        if (options.MaxRetryAttempts == 0)
        {
            return ResiliencePipeline.Empty;
        }

        return new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = static args => ValueTask.FromResult(
                    args.Outcome.Exception is { } e && HyperVRetryClassifier.IsTransient(e)),
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                Delay = options.BaseDelay,
                MaxDelay = options.MaxDelay,
                UseJitter = options.UseJitter,
            })
            .Build();
    }
}
