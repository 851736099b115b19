namespace Prism.Provisioner.HyperV;

/// <summary>CIM_ConcreteJob.JobState values (DMTF CIM_ConcreteJob, used by Msvm_ConcreteJob).</summary>
internal static class HyperVJobState
{
    public const ushort New = 2;
    public const ushort Starting = 3;
    public const ushort Running = 4;
    public const ushort Suspended = 5;
    public const ushort ShuttingDown = 6;
    public const ushort Completed = 7;
    public const ushort Terminated = 8;
    public const ushort Killed = 9;
    public const ushort Exception = 10;
    public const ushort Service = 11;
    public const ushort QueryPending = 12;

    /// <summary>True for the final states: Completed, Terminated, Killed, Exception.</summary>
    public static bool IsFinal(ushort state) => state is Completed or Terminated or Killed or Exception;

    public static string Describe(ushort state) => state switch
    {
        New => "new",
        Starting => "starting",
        Running => "running",
        Suspended => "suspended",
        ShuttingDown => "shutting down",
        Completed => "completed",
        Terminated => "terminated",
        Killed => "killed",
        Exception => "exception",
        Service => "service",
        QueryPending => "query pending",
        _ => $"state {state}",
    };
}
