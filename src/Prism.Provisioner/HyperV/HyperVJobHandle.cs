namespace Prism.Provisioner.HyperV;

/// <summary>A job reference from a method's Job out-parameter: its class (Msvm_ConcreteJob, Msvm_StorageJob...) and key.</summary>
internal sealed record HyperVJobHandle(string ClassName, string InstanceId);
