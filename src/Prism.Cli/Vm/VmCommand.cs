using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Prism.Provisioner.HyperV;

namespace Prism.Cli.Vm;

/// <summary><c>prism vm ...</c>: attach and detach VHDX files on Hyper-V VMs, and create disks through Hyper-V (WMI v2).</summary>
internal sealed class VmCommand
{
    private readonly Argument<string> _clone = CliOptions.Arg("CLONE", "the VHDX file (a path on the Hyper-V host)");
    private readonly Argument<string> _path = CliOptions.Arg("PATH", "the VHDX file to create (a path on the Hyper-V host)");
    private readonly Option<string?> _vm = CliOptions.Text("--vm", "the virtual machine's name", "VM", required: true);
    private readonly Option<string> _controller = CliOptions.OneOf("--controller", "the controller type", "scsi", "scsi", "ide");
    private readonly Option<int?> _number = CliOptions.Int("--number", "the controller number", 0);
    private readonly Option<int?> _location = CliOptions.Int("--location", "the location on the controller (default: the first free one)");
    private readonly Option<bool> _json = CliOptions.JsonFlag();
    private readonly Option<string> _type = CliOptions.OneOf("--type", "the disk type", "dynamic", "dynamic", "fixed", "differencing");
    private readonly Option<string?> _parent = CliOptions.Text("--parent", "the parent of a differencing disk", "PARENT");
    private readonly Option<long?> _size = CliOptions.Size("--size", "virtual size (fixed and dynamic disks)");
    private readonly Option<long?> _blockSize = CliOptions.Size("--block-size", "block size (default: Hyper-V's)");
    private readonly Option<int?> _logical = CliOptions.Int("--logical-sector", "logical sector size, 512 or 4096");
    private readonly Option<int?> _physical = CliOptions.Int("--physical-sector", "physical sector size, 512 or 4096");

    /// <summary><c>prism vm attach|detach|create-disk</c> against the host <paramref name="connect"/> opens (default: the local one).</summary>
    public static Command Create(Func<HyperVDiskService>? connect = null) => new VmCommand().Build(connect);

    private Command Build(Func<HyperVDiskService>? connect)
    {
        var attach = new Command("attach", "attach a VHDX to a VM (first free location of the controller unless --location)")
        {
            _clone, _vm, _controller, _number, _location, _json,
        };
        attach.SetAction(p => Execute(p, ParseAttach(p), connect));
        var detach = new Command("detach", "detach a VHDX from a VM") { _clone, _vm };
        detach.SetAction(p => Execute(p, ParseDetach(p), connect));
        Command createDisk = BuildCreateDisk(connect);
        return CliOptions.Group("vm", "Hyper-V: attach and detach clones, create disks through Hyper-V (Windows with Hyper-V only; "
            + "run elevated or as a Hyper-V Administrator)", attach, detach, createDisk);
    }

    /// <summary>Parses <c>vm</c> arguments (<c>attach CLONE --vm VM ...</c>) and runs them against the host <paramref name="connect"/>
    /// opens (tests pass a fake); the command line is checked completely before it is called.</summary>
    internal static int Run(string[] args, Func<HyperVDiskService>? connect, TextWriter stdout, TextWriter stderr)
    {
        RootCommand root = Program.NewRoot();
        root.Subcommands.Add(Create(connect));
        return Program.Run(root, ["vm", .. args], stdout, stderr);
    }

    /// <summary><c>prism vm create-disk</c>; also what <c>prism disk create|clone --via-hyperv</c> runs.</summary>
    public static Command CreateDiskCommand(Func<HyperVDiskService>? connect = null) => new VmCommand().BuildCreateDisk(connect);

    private Command BuildCreateDisk(Func<HyperVDiskService>? connect)
    {
        var createDisk = new Command("create-disk", "create a VHDX through Hyper-V's Msvm_ImageManagementService "
            + "(--size for fixed/dynamic, --type differencing --parent PARENT for a child)")
        {
            _path, _type, _parent, _size, _blockSize, _logical, _physical,
        };
        createDisk.SetAction(p => Execute(p, ParseCreateDisk(p.GetValue(_path)!, p.GetValue(_type)!, p.GetValue(_parent), p.GetValue(_size),
            p.GetValue(_blockSize), p.GetValue(_logical), p.GetValue(_physical)), connect));
        return createDisk;
    }

    /// <summary>
    /// Exit 0 on success, 1 on a Hyper-V failure (one line on stderr, also when this host has no Hyper-V). The command
    /// line was checked completely (the operation built) before <paramref name="connect"/> is called.
    /// </summary>
    internal static int Execute(ParseResult p, Func<HyperVDiskService, Task<Action<TextWriter>>> operation, Func<HyperVDiskService>? connect)
    {
        TextWriter stdout = p.InvocationConfiguration.Output;
        TextWriter stderr = p.InvocationConfiguration.Error;
        try
        {
            using HyperVDiskService service = (connect ?? (() => HyperVDiskService.Connect()))();
            Action<TextWriter> report = operation(service).GetAwaiter().GetResult();
            report(stdout);
            return 0;
        }
        catch (Exception e) when (e is HyperVUnavailableException or HyperVOperationException or ArgumentException)
        {
            stderr.WriteLine($"prism: {e.Message.ReplaceLineEndings(" ").Trim()}");
            return 1;
        }
    }

    private Func<HyperVDiskService, Task<Action<TextWriter>>> ParseAttach(ParseResult a)
    {
        HyperVControllerType controller = a.GetValue(_controller) == "ide" ? HyperVControllerType.Ide : HyperVControllerType.Scsi;
        int capacity = controller == HyperVControllerType.Ide ? 2 : 64;
        int? location = a.GetValue(_location);
        if (location >= capacity)
        {
            throw new UsageException($"--location must be 0-{capacity - 1} on {(controller == HyperVControllerType.Ide ? "an IDE" : "a SCSI")} controller");
        }

        var request = new HyperVAttachRequest
        {
            DiskPath = HostPath(a.GetValue(_clone)!),
            VmName = Required(a.GetValue(_vm), "--vm", "VM"),
            Controller = controller,
            ControllerNumber = a.GetValue(_number) ?? 0,
            Location = location,
        };
        bool json = a.GetValue(_json);
        return async service =>
        {
            HyperVAttachment r = await service.AttachAsync(request).ConfigureAwait(false);
            return stdout =>
            {
                if (json)
                {
                    WriteJson(stdout, r);
                }
                else
                {
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"attached {r.DiskPath} to VM '{r.VmName}' at {(r.Controller == HyperVControllerType.Ide ? "IDE" : "SCSI")} {r.ControllerNumber}:{r.Location}"));
                }
            };
        };
    }

    private Func<HyperVDiskService, Task<Action<TextWriter>>> ParseDetach(ParseResult a)
    {
        string disk = HostPath(a.GetValue(_clone)!);
        string vm = Required(a.GetValue(_vm), "--vm", "VM");
        return async service =>
        {
            int removed = await service.DetachAsync(vm, disk).ConfigureAwait(false);
            return stdout => stdout.WriteLine(removed == 1
                ? $"detached {disk} from VM '{vm}'"
                : string.Create(CultureInfo.InvariantCulture, $"detached {disk} from VM '{vm}' ({removed} attachments)"));
        };
    }

    internal static Func<HyperVDiskService, Task<Action<TextWriter>>> ParseCreateDisk(string diskPath, string typeName, string? parent,
        long? size, long? block, int? logicalSector, int? physicalSector)
    {
        string path = HostPath(diskPath);
        VirtualHardDiskType type = typeName switch
        {
            "fixed" => VirtualHardDiskType.Fixed,
            "differencing" => VirtualHardDiskType.Differencing,
            _ => VirtualHardDiskType.Dynamic,
        };
        if (block > int.MaxValue)
        {
            throw new UsageException("--block-size is too large");
        }

        var settings = new VirtualHardDiskSettings
        {
            Path = path,
            Type = type,
            MaxInternalSize = size,
            ParentPath = parent is null ? null : HostPath(parent),
            BlockSize = (int?)block,
            LogicalSectorSize = logicalSector,
            PhysicalSectorSize = physicalSector,
        };
        try
        {
            settings.Validate();
        }
        catch (ArgumentException e)
        {
            string hint = type == VirtualHardDiskType.Differencing ? " (differencing: --parent, no --size)" : " (fixed/dynamic: --size, no --parent)";
            throw new UsageException(e.Message.Split(" (Parameter", 2)[0] + hint);
        }

        return async service =>
        {
            await service.CreateDiskAsync(settings).ConfigureAwait(false);
            return stdout => stdout.WriteLine($"created {settings.Type.ToString().ToLowerInvariant()} VHDX {settings.Path} through Hyper-V");
        };
    }

    private static string Required(string? value, string option, string what) =>
        value is { Length: > 0 } v ? v : throw new UsageException($"{option} {what} is required");

    // Hyper-V resolves paths in its own service process, so relative paths are made absolute here; off Windows the
    // path is a Windows path for a remote host in the future and is passed through untouched.
    private static string HostPath(string path) => OperatingSystem.IsWindows() ? Path.GetFullPath(path) : path;

    private static void WriteJson(TextWriter stdout, HyperVAttachment r)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("vm", r.VmName);
            w.WriteString("vmId", r.VmId);
            w.WriteString("disk", r.DiskPath);
            w.WriteString("controller", r.Controller == HyperVControllerType.Ide ? "ide" : "scsi");
            w.WriteNumber("controllerNumber", r.ControllerNumber);
            w.WriteNumber("location", r.Location);
            w.WriteString("drivePath", r.DrivePath);
            if (r.DiskSettingPath is null)
            {
                w.WriteNull("diskSettingPath");
            }
            else
            {
                w.WriteString("diskSettingPath", r.DiskSettingPath);
            }

            w.WriteEndObject();
        }

        stdout.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
    }
}
