using Prism.Disks.Errors;

namespace Prism.Cli;

internal static class Program
{
    private const string Usage = """
        prism: VHDX differencing-disk provisioning and fleet scanning

        usage: prism <group> <command> [options]
          prism disk create|clone|info|check|read|write|map|import|export ...
          prism ntfs ls|cat|extents DISK ...   files inside a guest disk (VHDX chain or raw image)
          prism scan PARENT CLONE... --signatures FILE...   fleet malware scan
          prism sigs info PATH... [--json]   what the built-in engine loads from ClamAV databases
          prism golden add|list|remove, prism clone new|list|reset|remove|merge|promote, prism catalog verify
          prism vm attach|detach|create-disk ...   Hyper-V (Windows hosts with Hyper-V only)
          prism demo [DIR]          create -> clone -> write -> info -> map on a small disk
          prism bench disk          measure the engine against its targets and qemu-img
          prism bench ntfs IMAGE    enumerate + sector maps of a raw NTFS image vs ntfsls -R

        run 'prism disk --help' for the disk commands
        """;

    private static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    internal static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0)
        {
            stderr.WriteLine(Usage);
            return 2;
        }

        try
        {
            return args[0] switch
            {
                "disk" => DiskCommand.Run(args[1..], stdout, stderr),
                "demo" => DemoCommand.Run(args[1..], stdout),
                "bench" => BenchCommand.Run(args[1..], stdout),
                "scan" => ScanCommand.Run(args[1..], stdout, stderr),
                "sigs" => SigsCommand.Run(args[1..], stdout),
                "golden" or "clone" or "catalog" => CatalogCommands.Run(args[0], args[1..], stdout, stderr),
                "vm" => Vm.VmCommand.Run(args[1..], stdout, stderr),
                "ntfs" => Ntfs.NtfsCommand.Run(args[1..], OpenDisk, stdout, stderr),
                "-h" or "--help" or "help" => Help(stdout),
                _ => throw new UsageException($"unknown command '{args[0]}'"),
            };
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"prism: {Prism.Disks.Errors.TextEscaping.Escape(e.Message)}");
            stderr.WriteLine("run 'prism --help' for usage");
            return 2;
        }
        catch (Prism.Disks.IO.ProtectedPathException e)
        {
            // A refused write target (a golden, a parent, a sealed VHDX) is a wrong command line: nothing was written.
            stderr.WriteLine($"prism: {OneLine(e.Message)}");
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException
            or NotSupportedException or ArgumentException or DiskFormatException or Microsoft.Data.Sqlite.SqliteException)
        {
            stderr.WriteLine($"prism: {Prism.Disks.Errors.TextEscaping.Escape(OneLine(e.Message))}");
            return args[0] == "scan" ? 2 : 1; // scan: 1 means "found", so an error is 2
        }
    }

    /// <summary>Opens a disk for reading: a VHDX (with its chain) or, failing the signature, a raw image.</summary>
    internal static Prism.Disks.IO.IDiskSource OpenDisk(string path)
    {
        // FileDiskSource opens without blocking and only regular files, so a FIFO named here cannot hang the command.
        var raw = new Prism.Disks.IO.FileDiskSource(path);
        Span<byte> sig = stackalloc byte[8];
        if (raw.Read(sig, 0) < 8 || !sig.SequenceEqual("vhdxfile"u8))
        {
            return raw;
        }

        raw.Dispose();
        return Prism.Disks.Vhdx.VhdxDisk.Open(path);
    }

    private static int Help(TextWriter stdout)
    {
        stdout.WriteLine(Usage);
        return 0;
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");
}
