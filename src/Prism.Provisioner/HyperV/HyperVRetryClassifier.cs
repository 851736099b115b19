namespace Prism.Provisioner.HyperV;

/// <summary>
/// The one place that decides which Hyper-V failures are worth retrying. Transient: the host or file is busy
/// right now (sharing violation, "system is in use", timeouts, a VM between states, the WMI server shutting down or
/// over its limits). Permanent: everything that a retry cannot change (invalid parameter, access denied, not
/// found, not supported, file format/chain errors, generic "failed") and Prism's own precondition failures.
/// </summary>
internal static class HyperVRetryClassifier
{
    // MI_Result values (Microsoft.Management.Infrastructure NativeErrorCode) that are load, not fault.
    private const int CimServerLimitsExceeded = 27;
    private const int CimServerIsShuttingDown = 28;
    private const int CimFailed = 1;

    // HRESULT_FROM_WIN32(ERROR_SHARING_VIOLATION / ERROR_LOCK_VIOLATION / ERROR_BUSY).
    private const int SharingViolationHResult = unchecked((int)0x80070020);
    private const int LockViolationHResult = unchecked((int)0x80070021);
    private const int BusyHResult = unchecked((int)0x800700AA);

    // Hyper-V reports a locked file as a generic failure (32768, or CIM_ERR_FAILED) whose description carries the
    // Win32 text and HRESULT; only these markers make a generic failure transient.
    private static readonly string[] s_busyMarkers =
    [
        "0x80070020", "0x80070021", "0x800700AA", "being used by another process", "locked a portion of the file",
        "requested resource is in use",
    ];

    public static bool IsTransient(Exception exception) => exception switch
    {
        HyperVOperationException e => IsTransient(e.ErrorSource, e.Code, e.Description),
        OperationCanceledException => false,
        TimeoutException => true,
        IOException e => e.HResult is SharingViolationHResult or LockViolationHResult or BusyHResult,
        _ => false,
    };

    public static bool IsTransient(HyperVErrorSource source, int code, string? description) => source switch
    {
        HyperVErrorSource.ReturnValue or HyperVErrorSource.Job => code switch
        {
            HyperVReturnCodes.DmtfTimeout or HyperVReturnCodes.DmtfInvalidState => true,
            HyperVReturnCodes.Timeout or HyperVReturnCodes.SystemInUse or HyperVReturnCodes.InvalidState
                or HyperVReturnCodes.SystemNotAvailable => true,
            HyperVReturnCodes.Failed => MentionsBusyFile(description),
            _ => false,
        },
        HyperVErrorSource.Cim => code switch
        {
            CimServerLimitsExceeded or CimServerIsShuttingDown => true,
            CimFailed => MentionsBusyFile(description),
            _ => false,
        },
        _ => false,
    };

    private static bool MentionsBusyFile(string? description) =>
        description is not null && s_busyMarkers.Any(m => description.Contains(m, StringComparison.OrdinalIgnoreCase));
}
