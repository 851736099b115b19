namespace Prism.Provisioner.HyperV;

/// <summary>Reads the current state of a job a method started.</summary>
internal interface IHyperVJobSource
{
    /// <summary>The job's current JobState, ErrorCode and ErrorDescription.</summary>
    HyperVJobStatus GetJob(HyperVJobHandle job);
}
