using Polly;
using Prism.Provisioner.HyperV;

namespace Prism.Provisioner.Tests.HyperV;

public sealed class HyperVRetryTests
{
    private static readonly HyperVRetryOptions s_fast = new() { BaseDelay = TimeSpan.Zero, MaxDelay = TimeSpan.Zero, UseJitter = false };

    public static TheoryData<Exception, bool> Cases => new()
    {
        // Hyper-V vendor codes (method return values and job ErrorCode).
        { Error(HyperVErrorSource.ReturnValue, 32772), true },   // timeout
        { Error(HyperVErrorSource.ReturnValue, 32774), true },   // system is in use
        { Error(HyperVErrorSource.Job, 32775), true },           // invalid state for this operation (VM changing state)
        { Error(HyperVErrorSource.Job, 32777), true },           // system is not available
        { Error(HyperVErrorSource.Job, 32768, "The process cannot access the file because it is being used by another process. (0x80070020)"), true },
        { Error(HyperVErrorSource.Job, 32768, "Failed to open attachment: error 0x80070021"), true },
        { Error(HyperVErrorSource.Job, 32768, "The chain of virtual hard disks is broken."), false },
        { Error(HyperVErrorSource.Job, 32768), false },          // generic failed
        { Error(HyperVErrorSource.ReturnValue, 32769), false },  // access denied
        { Error(HyperVErrorSource.ReturnValue, 32770), false },  // not supported
        { Error(HyperVErrorSource.ReturnValue, 32773), false },  // invalid parameter
        { Error(HyperVErrorSource.Job, 32776), false },          // incorrect data type
        { Error(HyperVErrorSource.Job, 32778), false },          // out of memory
        { Error(HyperVErrorSource.Job, 32779), false },          // file not found
        { Error(HyperVErrorSource.Job, 32771), false },          // status unknown
        // DMTF codes (AddResourceSettings / RemoveResourceSettings).
        { Error(HyperVErrorSource.ReturnValue, 3), true },       // timeout
        { Error(HyperVErrorSource.ReturnValue, 5), true },       // invalid state
        { Error(HyperVErrorSource.ReturnValue, 1), false },      // not supported
        { Error(HyperVErrorSource.ReturnValue, 2), false },      // failed
        { Error(HyperVErrorSource.ReturnValue, 4), false },      // invalid parameter
        { Error(HyperVErrorSource.ReturnValue, 6), false },      // incompatible parameters
        // MI/CIM status codes.
        { Error(HyperVErrorSource.Cim, 28), true },              // server is shutting down
        { Error(HyperVErrorSource.Cim, 27), true },              // server limits exceeded
        { Error(HyperVErrorSource.Cim, 1, "The requested resource is in use."), true },
        { Error(HyperVErrorSource.Cim, 1), false },              // failed
        { Error(HyperVErrorSource.Cim, 2), false },              // access denied
        { Error(HyperVErrorSource.Cim, 3), false },              // invalid namespace
        { Error(HyperVErrorSource.Cim, 4), false },              // invalid parameter
        { Error(HyperVErrorSource.Cim, 6), false },              // not found
        // Prism's own checks and other exceptions.
        { Error(HyperVErrorSource.Prism, 0, "being used by another process"), false },
        { new TimeoutException(), true },
        { new IOException("sharing", unchecked((int)0x80070020)), true },
        { new IOException("lock", unchecked((int)0x80070021)), true },
        { new IOException("disk full", unchecked((int)0x80070070)), false },
        { new FileNotFoundException("gone"), false },
        { new UnauthorizedAccessException(), false },
        { new ArgumentException("bad"), false },
        { new OperationCanceledException(), false },
        { new InvalidDataException("bad vhdx"), false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void IsTransient_Table(Exception exception, bool transient)
    {
        Assert.Equal(transient, HyperVRetryClassifier.IsTransient(exception));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Pipeline_RetriesExactlyTheTransientCases(Exception exception, bool transient)
    {
        ResiliencePipeline pipeline = HyperVRetryPolicy.Create(s_fast with { MaxRetryAttempts = 3 }, TimeProvider.System);
        int attempts = 0;

        Exception thrown = await Assert.ThrowsAnyAsync<Exception>(async () => await pipeline.ExecuteAsync(_ =>
        {
            attempts++;
            throw exception;
        }));

        Assert.Same(exception, thrown);
        Assert.Equal(transient ? 4 : 1, attempts);
    }

    [Fact]
    public async Task Pipeline_TransientThenSuccess_ReturnsResult()
    {
        ResiliencePipeline pipeline = HyperVRetryPolicy.Create(s_fast, TimeProvider.System);
        int attempts = 0;

        int result = await pipeline.ExecuteAsync(_ =>
        {
            if (++attempts < 3)
            {
                throw Error(HyperVErrorSource.ReturnValue, 32774);
            }

            return ValueTask.FromResult(42);
        });

        Assert.Equal((42, 3), (result, attempts));
    }

    [Fact]
    public async Task Pipeline_ZeroRetries_SingleAttempt()
    {
        ResiliencePipeline pipeline = HyperVRetryPolicy.Create(s_fast with { MaxRetryAttempts = 0 }, TimeProvider.System);
        int attempts = 0;

        await Assert.ThrowsAsync<TimeoutException>(async () => await pipeline.ExecuteAsync(_ =>
        {
            attempts++;
            throw new TimeoutException();
        }));

        Assert.Equal(1, attempts);
    }

    [Fact]
    public void DefaultOptions_AreBoundedExponentialBackoff()
    {
        var options = new HyperVRetryOptions();

        Assert.Equal(4, options.MaxRetryAttempts);
        Assert.Equal(TimeSpan.FromSeconds(1), options.BaseDelay);
        Assert.Equal(TimeSpan.FromSeconds(15), options.MaxDelay);
    }

    private static HyperVOperationException Error(HyperVErrorSource source, int code, string? description = null) =>
        new("op", source, code, description);
}
