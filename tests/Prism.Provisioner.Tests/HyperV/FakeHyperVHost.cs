using Prism.Provisioner.HyperV;

namespace Prism.Provisioner.Tests.HyperV;

/// <summary>
/// An in-memory Hyper-V: VMs, their resource settings, and a call log. AddResourceSettings parses the embedded
/// CIM-XML and adds the setting; RemoveResourceSettings deletes it. <see cref="Responses"/> overrides the next
/// method results (a HyperVMethodResult to return as-is, or an exception to throw).
/// </summary>
internal sealed class FakeHyperVHost : IHyperVHost
{
    private int _next;

    public FakeHyperVHost()
    {
        Vm = new HyperVVirtualMachine("11111111-2222-3333-4444-555555555555", "web01", PathFor("Msvm_VirtualSystemSettingData", "Microsoft:VM"));
        Vms.Add(Vm);
        Scsi0 = Add("Msvm_ResourceAllocationSettingData", HyperVNames.SubTypes.ScsiController, parent: null);
        Ide0 = Add("Msvm_ResourceAllocationSettingData", HyperVNames.SubTypes.IdeController, parent: null, address: "0");
    }

    public HyperVVirtualMachine Vm { get; }

    public HyperVResourceSetting Scsi0 { get; }

    public HyperVResourceSetting Ide0 { get; }

    public List<HyperVVirtualMachine> Vms { get; } = [];

    public List<HyperVResourceSetting> Settings { get; } = [];

    public List<string> Calls { get; } = [];

    public List<string> EmbeddedInstances { get; } = [];

    public Queue<object> Responses { get; } = new();

    public Dictionary<string, Queue<HyperVJobStatus>> Jobs { get; } = [];

    public bool ReportResultingPaths { get; set; } = true;

    /// <summary>Answers AddResourceSettings for a ResourceSubType instead of the default behaviour (null: default).</summary>
    public Func<string, HyperVMethodResult?>? AddOverride { get; set; }

    public bool Disposed { get; private set; }

    public static string PathFor(string className, string instanceId) =>
        WmiText.ObjectPath("HOST", HyperVNames.Namespace, className, instanceId);

    public HyperVResourceSetting Add(string className, string subType, string? parent, string? addressOnParent = null,
        string? address = null, params string[] hostResource)
    {
        string id = $"Microsoft:{Vm.Id}\\{++_next}";
        var setting = new HyperVResourceSetting(PathFor(className, id), id, subType, parent, address, addressOnParent, hostResource);
        Settings.Add(setting);
        return setting;
    }

    public IReadOnlyList<HyperVVirtualMachine> FindVirtualMachines(string name)
    {
        Calls.Add($"FindVirtualMachines {name}");
        return Vms.Where(v => v.Name == name).ToList();
    }

    public IReadOnlyList<HyperVResourceSetting> GetResourceSettings(HyperVVirtualMachine vm, string className, string resourceSubType)
    {
        Calls.Add($"GetResourceSettings {resourceSubType}");
        return Settings.Where(s => s.ResourceSubType == resourceSubType
            && WmiText.TryParseObjectPath(s.Path, out string cls, out _) && cls == className).ToList();
    }

    public HyperVMethodResult AddResourceSettings(HyperVVirtualMachine vm, IReadOnlyList<string> embeddedInstances)
    {
        Assert.Single(embeddedInstances);
        var root = CimXml.Parse(embeddedInstances[0]);
        var p = CimXml.Properties(root);
        string subType = p["ResourceSubType"].Values![0];
        Calls.Add($"AddResourceSettings {subType}");
        EmbeddedInstances.Add(embeddedInstances[0]);
        if (AddOverride?.Invoke(subType) is { } overridden)
        {
            return overridden;
        }

        if (Next() is { } scripted)
        {
            return scripted;
        }

        HyperVResourceSetting added = Add((string)root.Attribute("CLASSNAME")!, subType, p["Parent"].Values![0],
            p.TryGetValue("AddressOnParent", out var a) ? a.Values![0] : null, null,
            p.TryGetValue("HostResource", out var h) ? h.Values! : []);
        return ReportResultingPaths ? HyperVMethodResult.Completed(added.Path) : HyperVMethodResult.Completed();
    }

    public HyperVMethodResult RemoveResourceSettings(IReadOnlyList<string> settingPaths)
    {
        Calls.Add("RemoveResourceSettings " + string.Join(",", settingPaths.Select(Describe)));
        if (Next() is { } scripted)
        {
            return scripted;
        }

        Settings.RemoveAll(s => settingPaths.Any(p => WmiText.SameObject(p, s.Path)));
        return HyperVMethodResult.Completed();
    }

    public HyperVMethodResult CreateVirtualHardDisk(string embeddedInstance)
    {
        Calls.Add("CreateVirtualHardDisk");
        EmbeddedInstances.Add(embeddedInstance);
        return Next() ?? HyperVMethodResult.Completed();
    }

    public HyperVJobStatus GetJob(HyperVJobHandle job)
    {
        Calls.Add($"GetJob {job.InstanceId}");
        Queue<HyperVJobStatus> states = Jobs[job.InstanceId];
        return states.Count > 1 ? states.Dequeue() : states.Peek();
    }

    public void Dispose() => Disposed = true;

    public string Describe(string path) =>
        Settings.FirstOrDefault(s => WmiText.SameObject(s.Path, path)) is { } s
            ? (s.ResourceSubType == HyperVNames.SubTypes.VirtualHardDisk ? "disk" : "drive") + "@" + s.AddressOnParent
            : path;

    private HyperVMethodResult? Next()
    {
        if (!Responses.TryDequeue(out object? next))
        {
            return null;
        }

        return next switch
        {
            HyperVMethodResult r => r,
            Exception e => throw e,
            _ => throw new InvalidOperationException("bad response"),
        };
    }
}
