using System.Globalization;
using Polly;

namespace Prism.Provisioner.HyperV;

/// <summary>
/// Attaches VHDX files to Hyper-V VMs, detaches them, and creates disks through Hyper-V's image management service,
/// using the WMI v2 provider. Every WMI step is retried on transient failures only, and started jobs are awaited.
/// </summary>
public sealed class HyperVDiskService : IDisposable
{
    private const int IdeLocations = 2;
    private const int ScsiLocations = 64;

    private readonly IHyperVHost _host;
    private readonly ResiliencePipeline _pipeline;
    private readonly HyperVJobWaiter _waiter;
    private bool _disposed;

    internal HyperVDiskService(IHyperVHost host, HyperVRetryOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _host = host;
        _pipeline = HyperVRetryPolicy.Create(options, timeProvider);
        _waiter = new HyperVJobWaiter(host, timeProvider, options.JobPollInterval, options.JobTimeout);
    }

    /// <summary>Connects to the local Hyper-V WMI v2 provider (root\virtualization\v2).</summary>
    /// <param name="options">Retry and job-wait bounds; null for the defaults.</param>
    /// <exception cref="HyperVUnavailableException">Not Windows, no Hyper-V WMI namespace, or access to it denied.</exception>
    public static HyperVDiskService Connect(HyperVRetryOptions? options = null) =>
        new(HyperVHostFactory.Create(), options ?? new HyperVRetryOptions(), TimeProvider.System);

    /// <summary>
    /// Adds a synthetic disk drive at the requested (or first free) location of the controller, then inserts the
    /// VHDX into it. If inserting the disk fails, the new drive is removed again.
    /// </summary>
    /// <exception cref="HyperVOperationException">The VM, controller or location is wrong, or Hyper-V refused a step.</exception>
    public async Task<HyperVAttachment> AttachAsync(HyperVAttachRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.VmName, nameof(request));
        ArgumentException.ThrowIfNullOrWhiteSpace(request.DiskPath, nameof(request));
        ArgumentOutOfRangeException.ThrowIfNegative(request.ControllerNumber, nameof(request));
        ObjectDisposedException.ThrowIf(_disposed, this);
        int capacity = request.Controller == HyperVControllerType.Ide ? IdeLocations : ScsiLocations;
        if (request.Location is < 0 || request.Location >= capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(request),
                $"location {request.Location} is outside 0-{capacity - 1} for {(request.Controller == HyperVControllerType.Ide ? "an IDE" : "a SCSI")} controller");
        }

        HyperVVirtualMachine vm = await FindVmAsync(request.VmName, cancellationToken).ConfigureAwait(false);
        string subType = request.Controller == HyperVControllerType.Ide ? HyperVNames.SubTypes.IdeController : HyperVNames.SubTypes.ScsiController;
        IReadOnlyList<HyperVResourceSetting> controllers = await QueryAsync(
            () => _host.GetResourceSettings(vm, HyperVNames.Classes.ResourceAllocationSettingData, subType), cancellationToken).ConfigureAwait(false);
        if (request.ControllerNumber >= controllers.Count)
        {
            throw Precondition($"VM '{vm.Name}' has {controllers.Count} {Name(request.Controller)} controller(s); there is no controller {request.ControllerNumber}");
        }

        HyperVResourceSetting controller = controllers[request.ControllerNumber];
        IReadOnlyList<HyperVResourceSetting> disks = await QueryAsync(
            () => _host.GetResourceSettings(vm, HyperVNames.Classes.StorageAllocationSettingData, HyperVNames.SubTypes.VirtualHardDisk), cancellationToken).ConfigureAwait(false);
        if (disks.Any(d => d.HostResource.Any(h => SameFile(h, request.DiskPath))))
        {
            throw Precondition($"'{request.DiskPath}' is already attached to VM '{vm.Name}'");
        }

        IReadOnlyList<HyperVResourceSetting> drives = await QueryAsync(
            () => _host.GetResourceSettings(vm, HyperVNames.Classes.ResourceAllocationSettingData, HyperVNames.SubTypes.SyntheticDiskDrive), cancellationToken).ConfigureAwait(false);
        var taken = drives.Where(d => WmiText.SameObject(d.Parent, controller.Path))
            .Select(d => int.TryParse(d.AddressOnParent, NumberStyles.None, CultureInfo.InvariantCulture, out int a) ? a : -1)
            .ToHashSet();
        int location;
        if (request.Location is int wanted)
        {
            if (taken.Contains(wanted))
            {
                throw Precondition($"location {wanted} on {Name(request.Controller)} controller {request.ControllerNumber} of VM '{vm.Name}' is in use");
            }

            location = wanted;
        }
        else
        {
            location = Enumerable.Range(0, capacity).Where(l => !taken.Contains(l)).DefaultIfEmpty(-1).First();
            if (location < 0)
            {
                throw Precondition($"{Name(request.Controller)} controller {request.ControllerNumber} of VM '{vm.Name}' has no free location");
            }
        }

        string driveXml = HyperVResourceSettings.DiskDrive(controller.Path, location).ToXml();
        HyperVMethodResult driveResult = await InvokeAsync(
            $"{HyperVNames.Methods.AddResourceSettings} (synthetic disk drive)", () => _host.AddResourceSettings(vm, [driveXml]), cancellationToken).ConfigureAwait(false);
        string drivePath = driveResult.ResultingPaths.Count > 0
            ? driveResult.ResultingPaths[0]
            : await FindDriveAsync(vm, controller, location, cancellationToken).ConfigureAwait(false);

        string diskXml = HyperVResourceSettings.VirtualHardDisk(drivePath, request.DiskPath).ToXml();
        HyperVMethodResult diskResult;
        try
        {
            diskResult = await InvokeAsync(
                $"{HyperVNames.Methods.AddResourceSettings} (virtual hard disk)", () => _host.AddResourceSettings(vm, [diskXml]), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HyperVOperationException or OperationCanceledException)
        {
            await RollBackDriveAsync(drivePath, e).ConfigureAwait(false);
            throw;
        }

        return new HyperVAttachment(vm.Name, vm.Id, request.DiskPath, request.Controller, request.ControllerNumber, location,
            drivePath, diskResult.ResultingPaths.Count > 0 ? diskResult.ResultingPaths[0] : null);
    }

    /// <summary>Removes every virtual hard disk setting of the VM whose file is <paramref name="diskPath"/>, then its drive.</summary>
    /// <returns>How many attachments were removed (at least 1).</returns>
    /// <exception cref="HyperVOperationException">The VM is missing, the disk is not attached to it, or Hyper-V refused.</exception>
    public async Task<int> DetachAsync(string vmName, string diskPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(vmName);
        ArgumentException.ThrowIfNullOrWhiteSpace(diskPath);
        ObjectDisposedException.ThrowIf(_disposed, this);
        HyperVVirtualMachine vm = await FindVmAsync(vmName, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<HyperVResourceSetting> disks = await QueryAsync(
            () => _host.GetResourceSettings(vm, HyperVNames.Classes.StorageAllocationSettingData, HyperVNames.SubTypes.VirtualHardDisk), cancellationToken).ConfigureAwait(false);
        var matches = disks.Where(d => d.HostResource.Any(h => SameFile(h, diskPath))).ToList();
        if (matches.Count == 0)
        {
            throw Precondition($"'{diskPath}' is not attached to VM '{vm.Name}'");
        }

        foreach (HyperVResourceSetting disk in matches)
        {
            // The disk first, then the drive that held it: the order Hyper-V Manager uses.
            await InvokeAsync($"{HyperVNames.Methods.RemoveResourceSettings} (virtual hard disk)",
                () => _host.RemoveResourceSettings([disk.Path]), cancellationToken).ConfigureAwait(false);
            if (disk.Parent is { } drivePath)
            {
                await InvokeAsync($"{HyperVNames.Methods.RemoveResourceSettings} (synthetic disk drive)",
                    () => _host.RemoveResourceSettings([drivePath]), cancellationToken).ConfigureAwait(false);
            }
        }

        return matches.Count;
    }

    /// <summary>Creates a VHDX through Msvm_ImageManagementService.CreateVirtualHardDisk and waits for its job.</summary>
    /// <exception cref="ArgumentException">The settings are inconsistent (see <see cref="VirtualHardDiskSettings.Validate"/>).</exception>
    /// <exception cref="HyperVOperationException">Hyper-V refused or the job failed.</exception>
    public async Task CreateDiskAsync(VirtualHardDiskSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ObjectDisposedException.ThrowIf(_disposed, this);
        string xml = settings.ToCimInstance().ToXml();
        await InvokeAsync(HyperVNames.Methods.CreateVirtualHardDisk, () => _host.CreateVirtualHardDisk(xml), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _host.Dispose();
        }
    }

    private async Task<HyperVVirtualMachine> FindVmAsync(string name, CancellationToken cancellationToken)
    {
        IReadOnlyList<HyperVVirtualMachine> vms = await QueryAsync(() => _host.FindVirtualMachines(name), cancellationToken).ConfigureAwait(false);
        return vms.Count switch
        {
            1 => vms[0],
            0 => throw Precondition($"no virtual machine named '{name}'"),
            _ => throw Precondition($"{vms.Count} virtual machines are named '{name}' ({string.Join(", ", vms.Select(v => v.Id))}); rename one"),
        };
    }

    // When a job ran asynchronously Hyper-V may leave ResultingResourceSettings empty; the new drive is then the
    // one on this controller at this location.
    private async Task<string> FindDriveAsync(HyperVVirtualMachine vm, HyperVResourceSetting controller, int location, CancellationToken cancellationToken)
    {
        IReadOnlyList<HyperVResourceSetting> drives = await QueryAsync(
            () => _host.GetResourceSettings(vm, HyperVNames.Classes.ResourceAllocationSettingData, HyperVNames.SubTypes.SyntheticDiskDrive), cancellationToken).ConfigureAwait(false);
        string wanted = location.ToString(CultureInfo.InvariantCulture);
        return drives.FirstOrDefault(d => WmiText.SameObject(d.Parent, controller.Path) && d.AddressOnParent == wanted)?.Path
            ?? throw Precondition($"the new disk drive at location {location} of VM '{vm.Name}' was added but cannot be found");
    }

    private async Task RollBackDriveAsync(string drivePath, Exception original)
    {
        try
        {
            // Not cancellable: an orphan empty drive is worse than a short wait.
            await InvokeAsync($"{HyperVNames.Methods.RemoveResourceSettings} (rollback of the new disk drive)",
                () => _host.RemoveResourceSettings([drivePath]), CancellationToken.None).ConfigureAwait(false);
        }
        catch (HyperVOperationException rollback)
        {
            throw new HyperVOperationException(
                $"{original.Message}; removing the new empty disk drive {drivePath} also failed: {rollback.Message}",
                HyperVErrorSource.Prism, 0, null, original);
        }
    }

    private async Task<T> QueryAsync<T>(Func<T> query, CancellationToken cancellationToken) =>
        await _pipeline.ExecuteAsync(static (q, _) => ValueTask.FromResult(q()), query, cancellationToken).ConfigureAwait(false);

    // One attempt = the method call plus waiting for its job: a job that fails transiently re-issues the call.
    private async Task<HyperVMethodResult> InvokeAsync(string operation, Func<HyperVMethodResult> call, CancellationToken cancellationToken) =>
        await _pipeline.ExecuteAsync(
            async ct =>
            {
                HyperVMethodResult result = call();
                await _waiter.WaitAsync(operation, result, ct).ConfigureAwait(false);
                return result;
            },
            cancellationToken).ConfigureAwait(false);

    private static HyperVOperationException Precondition(string message) => new(message, HyperVErrorSource.Prism, 0, null);

    private static string Name(HyperVControllerType type) => type == HyperVControllerType.Ide ? "IDE" : "SCSI";

    private static bool SameFile(string a, string b) =>
        string.Equals(a.Trim(), b.Trim(), StringComparison.OrdinalIgnoreCase);
}
