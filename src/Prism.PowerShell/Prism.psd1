@{
    RootModule           = 'Prism.PowerShell.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '5f0c7a52-3d8e-4b7e-9a51-2c6f0d9e8b14'
    Author               = 'Prism'
    CompanyName          = 'Prism'
    Copyright            = '(c) Prism contributors'
    Description          = 'VHDX differencing-disk provisioning: disks, golden images, clones, fleet scans and the files of guest volumes.'
    CompatiblePSEditions = @('Core')
    PowerShellVersion    = '7.6'
    FormatsToProcess     = @('Prism.format.ps1xml')
    CmdletsToExport      = @(
        'New-PrismDisk'
        'Get-PrismDisk'
        'Test-PrismDisk'
        'Merge-PrismDisk'
        'Get-PrismFile'
        'Add-PrismGolden'
        'Get-PrismGolden'
        'New-PrismClone'
        'Get-PrismClone'
        'Reset-PrismClone'
        'Remove-PrismClone'
        'Add-PrismCloneToVM'
        'Invoke-PrismFleetScan'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags = @('VHDX', 'Hyper-V', 'Clone', 'Linux', 'Windows')
        }
    }
}
