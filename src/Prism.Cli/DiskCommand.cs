using System.Text.Json;
using Prism.Disks.Errors;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;

namespace Prism.Cli;

/// <summary><c>prism disk ...</c>: create, clone, inspect, check, read, write, map, import and export VHDX files.</summary>
internal static class DiskCommand
{
    public const string Usage = """
        usage: prism disk <command> ...
          create PATH --size S [--type dynamic|fixed] [--block-size S] [--logical-sector 512|4096] [--physical-sector 512|4096] [--via-hyperv]
          clone PARENT CHILD [--block-size S] [--windows-parent-path P] [--via-hyperv]
            (--via-hyperv: Hyper-V's Msvm_ImageManagementService makes the file; Windows hosts with Hyper-V only)
          info PATH [--json]
          check PATH [--json]
          read PATH --offset N --length N [--output F]
          write PATH --offset N [--input F]            (stdin when --input is omitted)
          map PATH [--json]
          import RAW VHDX [--block-size S] [--type dynamic|fixed]
          export VHDX RAW
        every command that writes takes --catalog F (default: $PRISM_CATALOG, else the per-user catalog): a golden,
        a parent of a clone, a clone (as an output) or a sealed VHDX is refused as a target, by path and by file identity
        sizes: 512, 0x200, 4KiB, 64GiB, 1.5MiB, 10MB
        """;

    private static readonly HashSet<string> s_flags = new(StringComparer.Ordinal) { "--json", "--allow-remote-parents", "--via-hyperv" };

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length > 0 && args[0] is "create" or "clone" && args.Contains("--via-hyperv"))
        {
            return ViaHyperV(args, stdout, stderr);
        }

        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            stdout.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        var a = new CliArgs(args.Skip(1), s_flags);
        return args[0] switch
        {
            "create" => Create(a, stdout),
            "clone" => Clone(a, stdout),
            "info" => Info(a, stdout),
            "check" => Check(a, stdout),
            "read" => Read(a, stdout),
            "write" => Write(a, stdout),
            "map" => Map(a, stdout),
            "import" => Import(a, stdout),
            "export" => Export(a, stdout),
            _ => throw new UsageException($"unknown disk command '{args[0]}'"),
        };
    }

    /// <summary>
    /// <c>create ... --via-hyperv</c> and <c>clone PARENT CHILD --via-hyperv</c>: the disk is made by Hyper-V's
    /// Msvm_ImageManagementService (through <c>prism vm create-disk</c>) instead of by Prism's own writer.
    /// </summary>
    private static int ViaHyperV(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var rest = args.Where(x => x != "--via-hyperv").ToList();
        List<string> vm;
        if (rest[0] == "clone")
        {
            if (rest.Count < 3)
            {
                throw new UsageException("clone needs PARENT CHILD");
            }

            vm = ["create-disk", rest[2], "--type", "differencing", "--parent", rest[1], .. rest.Skip(3)];
        }
        else
        {
            vm = ["create-disk", .. rest.Skip(1)];
        }

        return Vm.VmCommand.Run([.. vm], stdout, stderr);
    }

    private static VhdxOpenOptions OpenOptions(CliArgs a, bool writable = false) =>
        new() { Writable = writable, AllowRemoteParents = a.Flag("--allow-remote-parents") };

    /// <summary>
    /// The protected disks of the catalog (--catalog, else $PRISM_CATALOG, else the per-user one; none if it does not
    /// exist) plus the sealed-VHDX rule; <paramref name="includeClones"/> for files that are created or replaced.
    /// </summary>
    private static WriteTargetGuard Guard(CliArgs a, bool includeClones) =>
        Prism.Provisioner.Catalog.ProtectedDisks.Guard(a.Option("--catalog"), includeClones);

    private static VhdxDiskType ParseType(string? type) => type switch
    {
        null or "dynamic" => VhdxDiskType.Dynamic,
        "fixed" => VhdxDiskType.Fixed,
        _ => throw new UsageException($"--type must be dynamic or fixed, not '{type}'"),
    };

    private static int SectorOption(CliArgs a, string name, int fallback)
    {
        int? v = a.Int(name);
        return v switch
        {
            null => fallback,
            512 or 4096 => v.Value,
            _ => throw new UsageException($"{name} must be 512 or 4096"),
        };
    }

    private static int Create(CliArgs a, TextWriter stdout)
    {
        string path = a.Positional(0, "PATH");
        long size = a.Size("--size") ?? throw new UsageException("create needs --size");
        var options = new VhdxCreateOptions
        {
            VirtualSize = size,
            Type = ParseType(a.Option("--type")),
            BlockSize = a.Size("--block-size"),
            LogicalSectorSize = SectorOption(a, "--logical-sector", 512),
            PhysicalSectorSize = SectorOption(a, "--physical-sector", 4096),
        };
        WriteTargetGuard guard = Guard(a, includeClones: true);
        a.RejectUnknown();
        guard.Check(path, "new disk");
        Wrap(() => VhdxDisk.Create(path, options));
        stdout.WriteLine($"created {path}: {options.Type.ToString().ToLowerInvariant()}, {CliArgs.FormatSize(size)}");
        return 0;
    }

    private static int Clone(CliArgs a, TextWriter stdout)
    {
        string parent = a.Positional(0, "PARENT");
        string child = a.Positional(1, "CHILD");
        var options = new VhdxDifferencingOptions
        {
            BlockSize = a.Size("--block-size"),
            WindowsParentPath = a.Option("--windows-parent-path"),
            AllowRemoteParents = a.Flag("--allow-remote-parents"),
        };
        WriteTargetGuard guard = Guard(a, includeClones: true);
        a.RejectUnknown();
        guard.Check(child, "new disk");
        Wrap(() => VhdxDisk.CreateDifferencing(child, parent, options));
        stdout.WriteLine($"created {child}: differencing child of {parent}");
        return 0;
    }

    /// <summary>Turns option validation errors into one-line usage errors.</summary>
    private static void Wrap(Action action)
    {
        try
        {
            action();
        }
        catch (ArgumentException e) when (e is not ArgumentNullException)
        {
            throw new UsageException(e.Message.Split(" (Parameter", 2)[0]);
        }
    }

    private static int Info(CliArgs a, TextWriter stdout)
    {
        string path = a.Positional(0, "PATH");
        bool json = a.Flag("--json");
        VhdxOpenOptions options = OpenOptions(a);
        a.RejectUnknown();
        using VhdxDisk disk = VhdxDisk.Open(path, options);
        long allocated = disk.GetAllocatedBytes();
        IReadOnlyList<VhdxDisk> chain = disk.Chain;
        if (json)
        {
            using var jsonBuffer = new MemoryStream();
            using var w = new Utf8JsonWriter(jsonBuffer, new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            w.WriteString("path", disk.Path);
            w.WriteString("format", "vhdx");
            w.WriteString("type", disk.Type.ToString().ToLowerInvariant());
            w.WriteNumber("virtualSize", disk.VirtualSize);
            w.WriteNumber("fileSize", disk.FileSize);
            w.WriteNumber("blockSize", disk.BlockSize);
            w.WriteNumber("logicalSectorSize", disk.LogicalSectorSize);
            w.WriteNumber("physicalSectorSize", disk.PhysicalSectorSize);
            w.WriteString("diskId", disk.DiskId.ToString("D"));
            w.WriteString("dataWriteGuid", disk.DataWriteGuid.ToString("D"));
            w.WriteString("fileWriteGuid", disk.FileWriteGuid.ToString("D"));
            if (disk.Parent is { } p)
            {
                w.WriteString("parentPath", p.Path);
            }
            else
            {
                w.WriteNull("parentPath");
            }

            if (disk.ParentLinkage is Guid linkage)
            {
                w.WriteString("parentLinkage", linkage.ToString("D"));
            }

            w.WriteStartArray("chain");
            foreach (VhdxDisk d in chain)
            {
                w.WriteStringValue(d.Path);
            }

            w.WriteEndArray();
            w.WriteNumber("allocatedBytes", allocated);
            w.WriteNumber("depth", chain.Count);
            w.WriteEndObject();
            w.Flush();
            WriteJson(stdout, jsonBuffer);
            return 0;
        }

        stdout.WriteLine($"Path:                 {TextEscaping.Escape(disk.Path)}");
        stdout.WriteLine("Format:               VHDX");
        stdout.WriteLine($"Type:                 {disk.Type}");
        stdout.WriteLine($"Virtual size:         {disk.VirtualSize} ({CliArgs.FormatSize(disk.VirtualSize)})");
        stdout.WriteLine($"File size:            {disk.FileSize} ({CliArgs.FormatSize(disk.FileSize)})");
        stdout.WriteLine($"Block size:           {disk.BlockSize} ({CliArgs.FormatSize(disk.BlockSize)})");
        stdout.WriteLine($"Logical sector size:  {disk.LogicalSectorSize}");
        stdout.WriteLine($"Physical sector size: {disk.PhysicalSectorSize}");
        stdout.WriteLine($"Disk identifier:      {disk.DiskId:D}");
        stdout.WriteLine($"Data write GUID:      {disk.DataWriteGuid:D}");
        stdout.WriteLine($"Parent path:          {(disk.Parent is { } parent ? TextEscaping.Escape(parent.Path) : "-")}");
        stdout.WriteLine($"Allocated here:       {allocated} ({CliArgs.FormatSize(allocated)})");
        for (int i = 0; i < chain.Count; i++)
        {
            stdout.WriteLine($"Chain[{i}]:             {TextEscaping.Escape(chain[i].Path)}");
        }

        return 0;
    }

    private static int Check(CliArgs a, TextWriter stdout)
    {
        string path = a.Positional(0, "PATH");
        bool json = a.Flag("--json");
        VhdxOpenOptions options = OpenOptions(a);
        a.RejectUnknown();
        IReadOnlyList<(string Path, VhdxCheckIssue Issue)> issues;
        using (VhdxDisk disk = VhdxDisk.Open(path, options))
        {
            issues = disk.CheckChain();
        }

        bool errors = issues.Any(i => i.Issue.Severity == VhdxCheckSeverity.Error);
        if (json)
        {
            using var jsonBuffer = new MemoryStream();
            using var w = new Utf8JsonWriter(jsonBuffer, new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            w.WriteString("path", Path.GetFullPath(path));
            w.WriteBoolean("consistent", !errors);
            w.WriteStartArray("issues");
            foreach ((string file, VhdxCheckIssue issue) in issues)
            {
                w.WriteStartObject();
                w.WriteString("file", file);
                w.WriteString("severity", issue.Severity.ToString().ToLowerInvariant());
                w.WriteString("message", issue.Message);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
            w.Flush();
            WriteJson(stdout, jsonBuffer);
        }
        else
        {
            foreach ((string file, VhdxCheckIssue issue) in issues)
            {
                stdout.WriteLine($"{issue.Severity.ToString().ToLowerInvariant()}: {TextEscaping.Escape(file)}: {TextEscaping.Escape(issue.Message)}");
            }

            stdout.WriteLine(errors ? $"{path}: problems found" : $"{path}: no errors");
        }

        return errors ? 1 : 0;
    }

    /// <summary>JSON goes to the command's stdout writer (not around it to the process stdout), newline-terminated.</summary>
    private static void WriteJson(TextWriter stdout, MemoryStream json)
    {
        stdout.WriteLine(System.Text.Encoding.UTF8.GetString(json.GetBuffer(), 0, (int)json.Length));
        stdout.Flush();
    }

    private static int Read(CliArgs a, TextWriter stdout)
    {
        string path = a.Positional(0, "PATH");
        long offset = a.Long("--offset") ?? throw new UsageException("read needs --offset");
        long length = a.Long("--length") ?? throw new UsageException("read needs --length");
        string? output = a.Option("--output");
        VhdxOpenOptions options = OpenOptions(a);
        WriteTargetGuard guard = Guard(a, includeClones: true);
        a.RejectUnknown();
        if (output is not null)
        {
            guard.Check(output, "--output file");
        }

        using VhdxDisk disk = VhdxDisk.Open(path, options);
        if (offset < 0 || length < 0 || offset > disk.VirtualSize || length > disk.VirtualSize - offset)
        {
            throw new UsageException($"range {offset}+{length} lies outside the {disk.VirtualSize}-byte disk");
        }

        using Stream target = output is null ? Console.OpenStandardOutput() : new FileStream(output, FileMode.Create, FileAccess.Write);
        byte[] buf = new byte[4 * 1024 * 1024];
        while (length > 0)
        {
            int n = (int)Math.Min(buf.Length, length);
            disk.ReadExactly(buf.AsSpan(0, n), offset);
            target.Write(buf, 0, n);
            offset += n;
            length -= n;
        }

        return 0;
    }

    private static int Write(CliArgs a, TextWriter stdout)
    {
        string path = a.Positional(0, "PATH");
        long offset = a.Long("--offset") ?? throw new UsageException("write needs --offset");
        string? input = a.Option("--input");
        WriteTargetGuard guard = Guard(a, includeClones: false);
        a.RejectUnknown();

        // A golden or the parent of a clone is never opened for writing, whatever its permission bits (root ignores them).
        guard.Check(path, "disk to write");
        using Stream source = input is null ? Console.OpenStandardInput() : File.OpenRead(input);
        using VhdxDisk disk = VhdxDisk.Open(path, new VhdxOpenOptions { Writable = true });
        if (source.CanSeek && (offset < 0 || offset > disk.VirtualSize || source.Length > disk.VirtualSize - offset))
        {
            throw new UsageException($"writing {source.Length} bytes at {offset} passes the end of the {disk.VirtualSize}-byte disk");
        }

        byte[] buf = new byte[4 * 1024 * 1024];
        long total = 0;
        int n;
        while ((n = source.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false)) > 0)
        {
            disk.Write(buf.AsSpan(0, n), offset + total);
            total += n;
        }

        disk.Flush();
        stdout.WriteLine($"wrote {total} bytes at {offset} to {path}");
        return 0;
    }

    private static int Map(CliArgs a, TextWriter stdout)
    {
        string path = a.Positional(0, "PATH");
        bool json = a.Flag("--json");
        VhdxOpenOptions options = OpenOptions(a);
        a.RejectUnknown();
        using VhdxDisk disk = VhdxDisk.Open(path, options);
        IReadOnlyList<VhdxDisk> chain = disk.Chain;
        IReadOnlyList<ChainRange> map = disk.GetChainMap();
        if (json)
        {
            using var jsonBuffer = new MemoryStream();
            using var w = new Utf8JsonWriter(jsonBuffer, new JsonWriterOptions { Indented = false });
            w.WriteStartArray();
            foreach (ChainRange r in map)
            {
                w.WriteStartObject();
                w.WriteNumber("offset", r.Offset);
                w.WriteNumber("length", r.Length);
                w.WriteNumber("layer", r.Layer);
                w.WriteString("path", chain[r.Layer].Path);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.Flush();
            WriteJson(stdout, jsonBuffer);
            return 0;
        }

        stdout.WriteLine($"{"offset",18} {"length",18}  layer  file");
        foreach (ChainRange r in map)
        {
            stdout.WriteLine($"0x{r.Offset:X16} 0x{r.Length:X16}  {r.Layer,5}  {TextEscaping.Escape(chain[r.Layer].Path)}");
        }

        return 0;
    }

    private static int Import(CliArgs a, TextWriter stdout)
    {
        string raw = a.Positional(0, "RAW");
        string vhdx = a.Positional(1, "VHDX");
        long? blockSize = a.Size("--block-size");
        VhdxDiskType type = ParseType(a.Option("--type"));
        WriteTargetGuard guard = Guard(a, includeClones: true);
        a.RejectUnknown();
        guard.Check(vhdx, "import target");
        using var source = new FileDiskSource(raw);
        long size = (source.Length + 511) / 512 * 512;
        if (size == 0)
        {
            throw new UsageException($"{raw} is empty");
        }

        Wrap(() => VhdxDisk.Create(vhdx, new VhdxCreateOptions { VirtualSize = size, BlockSize = blockSize, Type = type }));
        try
        {
            using VhdxDisk disk = VhdxDisk.Open(vhdx, new VhdxOpenOptions { Writable = true });
            int chunk = (int)disk.BlockSize;
            byte[] buf = new byte[chunk];
            long written = 0;
            for (long offset = 0; offset < source.Length; offset += chunk)
            {
                int n = source.Read(buf, offset);
                Span<byte> data = buf.AsSpan(0, n);
                if (data.ContainsAnyExcept((byte)0))
                {
                    disk.Write(data, offset);
                    written += n;
                }
            }

            disk.Flush();
            stdout.WriteLine($"imported {raw} into {vhdx}: {CliArgs.FormatSize(size)}, {CliArgs.FormatSize(written)} in allocated blocks");
        }
        catch
        {
            File.Delete(vhdx);
            throw;
        }

        return 0;
    }

    private static int Export(CliArgs a, TextWriter stdout)
    {
        string vhdx = a.Positional(0, "VHDX");
        string raw = a.Positional(1, "RAW");
        VhdxOpenOptions options = OpenOptions(a);
        WriteTargetGuard guard = Guard(a, includeClones: true);
        a.RejectUnknown();
        guard.Check(raw, "export target");
        guard.Check(raw + ".prism-tmp", "export temporary file");
        using VhdxDisk disk = VhdxDisk.Open(vhdx, options);
        disk.ExportRaw(raw);
        stdout.WriteLine($"exported {vhdx} to {raw}: {CliArgs.FormatSize(disk.VirtualSize)}");
        return 0;
    }
}
