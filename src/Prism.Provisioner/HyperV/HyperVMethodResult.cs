namespace Prism.Provisioner.HyperV;

/// <summary>A method's ReturnValue, its Job out-parameter (when 4096) and ResultingResourceSettings paths (when any).</summary>
internal sealed record HyperVMethodResult(int ReturnValue, HyperVJobHandle? Job, IReadOnlyList<string> ResultingPaths)
{
    public static HyperVMethodResult Completed(params string[] resultingPaths) => new(HyperVReturnCodes.Completed, null, resultingPaths);
}
