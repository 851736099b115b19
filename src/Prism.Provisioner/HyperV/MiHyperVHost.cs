using System.Globalization;
using System.Runtime.Versioning;
using Microsoft.Management.Infrastructure;

namespace Prism.Provisioner.HyperV;

/// <summary>
/// <see cref="IHyperVHost"/> over the local WMI v2 provider (root\virtualization\v2) through the MI .NET client
/// (Microsoft.Management.Infrastructure). Every CimException becomes a HyperVOperationException with source Cim
/// and the MI status code, so callers never see MI types.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed class MiHyperVHost : IHyperVHost
{
    private readonly CimSession _session;
    private readonly CimInstance _managementService;
    private readonly string _serverName;
    private CimInstance? _imageService;

    private MiHyperVHost(CimSession session, CimInstance managementService)
    {
        _session = session;
        _managementService = managementService;
        _serverName = managementService.CimSystemProperties.ServerName is { Length: > 0 } server ? server : Environment.MachineName;
    }

    /// <summary>Opens a local session and finds Msvm_VirtualSystemManagementService; throws HyperVUnavailableException if the namespace or class is missing or access is denied.</summary>
    public static MiHyperVHost Connect()
    {
        CimSession? session = null;
        try
        {
            session = CimSession.Create(null);
            CimInstance service = session.QueryInstances(HyperVNames.Namespace, HyperVNames.QueryDialect,
                    $"SELECT * FROM {HyperVNames.Classes.VirtualSystemManagementService}").FirstOrDefault()
                ?? throw new HyperVUnavailableException($"{HyperVNames.Namespace} has no {HyperVNames.Classes.VirtualSystemManagementService} (is the Hyper-V Virtual Machine Management service running?)");
            var host = new MiHyperVHost(session, service);
            session = null;
            return host;
        }
        catch (CimException e) when (e.NativeErrorCode is NativeErrorCode.InvalidNamespace or NativeErrorCode.InvalidClass)
        {
            throw new HyperVUnavailableException($"the WMI namespace {HyperVNames.Namespace} is missing (enable the Hyper-V role or feature)", e);
        }
        catch (CimException e) when (e.NativeErrorCode == NativeErrorCode.AccessDenied)
        {
            throw new HyperVUnavailableException($"access to {HyperVNames.Namespace} was denied (run elevated or as a member of Hyper-V Administrators)", e);
        }
        catch (CimException e)
        {
            throw new HyperVUnavailableException($"connecting to {HyperVNames.Namespace} failed: {e.NativeErrorCode}: {e.Message.ReplaceLineEndings(" ").Trim()}", e);
        }
        finally
        {
            session?.Dispose();
        }
    }

    public IReadOnlyList<HyperVVirtualMachine> FindVirtualMachines(string name) => Cim("query Msvm_ComputerSystem", () =>
    {
        var result = new List<HyperVVirtualMachine>();
        foreach (CimInstance system in Query(HyperVNames.Classes.ComputerSystem, HyperVNames.Properties.ElementName, name))
        {
            using (system)
            {
                // The host itself is a Msvm_ComputerSystem too; only VMs have a realized VirtualSystemSettingData.
                string id = String(system, HyperVNames.Properties.Name) ?? "";
                using CimInstance? settings = RealizedSettings(id);
                if (settings is not null)
                {
                    result.Add(new HyperVVirtualMachine(id, String(system, HyperVNames.Properties.ElementName) ?? name, PathOf(settings)));
                }
            }
        }

        return result;
    });

    public IReadOnlyList<HyperVResourceSetting> GetResourceSettings(HyperVVirtualMachine vm, string className, string resourceSubType) =>
        Cim($"enumerate {className} of VM {vm.Id}", () =>
        {
            using CimInstance settings = RealizedSettings(vm.Id)
                ?? throw new HyperVOperationException($"VM {vm.Id} has no realized settings", HyperVErrorSource.Prism, 0, null);
            var result = new List<HyperVResourceSetting>();
            foreach (CimInstance item in _session.EnumerateAssociatedInstances(HyperVNames.Namespace, settings,
                HyperVNames.Classes.VirtualSystemSettingDataComponent, className, null, null))
            {
                using (item)
                {
                    if (string.Equals(item.CimSystemProperties.ClassName, className, StringComparison.OrdinalIgnoreCase)
                        && string.Equals(String(item, HyperVNames.Properties.ResourceSubType), resourceSubType, StringComparison.OrdinalIgnoreCase))
                    {
                        result.Add(new HyperVResourceSetting(PathOf(item), String(item, HyperVNames.Properties.InstanceId) ?? "",
                            resourceSubType, String(item, HyperVNames.Properties.Parent), String(item, HyperVNames.Properties.Address),
                            String(item, HyperVNames.Properties.AddressOnParent),
                            item.CimInstanceProperties[HyperVNames.Properties.HostResource]?.Value as string[] ?? []));
                    }
                }
            }

            // IDE controllers carry their number in Address ("0", "1"); order by it where present.
            return result.OrderBy(r => int.TryParse(r.Address, NumberStyles.None, CultureInfo.InvariantCulture, out int a) ? a : int.MaxValue)
                .ToList();
        });

    public HyperVMethodResult AddResourceSettings(HyperVVirtualMachine vm, IReadOnlyList<string> embeddedInstances) =>
        Cim(HyperVNames.Methods.AddResourceSettings, () =>
        {
            using CimInstance settings = ByPath(vm.SettingsPath);
            using var parameters = new CimMethodParametersCollection
            {
                CimMethodParameter.Create(HyperVNames.Parameters.AffectedConfiguration, settings, CimType.Reference, CimFlags.In),
                CimMethodParameter.Create(HyperVNames.Parameters.ResourceSettings, embeddedInstances.ToArray(), CimType.StringArray, CimFlags.In),
            };
            return Invoke(_managementService, HyperVNames.Methods.AddResourceSettings, parameters);
        });

    public HyperVMethodResult RemoveResourceSettings(IReadOnlyList<string> settingPaths) =>
        Cim(HyperVNames.Methods.RemoveResourceSettings, () =>
        {
            CimInstance[] settings = settingPaths.Select(ByPath).ToArray();
            try
            {
                using var parameters = new CimMethodParametersCollection
                {
                    CimMethodParameter.Create(HyperVNames.Parameters.ResourceSettings, settings, CimType.ReferenceArray, CimFlags.In),
                };
                return Invoke(_managementService, HyperVNames.Methods.RemoveResourceSettings, parameters);
            }
            finally
            {
                foreach (CimInstance s in settings)
                {
                    s.Dispose();
                }
            }
        });

    public HyperVMethodResult CreateVirtualHardDisk(string embeddedInstance) =>
        Cim(HyperVNames.Methods.CreateVirtualHardDisk, () =>
        {
            _imageService ??= _session.QueryInstances(HyperVNames.Namespace, HyperVNames.QueryDialect,
                    $"SELECT * FROM {HyperVNames.Classes.ImageManagementService}").FirstOrDefault()
                ?? throw new HyperVOperationException($"{HyperVNames.Namespace} has no {HyperVNames.Classes.ImageManagementService}", HyperVErrorSource.Prism, 0, null);
            using var parameters = new CimMethodParametersCollection
            {
                CimMethodParameter.Create(HyperVNames.Parameters.VirtualDiskSettingData, embeddedInstance, CimType.String, CimFlags.In),
            };
            return Invoke(_imageService, HyperVNames.Methods.CreateVirtualHardDisk, parameters);
        });

    public HyperVJobStatus GetJob(HyperVJobHandle job) => Cim($"read job {job.InstanceId}", () =>
    {
        using CimInstance instance = Query(job.ClassName, HyperVNames.Properties.InstanceId, job.InstanceId).FirstOrDefault()
            ?? throw new HyperVOperationException($"job {job.ClassName} {job.InstanceId} no longer exists", HyperVErrorSource.Prism, 0, null);
        return new HyperVJobStatus(
            Convert.ToUInt16(instance.CimInstanceProperties[HyperVNames.Properties.JobState]?.Value ?? 0, CultureInfo.InvariantCulture),
            Convert.ToInt32(instance.CimInstanceProperties[HyperVNames.Properties.ErrorCode]?.Value ?? 0, CultureInfo.InvariantCulture),
            String(instance, HyperVNames.Properties.ErrorDescription),
            instance.CimInstanceProperties[HyperVNames.Properties.PercentComplete]?.Value is { } p ? Convert.ToInt32(p, CultureInfo.InvariantCulture) : null);
    });

    public void Dispose()
    {
        _imageService?.Dispose();
        _managementService.Dispose();
        _session.Dispose();
    }

    private HyperVMethodResult Invoke(CimInstance service, string method, CimMethodParametersCollection parameters)
    {
        using CimMethodResult result = _session.InvokeMethod(HyperVNames.Namespace, service, method, parameters);
        int returnValue = Convert.ToInt32(result.ReturnValue.Value, CultureInfo.InvariantCulture);
        HyperVJobHandle? job = null;
        if (result.OutParameters[HyperVNames.Parameters.Job]?.Value is CimInstance jobRef)
        {
            job = new HyperVJobHandle(jobRef.CimSystemProperties.ClassName, String(jobRef, HyperVNames.Properties.InstanceId) ?? "");
        }

        string[] resulting = result.OutParameters[HyperVNames.Parameters.ResultingResourceSettings]?.Value is CimInstance[] refs
            ? refs.Select(PathOf).ToArray()
            : [];
        return new HyperVMethodResult(returnValue, job, resulting);
    }

    private CimInstance? RealizedSettings(string vmId) =>
        _session.QueryInstances(HyperVNames.Namespace, HyperVNames.QueryDialect,
            $"SELECT * FROM {HyperVNames.Classes.VirtualSystemSettingData} WHERE {HyperVNames.Properties.VirtualSystemIdentifier} = {WmiText.WqlString(vmId)}"
            + $" AND {HyperVNames.Properties.VirtualSystemType} = {WmiText.WqlString(HyperVNames.RealizedVirtualSystemType)}").FirstOrDefault();

    private IEnumerable<CimInstance> Query(string className, string property, string value) =>
        _session.QueryInstances(HyperVNames.Namespace, HyperVNames.QueryDialect,
            $"SELECT * FROM {className} WHERE {property} = {WmiText.WqlString(value)}");

    private CimInstance ByPath(string path)
    {
        if (!WmiText.TryParseObjectPath(path, out string className, out string instanceId))
        {
            throw new HyperVOperationException($"'{path}' is not a Hyper-V object path", HyperVErrorSource.Prism, 0, null);
        }

        return Query(className, HyperVNames.Properties.InstanceId, instanceId).FirstOrDefault()
            ?? throw new HyperVOperationException($"{className} {instanceId} does not exist", HyperVErrorSource.Prism, 0, null);
    }

    private string PathOf(CimInstance instance) =>
        WmiText.ObjectPath(instance.CimSystemProperties.ServerName is { Length: > 0 } s ? s : _serverName, HyperVNames.Namespace,
            instance.CimSystemProperties.ClassName, String(instance, HyperVNames.Properties.InstanceId) ?? "");

    private static string? String(CimInstance instance, string property) => instance.CimInstanceProperties[property]?.Value as string;

    private static T Cim<T>(string operation, Func<T> call)
    {
        try
        {
            return call();
        }
        catch (CimException e)
        {
            throw new HyperVOperationException(operation, HyperVErrorSource.Cim, (int)e.NativeErrorCode, e.Message, e);
        }
    }
}
