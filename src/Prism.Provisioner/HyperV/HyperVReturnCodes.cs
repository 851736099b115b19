namespace Prism.Provisioner.HyperV;

/// <summary>
/// Return values of the Hyper-V WMI v2 methods and job error codes. 0-4095 are DMTF codes (AddResourceSettings,
/// RemoveResourceSettings), 4096 means a job was started, 32768-32779 are the Hyper-V codes documented for
/// Msvm_ImageManagementService and used in job ErrorCode.
/// </summary>
internal static class HyperVReturnCodes
{
    public const int Completed = 0;
    public const int DmtfNotSupported = 1;
    public const int DmtfFailed = 2;
    public const int DmtfTimeout = 3;
    public const int DmtfInvalidParameter = 4;
    public const int DmtfInvalidState = 5;
    public const int DmtfIncompatibleParameters = 6;
    public const int JobStarted = 4096;
    public const int Failed = 32768;
    public const int AccessDenied = 32769;
    public const int NotSupported = 32770;
    public const int StatusUnknown = 32771;
    public const int Timeout = 32772;
    public const int InvalidParameter = 32773;
    public const int SystemInUse = 32774;
    public const int InvalidState = 32775;
    public const int IncorrectDataType = 32776;
    public const int SystemNotAvailable = 32777;
    public const int OutOfMemory = 32778;
    public const int FileNotFound = 32779;

    public static string Describe(int code) => code switch
    {
        Completed => "completed",
        DmtfNotSupported => "not supported",
        DmtfFailed => "failed",
        DmtfTimeout => "timeout",
        DmtfInvalidParameter => "invalid parameter",
        DmtfInvalidState => "invalid state",
        DmtfIncompatibleParameters => "incompatible parameters",
        JobStarted => "job started",
        Failed => "failed",
        AccessDenied => "access denied",
        NotSupported => "not supported",
        StatusUnknown => "status is unknown",
        Timeout => "timeout",
        InvalidParameter => "invalid parameter",
        SystemInUse => "system is in use",
        InvalidState => "invalid state for this operation",
        IncorrectDataType => "incorrect data type",
        SystemNotAvailable => "system is not available",
        OutOfMemory => "out of memory",
        FileNotFound => "file not found",
        _ => "unknown code",
    };
}
