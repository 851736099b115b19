namespace Prism.PowerShell.Cmdlets;

/// <summary>An <see cref="IProgress{T}"/> that reports on the calling (pipeline) thread, where WriteProgress must be called;
/// <see cref="Progress{T}"/> would post to the thread pool.</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
