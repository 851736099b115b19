using System.Globalization;

namespace Prism.Provisioner.HyperV;

/// <summary>
/// Turns a method result into success or a <see cref="HyperVOperationException"/>: 0 is done, 4096 means poll the
/// job until it reaches a final JobState, anything else is the method's error code.
/// </summary>
internal sealed class HyperVJobWaiter(IHyperVJobSource jobs, TimeProvider timeProvider, TimeSpan pollInterval, TimeSpan timeout)
{
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromMilliseconds(250);
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Returns when the method completed (directly or through its job). Throws HyperVOperationException for an error
    /// return value, a job ending Terminated/Killed/Exception (with its ErrorCode and ErrorDescription), a 4096
    /// without a job, or a job still running after the timeout (source Prism: the job may still finish, so the
    /// retry policy must not re-issue the call).
    /// </summary>
    public async Task WaitAsync(string operation, HyperVMethodResult result, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.ReturnValue == HyperVReturnCodes.Completed)
        {
            return;
        }

        if (result.ReturnValue != HyperVReturnCodes.JobStarted)
        {
            throw new HyperVOperationException(operation, HyperVErrorSource.ReturnValue, result.ReturnValue, null);
        }

        HyperVJobHandle job = result.Job
            ?? throw new HyperVOperationException($"{operation} returned 4096 (job started) without a Job reference", HyperVErrorSource.Prism, 0, null);
        long started = timeProvider.GetTimestamp();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            HyperVJobStatus? status = ReadJob(operation, job);
            if (status?.JobState == HyperVJobState.Completed)
            {
                return;
            }

            if (status is not null && HyperVJobState.IsFinal(status.JobState))
            {
                string description = string.IsNullOrWhiteSpace(status.ErrorDescription)
                    ? $"job {HyperVJobState.Describe(status.JobState)}"
                    : status.ErrorDescription;
                throw new HyperVOperationException(operation, HyperVErrorSource.Job, status.ErrorCode, description);
            }

            TimeSpan elapsed = timeProvider.GetElapsedTime(started);
            if (elapsed >= timeout)
            {
                throw new HyperVOperationException(
                    string.Create(CultureInfo.InvariantCulture,
                        $"{operation}: job {job.InstanceId} still {(status is null ? "unreadable" : HyperVJobState.Describe(status.JobState))} after {elapsed.TotalSeconds:0.#} s"),
                    HyperVErrorSource.Prism, 0, null);
            }

            await Task.Delay(pollInterval, timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    // A failure to *read* the job must never reach the retry policy, which would re-issue the method while the
    // job may still be running: transient read failures are polled through (null), permanent ones become
    // Prism-sourced (never retried) errors.
    private HyperVJobStatus? ReadJob(string operation, HyperVJobHandle job)
    {
        try
        {
            return jobs.GetJob(job);
        }
        catch (Exception e) when (HyperVRetryClassifier.IsTransient(e))
        {
            return null;
        }
        catch (HyperVOperationException e)
        {
            throw new HyperVOperationException($"{operation}: reading job {job.InstanceId} failed: {e.Message}", HyperVErrorSource.Prism, 0, null, e);
        }
    }
}
