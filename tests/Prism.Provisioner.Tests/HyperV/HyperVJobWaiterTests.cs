using Prism.Provisioner.HyperV;

namespace Prism.Provisioner.Tests.HyperV;

public sealed class HyperVJobWaiterTests
{
    private static readonly HyperVJobHandle s_job = new("Msvm_ConcreteJob", "job-1");

    private static HyperVJobWaiter Waiter(IHyperVJobSource source, TimeSpan? timeout = null) =>
        new(source, new SteppingTimeProvider(TimeSpan.FromSeconds(1)), TimeSpan.Zero, timeout ?? TimeSpan.FromHours(1));

    private static HyperVMethodResult Started() => new(4096, s_job, []);

    [Fact]
    public async Task WaitAsync_ReturnValue0_DoesNotPoll()
    {
        var jobs = new FakeJobSource(new HyperVJobStatus(HyperVJobState.Running));

        await Waiter(jobs).WaitAsync("op", HyperVMethodResult.Completed());

        Assert.Equal(0, jobs.Reads);
    }

    [Fact]
    public async Task WaitAsync_JobRunsThenCompletes_PollsUntilCompleted()
    {
        var jobs = new FakeJobSource(
            new HyperVJobStatus(HyperVJobState.New), new HyperVJobStatus(HyperVJobState.Starting),
            new HyperVJobStatus(HyperVJobState.Running, PercentComplete: 50), new HyperVJobStatus(HyperVJobState.Completed));

        await Waiter(jobs).WaitAsync("op", Started());

        Assert.Equal(4, jobs.Reads);
    }

    [Theory]
    [InlineData(HyperVJobState.Exception)]
    [InlineData(HyperVJobState.Terminated)]
    [InlineData(HyperVJobState.Killed)]
    public async Task WaitAsync_JobFails_SurfacesErrorCodeAndDescription(ushort state)
    {
        var jobs = new FakeJobSource(
            new HyperVJobStatus(HyperVJobState.Running),
            new HyperVJobStatus(state, 32773, "The parameter 'Path' is invalid."));

        var e = await Assert.ThrowsAsync<HyperVOperationException>(() => Waiter(jobs).WaitAsync("CreateVirtualHardDisk", Started()));

        Assert.Equal(HyperVErrorSource.Job, e.ErrorSource);
        Assert.Equal(32773, e.Code);
        Assert.Equal("CreateVirtualHardDisk: job failed with error 32773 (invalid parameter): The parameter 'Path' is invalid.", e.Message);
    }

    [Fact]
    public async Task WaitAsync_JobFailsWithoutDescription_NamesTheState()
    {
        var jobs = new FakeJobSource(new HyperVJobStatus(HyperVJobState.Killed));

        var e = await Assert.ThrowsAsync<HyperVOperationException>(() => Waiter(jobs).WaitAsync("op", Started()));

        Assert.Equal("op: job failed: job killed", e.Message);
    }

    [Theory]
    [InlineData(32768)]
    [InlineData(32774)]
    [InlineData(4)]
    public async Task WaitAsync_ErrorReturnValue_ThrowsWithoutPolling(int code)
    {
        var jobs = new FakeJobSource(new HyperVJobStatus(HyperVJobState.Completed));

        var e = await Assert.ThrowsAsync<HyperVOperationException>(() => Waiter(jobs).WaitAsync("op", new HyperVMethodResult(code, null, [])));

        Assert.Equal((HyperVErrorSource.ReturnValue, code), (e.ErrorSource, e.Code));
        Assert.Equal(0, jobs.Reads);
    }

    [Fact]
    public async Task WaitAsync_4096WithoutJob_Throws()
    {
        var e = await Assert.ThrowsAsync<HyperVOperationException>(
            () => Waiter(new FakeJobSource(new HyperVJobStatus(7))).WaitAsync("op", new HyperVMethodResult(4096, null, [])));

        Assert.Equal(HyperVErrorSource.Prism, e.ErrorSource);
    }

    [Fact]
    public async Task WaitAsync_JobNeverEnds_TimesOutAsPrismError()
    {
        var jobs = new FakeJobSource(new HyperVJobStatus(HyperVJobState.Running));

        var e = await Assert.ThrowsAsync<HyperVOperationException>(() => Waiter(jobs, TimeSpan.FromSeconds(10)).WaitAsync("op", Started()));

        Assert.Equal(HyperVErrorSource.Prism, e.ErrorSource);
        Assert.Contains("job-1 still running after", e.Message, StringComparison.Ordinal);
        Assert.False(HyperVRetryClassifier.IsTransient(e));
        Assert.InRange(jobs.Reads, 5, 12);
    }

    [Fact]
    public async Task WaitAsync_TransientReadFailure_KeepsPolling()
    {
        var jobs = new FakeJobSource(
            new HyperVOperationException("read job", HyperVErrorSource.Cim, 28, "server is shutting down"),
            new HyperVJobStatus(HyperVJobState.Completed));

        await Waiter(jobs).WaitAsync("op", Started());

        Assert.Equal(2, jobs.Reads);
    }

    [Fact]
    public async Task WaitAsync_PermanentReadFailure_BecomesNonRetryable()
    {
        var jobs = new FakeJobSource(new HyperVOperationException("read job", HyperVErrorSource.Cim, 2, "access denied"));

        var e = await Assert.ThrowsAsync<HyperVOperationException>(() => Waiter(jobs).WaitAsync("op", Started()));

        Assert.Equal(HyperVErrorSource.Prism, e.ErrorSource);
        Assert.IsType<HyperVOperationException>(e.InnerException);
    }

    [Fact]
    public async Task WaitAsync_Cancelled_Throws()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => Waiter(new FakeJobSource(new HyperVJobStatus(HyperVJobState.Running))).WaitAsync("op", Started(), cts.Token));
    }
}
