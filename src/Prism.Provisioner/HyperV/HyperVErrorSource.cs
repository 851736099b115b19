namespace Prism.Provisioner.HyperV;

/// <summary>Where a Hyper-V error code came from; the same number means different things in each.</summary>
public enum HyperVErrorSource
{
    /// <summary>No WMI code: a precondition Prism checked (VM not found, location taken, wait timed out).</summary>
    Prism,

    /// <summary>A method's uint32 return value (0-4095 DMTF codes, 32768+ Hyper-V codes).</summary>
    ReturnValue,

    /// <summary>A failed job's ErrorCode (Msvm_ConcreteJob).</summary>
    Job,

    /// <summary>A CIM/MI operation status (MI_Result: 1 failed, 2 access denied, 4 invalid parameter, 6 not found, ...).</summary>
    Cim,
}
