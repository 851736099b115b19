using Prism.Scanner.Fleet;

namespace Prism.Fleet.Scanning;

/// <summary>How a front end hears about a running scan: the CLI prints to stderr and draws a progress bar,
/// PowerShell writes warnings and Write-Progress records (from its pipeline thread).</summary>
public interface IFleetScanObserver
{
    /// <summary>Something the user should know that does not fail the scan by itself (a store moved aside, a lock wait,
    /// a signature line not loaded, a chain that could not be opened).</summary>
    void Notice(string message);

    /// <summary>A problem the scan works around (a store that may be missing, an old report that may not be deleted).</summary>
    void Warning(string message);

    /// <summary>A group (one parent and its clones) starts.</summary>
    void GroupStarted(string parent, int clones);

    /// <summary>Progress inside the current group; may be called from scanner threads.</summary>
    void Progress(FleetProgress progress);

    /// <summary>The current group finished.</summary>
    void GroupFinished();
}
