namespace Prism.Provisioner.HyperV;

/// <summary>A snapshot of a CIM_ConcreteJob: JobState, ErrorCode, ErrorDescription and PercentComplete.</summary>
internal sealed record HyperVJobStatus(ushort JobState, int ErrorCode = 0, string? ErrorDescription = null, int? PercentComplete = null);
