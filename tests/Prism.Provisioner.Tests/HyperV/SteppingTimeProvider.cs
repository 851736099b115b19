namespace Prism.Provisioner.Tests.HyperV;

/// <summary>A clock that moves forward by <see cref="Step"/> every time it is read; no wall clock, no timers.</summary>
internal sealed class SteppingTimeProvider(TimeSpan step) : TimeProvider
{
    private long _ticks;

    public TimeSpan Step { get; } = step;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Add(ref _ticks, Step.Ticks);
}
