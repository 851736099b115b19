using Prism.Provisioner.HyperV;

namespace Prism.Provisioner.Tests.HyperV;

/// <summary>Answers GetJob from a script of statuses (or exceptions); the last entry repeats.</summary>
internal sealed class FakeJobSource(params object[] script) : IHyperVJobSource
{
    public int Reads { get; private set; }

    public HyperVJobStatus GetJob(HyperVJobHandle job)
    {
        object next = script[Math.Min(Reads, script.Length - 1)];
        Reads++;
        return next switch
        {
            HyperVJobStatus s => s,
            Exception e => throw e,
            _ => throw new InvalidOperationException("bad script entry"),
        };
    }
}
