using System.CommandLine;
using Prism.Disks.Errors;
using Prism.Disks.IO;

namespace Prism.Cli;

/// <summary>
/// The <c>ls|cat|extents</c> command tree that <c>prism fs</c> and <c>prism ntfs</c> share: the same arguments and
/// options, and the same error handling (one line on stderr; exit 1 for a failure, 2 for a refused output file). Each
/// command brings its own help texts and the code that opens the volume and answers the request.
/// </summary>
internal static class VolumeCommands
{
    /// <summary>The help texts of one command tree.</summary>
    internal sealed record Texts(string Group, string Description, string Partition, string ListPath, string Recursive, string Ls,
        string FilePath, string Cat, string Extents);

    /// <summary>The <c>ls|cat|extents</c> group; <paramref name="run"/> answers a request on the opened disk.</summary>
    public static Command Create(Texts texts, Func<string, IDiskSource> openDisk, Func<IDiskSource, VolumeRequest, TextWriter, TextWriter, int> run)
    {
        var disk = CliOptions.Arg("DISK", "a VHDX (with its chain) or a raw image");
        var partition = CliOptions.Int("--partition", texts.Partition, minimum: 1);
        var json = CliOptions.JsonFlag();
        var listPath = new Argument<string?>("PATH") { Description = texts.ListPath, Arity = ArgumentArity.ZeroOrOne };
        var recursive = CliOptions.Flag("--recursive", texts.Recursive, "-r");
        var ls = new Command("ls", texts.Ls) { disk, listPath, recursive, json, partition };
        ls.SetAction(p => Run(texts.Group, new VolumeRequest
        {
            Command = "ls",
            Disk = p.GetValue(disk)!,
            Path = p.GetValue(listPath),
            Recursive = p.GetValue(recursive),
            Json = p.GetValue(json),
            Partition = p.GetValue(partition),
        }, openDisk, run, p.InvocationConfiguration.Output, p.InvocationConfiguration.Error));
        var filePath = CliOptions.Arg("PATH", texts.FilePath);
        var output = CliOptions.Text("--output", "write to this file instead of stdout", "FILE");
        output.Aliases.Add("-o");
        var cat = new Command("cat", texts.Cat) { disk, filePath, output, partition };
        cat.SetAction(p => Run(texts.Group, new VolumeRequest
        {
            Command = "cat",
            Disk = p.GetValue(disk)!,
            Path = p.GetValue(filePath),
            Output = p.GetValue(output),
            Partition = p.GetValue(partition),
        }, openDisk, run, p.InvocationConfiguration.Output, p.InvocationConfiguration.Error));
        var extents = new Command("extents", texts.Extents) { disk, filePath, json, partition };
        extents.SetAction(p => Run(texts.Group, new VolumeRequest
        {
            Command = "extents",
            Disk = p.GetValue(disk)!,
            Path = p.GetValue(filePath),
            Json = p.GetValue(json),
            Partition = p.GetValue(partition),
        }, openDisk, run, p.InvocationConfiguration.Output, p.InvocationConfiguration.Error));
        return CliOptions.Group(texts.Group, texts.Description, ls, cat, extents);
    }

    /// <summary>Parses <paramref name="args"/> under <paramref name="group"/> alone (tests pass their own disk opener).</summary>
    public static int Run(Command group, string[] args, TextWriter stdout, TextWriter stderr)
    {
        RootCommand root = Program.NewRoot();
        root.Subcommands.Add(group);
        return Program.Run(root, [group.Name, .. args], stdout, stderr);
    }

    private static int Run(string group, VolumeRequest request, Func<string, IDiskSource> openDisk,
        Func<IDiskSource, VolumeRequest, TextWriter, TextWriter, int> run, TextWriter stdout, TextWriter stderr)
    {
        IDiskSource? disk = null;
        try
        {
            disk = openDisk(request.Disk);
            return run(disk, request, stdout, stderr);
        }
        catch (ProtectedPathException ex)
        {
            stderr.WriteLine($"prism {group}: {ex.Message}");
            return 2;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            // DiskFormatException, FileNotFoundException and EndOfStreamException are IOExceptions.
            stderr.WriteLine($"prism {group}: {TextEscaping.Escape(ex.Message)}");
            return 1;
        }
        finally
        {
            (disk as IDisposable)?.Dispose();
        }
    }
}
