<#
.SYNOPSIS
    Registers the nightly Prism fleet scan as a Windows scheduled task.
.DESCRIPTION
    The task runs pwsh -NoProfile -NonInteractive, which runs `prism scan --catalog` over every golden image and its
    clones, writes a timestamped JSON report into -ReportDirectory and keeps the newest -Keep reports.
    Exit code 1 of prism means "infections found" and is recorded in the report.
.EXAMPLE
    ./Register-PrismFleetScan.ps1 -Prism 'C:\Program Files\Prism\prism.exe' -Signatures 'D:\Prism\signatures' -At '02:00'
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)] [string] $Prism,
    [Parameter(Mandatory)] [string] $Signatures,
    [string] $Catalog = (Join-Path $env:ProgramData 'Prism\catalog.db'),
    [string] $ReportDirectory = (Join-Path $env:ProgramData 'Prism\reports'),
    [ValidateRange(1, 3650)] [int] $Keep = 14,
    [ValidatePattern('^\d{2}:\d{2}$')] [string] $At = '02:00',
    [string] $TaskName = 'Prism Fleet Scan',
    [string] $User = 'SYSTEM'
)
$ErrorActionPreference = 'Stop'
$store = Join-Path (Split-Path $ReportDirectory -Parent) 'verdicts.db'
$command = "& '$Prism' scan --catalog '$Catalog' --signatures '$Signatures' --report-dir '$ReportDirectory' --keep $Keep --store '$store' --quiet; " +
    'if ($LASTEXITCODE -gt 1) { exit $LASTEXITCODE }'
$action = New-ScheduledTaskAction -Execute 'pwsh.exe' -Argument "-NoProfile -NonInteractive -Command `"$command`""
$trigger = New-ScheduledTaskTrigger -Daily -At ([datetime]::ParseExact($At, 'HH:mm', $null))
$settings = New-ScheduledTaskSettingsSet -StartWhenAvailable -DontStopIfGoingOnBatteries -ExecutionTimeLimit (New-TimeSpan -Hours 8)
$principal = New-ScheduledTaskPrincipal -UserId $User -LogonType ServiceAccount -RunLevel Highest
if ($PSCmdlet.ShouldProcess($TaskName, "register a daily fleet scan at $At")) {
    New-Item -ItemType Directory -Force -Path $ReportDirectory | Out-Null
    Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Settings $settings -Principal $principal -Force |
        Select-Object TaskName, State
}
