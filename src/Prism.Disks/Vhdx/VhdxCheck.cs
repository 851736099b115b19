namespace Prism.Disks.Vhdx;

/// <summary>How serious a finding of <see cref="VhdxDisk.Check"/> is.</summary>
public enum VhdxCheckSeverity
{
    /// <summary>Legal and handled (a torn header copy, a log replayed in memory).</summary>
    Warning,

    /// <summary>The file is inconsistent.</summary>
    Error,
}

/// <summary>One finding of a consistency check.</summary>
/// <param name="Severity">Warning or error.</param>
/// <param name="Message">What is wrong and where (file offset).</param>
public sealed record VhdxCheckIssue(VhdxCheckSeverity Severity, string Message);
