using System.Globalization;
using System.Text;
using System.Text.Json;
using Prism.Provisioner.HyperV;

namespace Prism.Cli.Vm;

/// <summary><c>prism vm ...</c>: attach and detach VHDX files on Hyper-V VMs, and create disks through Hyper-V (WMI v2).</summary>
internal static class VmCommand
{
    public const string Usage = """
        usage: prism vm <command> ...     (Windows with Hyper-V; run elevated or as a Hyper-V Administrator)
          attach CLONE --vm VM [--controller scsi|ide] [--number N] [--location L] [--json]
          detach CLONE --vm VM
          create-disk PATH --size S [--type dynamic|fixed] [--block-size S] [--logical-sector 512|4096] [--physical-sector 512|4096]
          create-disk PATH --type differencing --parent PARENT
        the disk is attached to the first free location of the controller unless --location is given
        sizes: 512, 0x200, 4KiB, 64GiB, 1.5MiB, 10MB
        """;

    private static readonly HashSet<string> s_flags = new(StringComparer.Ordinal) { "--json" };

    /// <summary>Runs against the local Hyper-V host.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, null, stdout, stderr);

    /// <summary>
    /// Exit 0 on success, 1 on a Hyper-V failure (one line on stderr, also when this host has no Hyper-V),
    /// 2 on a usage error. The command line is checked completely before <paramref name="connect"/> is called.
    /// </summary>
    internal static int Run(string[] args, Func<HyperVDiskService>? connect, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            (args.Length == 0 ? stderr : stdout).WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        Func<HyperVDiskService, Task<Action<TextWriter>>> operation;
        try
        {
            var a = new CliArgs(args.Skip(1), s_flags);
            operation = args[0] switch
            {
                "attach" => ParseAttach(a),
                "detach" => ParseDetach(a),
                "create-disk" => ParseCreateDisk(a),
                _ => throw new UsageException($"unknown vm command '{args[0]}'"),
            };
            a.RejectUnknown();
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"prism: {e.Message}");
            stderr.WriteLine("run 'prism vm --help' for usage");
            return 2;
        }

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

    private static Func<HyperVDiskService, Task<Action<TextWriter>>> ParseAttach(CliArgs a)
    {
        var controller = a.Option("--controller") switch
        {
            null or "scsi" => HyperVControllerType.Scsi,
            "ide" => HyperVControllerType.Ide,
            string other => throw new UsageException($"--controller must be scsi or ide, not '{other}'"),
        };
        int capacity = controller == HyperVControllerType.Ide ? 2 : 64;
        int? location = a.Int("--location");
        if (location >= capacity)
        {
            throw new UsageException($"--location must be 0-{capacity - 1} on {(controller == HyperVControllerType.Ide ? "an IDE" : "a SCSI")} controller");
        }

        var request = new HyperVAttachRequest
        {
            DiskPath = HostPath(a.Positional(0, "CLONE")),
            VmName = Required(a, "--vm", "VM"),
            Controller = controller,
            ControllerNumber = a.Int("--number") ?? 0,
            Location = location,
        };
        bool json = a.Flag("--json");
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

    private static Func<HyperVDiskService, Task<Action<TextWriter>>> ParseDetach(CliArgs a)
    {
        string disk = HostPath(a.Positional(0, "CLONE"));
        string vm = Required(a, "--vm", "VM");
        return async service =>
        {
            int removed = await service.DetachAsync(vm, disk).ConfigureAwait(false);
            return stdout => stdout.WriteLine(removed == 1
                ? $"detached {disk} from VM '{vm}'"
                : string.Create(CultureInfo.InvariantCulture, $"detached {disk} from VM '{vm}' ({removed} attachments)"));
        };
    }

    private static Func<HyperVDiskService, Task<Action<TextWriter>>> ParseCreateDisk(CliArgs a)
    {
        string path = HostPath(a.Positional(0, "PATH"));
        VirtualHardDiskType type = a.Option("--type") switch
        {
            null or "dynamic" => VirtualHardDiskType.Dynamic,
            "fixed" => VirtualHardDiskType.Fixed,
            "differencing" => VirtualHardDiskType.Differencing,
            string other => throw new UsageException($"--type must be dynamic, fixed or differencing, not '{other}'"),
        };
        string? parent = a.Option("--parent");
        long? size = a.Size("--size");
        long? block = a.Size("--block-size");
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
            LogicalSectorSize = a.Int("--logical-sector"),
            PhysicalSectorSize = a.Int("--physical-sector"),
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

    private static string Required(CliArgs a, string option, string what) =>
        a.Option(option) is { Length: > 0 } v ? v : throw new UsageException($"{option} {what} is required");

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
