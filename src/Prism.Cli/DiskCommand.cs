using System.CommandLine;
using System.Text.Json;
using Prism.Disks.Errors;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;

namespace Prism.Cli;

/// <summary><c>prism disk ...</c>: create, clone, inspect, check, read, write, map, import and export VHDX files.</summary>
internal sealed class DiskCommand
{
    private readonly Option<string?> _catalog = CliOptions.Catalog();
    private readonly Option<bool> _allowRemote = CliOptions.AllowRemoteParents();
    private readonly Option<bool> _json = CliOptions.JsonFlag();

    /// <summary><c>prism disk</c> and its commands.</summary>
    public static Command Create() => new DiskCommand().Build();

    private Command Build()
    {
        const string SizeHint = " (sizes: 512, 0x200, 4KiB, 64GiB, 1.5MiB, 10MB)";
        var path = CliOptions.Arg("PATH", "the VHDX file to create");
        var size = CliOptions.Size("--size", "virtual size" + SizeHint);
        size.Required = true;
        var type = CliOptions.OneOf("--type", "dynamic (blocks allocated on first write) or fixed (all blocks allocated)", "dynamic", "dynamic", "fixed");
        var blockSize = CliOptions.Size("--block-size", "block size, 1MiB-256MiB, a power of two (default 32MiB)");
        var logical = CliOptions.Int("--logical-sector", "logical sector size, 512 or 4096", 512);
        logical.AcceptOnlyFromAmong("512", "4096");
        var physical = CliOptions.Int("--physical-sector", "physical sector size, 512 or 4096", 4096);
        physical.AcceptOnlyFromAmong("512", "4096");
        var viaHyperV = CliOptions.Flag("--via-hyperv", "let Hyper-V's Msvm_ImageManagementService make the file (Windows hosts with Hyper-V only)");
        var create = new Command("create", "create a dynamic or fixed VHDX") { path, size, type, blockSize, logical, physical, viaHyperV, _catalog };
        create.SetAction(p => p.GetValue(viaHyperV)
            ? Vm.VmCommand.Execute(p, Vm.VmCommand.ParseCreateDisk(p.GetValue(path)!, p.GetValue(type)!, null, p.GetValue(size), p.GetValue(blockSize),
                p.GetResult(logical) is { Implicit: false } ? p.GetValue(logical) : null, p.GetResult(physical) is { Implicit: false } ? p.GetValue(physical) : null), null)
            : Create(p.GetValue(path)!, new VhdxCreateOptions
            {
                VirtualSize = p.GetValue(size)!.Value,
                Type = ParseType(p.GetValue(type)),
                BlockSize = p.GetValue(blockSize),
                LogicalSectorSize = p.GetValue(logical)!.Value,
                PhysicalSectorSize = p.GetValue(physical)!.Value,
            }, p));

        var parent = CliOptions.Arg("PARENT", "the parent (golden) VHDX; it is only read");
        var child = CliOptions.Arg("CHILD", "the differencing VHDX to create");
        var childBlock = CliOptions.Size("--block-size", "the child's block size (default: the parent's)");
        var windowsParent = CliOptions.Text("--windows-parent-path", "absolute Windows path of the parent, stored in the parent locator (e.g. 'D:\\VMs\\golden.vhdx')", "PATH");
        var viaHyperV2 = CliOptions.Flag("--via-hyperv", "let Hyper-V make the child (Windows hosts with Hyper-V only)");
        var clone = new Command("clone", "create a differencing child of PARENT (constant time: headers and metadata only)")
        {
            parent, child, childBlock, windowsParent, _allowRemote, viaHyperV2, _catalog,
        };
        clone.SetAction(p => p.GetValue(viaHyperV2)
            ? Vm.VmCommand.Execute(p, Vm.VmCommand.ParseCreateDisk(p.GetValue(child)!, "differencing", p.GetValue(parent), null, p.GetValue(childBlock), null, null), null)
            : Clone(p.GetValue(parent)!, p.GetValue(child)!, new VhdxDifferencingOptions
            {
                BlockSize = p.GetValue(childBlock),
                WindowsParentPath = p.GetValue(windowsParent),
                AllowRemoteParents = p.GetValue(_allowRemote),
            }, p));

        var disk = CliOptions.Arg("PATH", "the VHDX file");
        var info = new Command("info", "format, type, sizes, block size, sectors, disk id, parent, chain, bytes held by this layer, partitions and their file systems") { disk, _json, _allowRemote };
        info.SetAction(p => Info(p.GetValue(disk)!, p.GetValue(_json), OpenOptions(p), p.InvocationConfiguration.Output));
        var check = new Command("check", "check the disk and its chain; exit 0 consistent, 1 problems listed") { disk, _json, _allowRemote };
        check.SetAction(p => Check(p.GetValue(disk)!, p.GetValue(_json), OpenOptions(p), p.InvocationConfiguration.Output));

        var offset = CliOptions.Bytes("--offset", "byte offset on the virtual disk", required: true);
        var length = CliOptions.Bytes("--length", "number of bytes", required: true);
        var output = CliOptions.Text("--output", "write to this file instead of stdout", "FILE");
        var read = new Command("read", "read bytes of the virtual disk (through the chain)") { disk, offset, length, output, _allowRemote, _catalog };
        read.SetAction(p => Read(p.GetValue(disk)!, p.GetValue(offset)!.Value, p.GetValue(length)!.Value, p.GetValue(output), OpenOptions(p), p));
        var input = CliOptions.Text("--input", "read the bytes from this file (default: stdin)", "FILE");
        var write = new Command("write", "write bytes into the virtual disk (never a golden or a parent)") { disk, offset, input, _catalog };
        write.SetAction(p => Write(p.GetValue(disk)!, p.GetValue(offset)!.Value, p.GetValue(input), p));
        var map = new Command("map", "[{offset, length, layer, path}]: which layer serves each range (0 = this disk, 1 = its parent, ...)") { disk, _json, _allowRemote };
        map.SetAction(p => Map(p.GetValue(disk)!, p.GetValue(_json), OpenOptions(p), p.InvocationConfiguration.Output));

        var raw = CliOptions.Arg("RAW", "the raw image");
        var vhdx = CliOptions.Arg("VHDX", "the VHDX file");
        var importBlock = CliOptions.Size("--block-size", "block size of the new VHDX (default 32MiB)");
        var importType = CliOptions.OneOf("--type", "dynamic or fixed", "dynamic", "dynamic", "fixed");
        var import = new Command("import", "convert a raw image into a new VHDX (all-zero blocks stay unallocated)") { raw, vhdx, importBlock, importType, _catalog };
        import.SetAction(p => Import(p.GetValue(raw)!, p.GetValue(vhdx)!, p.GetValue(importBlock), ParseType(p.GetValue(importType)), p));
        var vhdxIn = CliOptions.Arg("VHDX", "the VHDX file (with its chain)");
        var rawOut = CliOptions.Arg("RAW", "the raw image to write");
        var export = new Command("export", "flatten the chain into a raw image, sparse where no layer holds data") { vhdxIn, rawOut, _allowRemote, _catalog };
        export.SetAction(p => Export(p.GetValue(vhdxIn)!, p.GetValue(rawOut)!, OpenOptions(p), p));

        return CliOptions.Group("disk", "create, clone, inspect, check, read, write, map, import and export VHDX files. Every command that "
            + "writes refuses a golden, a parent of a clone, a clone (as an output) or a sealed VHDX as its target, by path and by file identity",
            create, clone, info, check, read, write, map, import, export);
    }

    private VhdxOpenOptions OpenOptions(ParseResult p, bool writable = false) =>
        new() { Writable = writable, AllowRemoteParents = p.GetValue(_allowRemote) };

    /// <summary>
    /// The protected disks of the catalog (--catalog, else $PRISM_CATALOG, else the per-user one; none if it does not
    /// exist) plus the sealed-VHDX rule; <paramref name="includeClones"/> for files that are created or replaced.
    /// </summary>
    private WriteTargetGuard Guard(ParseResult p, bool includeClones) =>
        Prism.Provisioner.Catalog.ProtectedDisks.Guard(p.GetValue(_catalog), includeClones);

    private static VhdxDiskType ParseType(string? type) => type == "fixed" ? VhdxDiskType.Fixed : VhdxDiskType.Dynamic;

    private int Create(string path, VhdxCreateOptions options, ParseResult p)
    {
        TextWriter stdout = p.InvocationConfiguration.Output;
        long size = options.VirtualSize;
        WriteTargetGuard guard = Guard(p, includeClones: true);
        guard.Check(path, "new disk");
        Wrap(() => VhdxDisk.Create(path, options));
        stdout.WriteLine($"created {path}: {options.Type.ToString().ToLowerInvariant()}, {Sizes.Format(size)}");
        return 0;
    }

    private int Clone(string parent, string child, VhdxDifferencingOptions options, ParseResult p)
    {
        TextWriter stdout = p.InvocationConfiguration.Output;
        WriteTargetGuard guard = Guard(p, includeClones: true);
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

    private static int Info(string path, bool json, VhdxOpenOptions options, TextWriter stdout)
    {
        using VhdxDisk disk = VhdxDisk.Open(path, options);
        long allocated = disk.GetAllocatedBytes();
        IReadOnlyList<VhdxDisk> chain = disk.Chain;

        // The partitions (or the whole disk) and the file system found in each, opened as a scan would open them.
        var partitions = Prism.Disks.Guest.GuestDisk.Open(disk, disk.Path);
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
            w.WriteStartArray("partitions");
            foreach (Prism.Disks.Guest.GuestPartition part in partitions.Partitions)
            {
                w.WriteStartObject();
                w.WriteNumber("number", part.Number);
                w.WriteNumber("offset", part.Offset);
                w.WriteNumber("length", part.Length);
                w.WriteString("fileSystem", Prism.Disks.Guest.GuestFileSystems.DisplayName(part.FileSystem));
                w.WriteBoolean("readable", part.Volume is not null);
                if (part.Problem is null)
                {
                    w.WriteNull("problem");
                }
                else
                {
                    w.WriteString("problem", part.Problem);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
            w.Flush();
            WriteJson(stdout, jsonBuffer);
            return 0;
        }

        stdout.WriteLine($"Path:                 {TextEscaping.Escape(disk.Path)}");
        stdout.WriteLine("Format:               VHDX");
        stdout.WriteLine($"Type:                 {disk.Type}");
        stdout.WriteLine($"Virtual size:         {disk.VirtualSize} ({Sizes.Format(disk.VirtualSize)})");
        stdout.WriteLine($"File size:            {disk.FileSize} ({Sizes.Format(disk.FileSize)})");
        stdout.WriteLine($"Block size:           {disk.BlockSize} ({Sizes.Format(disk.BlockSize)})");
        stdout.WriteLine($"Logical sector size:  {disk.LogicalSectorSize}");
        stdout.WriteLine($"Physical sector size: {disk.PhysicalSectorSize}");
        stdout.WriteLine($"Disk identifier:      {disk.DiskId:D}");
        stdout.WriteLine($"Data write GUID:      {disk.DataWriteGuid:D}");
        stdout.WriteLine($"Parent path:          {(disk.Parent is { } parent ? TextEscaping.Escape(parent.Path) : "-")}");
        stdout.WriteLine($"Allocated here:       {allocated} ({Sizes.Format(allocated)})");
        for (int i = 0; i < chain.Count; i++)
        {
            stdout.WriteLine($"Chain[{i}]:             {TextEscaping.Escape(chain[i].Path)}");
        }

        foreach (Prism.Disks.Guest.GuestPartition part in partitions.Partitions)
        {
            string fs = Prism.Disks.Guest.GuestFileSystems.DisplayName(part.FileSystem);
            stdout.WriteLine($"{(part.Number == 0 ? "Volume:" : $"Partition {part.Number}:"),-21} 0x{part.Offset:X} {Sizes.Format(part.Length)} {fs}"
                + (part.Problem is null ? string.Empty : $" ({TextEscaping.Escape(part.Problem)})"));
        }

        return 0;
    }

    private static int Check(string path, bool json, VhdxOpenOptions options, TextWriter stdout)
    {
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

    private int Read(string path, long offset, long length, string? output, VhdxOpenOptions options, ParseResult p)
    {
        WriteTargetGuard guard = Guard(p, includeClones: true);
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

    private int Write(string path, long offset, string? input, ParseResult p)
    {
        TextWriter stdout = p.InvocationConfiguration.Output;
        WriteTargetGuard guard = Guard(p, includeClones: false);

        // A golden or the parent of a clone is never opened for writing, whatever its permission bits (root ignores them).
        guard.Check(path, "disk to write");
        DiskLease.ThrowIfHeld(path, "disk write");
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

    private static int Map(string path, bool json, VhdxOpenOptions options, TextWriter stdout)
    {
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

    private int Import(string raw, string vhdx, long? blockSize, VhdxDiskType type, ParseResult p)
    {
        TextWriter stdout = p.InvocationConfiguration.Output;
        WriteTargetGuard guard = Guard(p, includeClones: true);
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
            long written = TerminalProgress.Run(p.InvocationConfiguration.Error, quiet: false, bar =>
            {
                bar.Start($"importing {Path.GetFileName(raw)}", source.Length);
                long bytes = 0;
                for (long offset = 0; offset < source.Length; offset += chunk)
                {
                    int n = source.Read(buf, offset);
                    Span<byte> data = buf.AsSpan(0, n);
                    if (data.ContainsAnyExcept((byte)0))
                    {
                        disk.Write(data, offset);
                        bytes += n;
                    }

                    bar.Report(offset + n, offset + n);
                }

                bar.Stop();
                return bytes;
            });

            disk.Flush();
            stdout.WriteLine($"imported {raw} into {vhdx}: {Sizes.Format(size)}, {Sizes.Format(written)} in allocated blocks");
        }
        catch
        {
            File.Delete(vhdx);
            throw;
        }

        return 0;
    }

    private int Export(string vhdx, string raw, VhdxOpenOptions options, ParseResult p)
    {
        TextWriter stdout = p.InvocationConfiguration.Output;
        WriteTargetGuard guard = Guard(p, includeClones: true);
        guard.Check(raw, "export target");
        guard.Check(raw + ".prism-tmp", "export temporary file");
        using VhdxDisk disk = VhdxDisk.Open(vhdx, options);
        TerminalProgress.Run(p.InvocationConfiguration.Error, quiet: false, bar =>
        {
            bar.Start($"exporting {Path.GetFileName(vhdx)}", disk.VirtualSize);
            disk.ExportRaw(raw, new SyncProgress<long>(done => bar.Report(done, done)));
            bar.Stop();
            return 0;
        });
        stdout.WriteLine($"exported {vhdx} to {raw}: {Sizes.Format(disk.VirtualSize)}");
        return 0;
    }
}
