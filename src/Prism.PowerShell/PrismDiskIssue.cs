using Prism.Disks.Vhdx;

namespace Prism.PowerShell;

/// <summary>One finding of Test-PrismDisk -Detailed.</summary>
/// <param name="Path">The file of the chain the finding is about.</param>
/// <param name="Severity">Warning (legal, handled) or Error (inconsistent).</param>
/// <param name="Message">What is wrong and where.</param>
public sealed record PrismDiskIssue(string Path, VhdxCheckSeverity Severity, string Message);
