using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Prism.Disks.Errors;
using Prism.Disks.Guest;
using Prism.Disks.IO;
using Prism.Fleet.Files;

namespace Prism.Cli.Fs;

/// <summary>
/// <c>prism fs ls|cat|extents</c>: read-only access to the files of any guest file system Prism reads (NTFS, ext2,
/// ext3, ext4) in a virtual disk or raw image, through <see cref="IGuestVolume"/> only. Volume choice: no partition table →
/// the whole disk; <c>--partition N</c> → partition N; otherwise the only readable volume, or the first one with a note
/// on stderr. Exit codes: 0 ok (entries that could not be read are skipped with a warning on stderr), 1 failure, 2 usage.
/// </summary>
internal static class FsCommand
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    private static readonly VolumeCommands.Texts s_texts = new(
        Group: "fs",
        Description: "read-only access to the files of a guest disk's NTFS or ext2/3/4 volume. Exit: 0 ok (entries that could not be "
            + "read are skipped with a warning on stderr), 1 failure, 2 usage",
        Partition: "partition number (Linux numbering: 1, 2, ...); default: the only volume Prism reads (NTFS, ext2/3/4), or the "
            + "first one with a note on stderr",
        ListPath: "directory or file inside the volume (default: the root)",
        Recursive: "list subdirectories too",
        Ls: "list a directory: type, size, inode or MFT record, time, path (every path of a hard-linked file)",
        FilePath: "file inside the volume; on NTFS optionally with :STREAM for a named stream",
        Cat: "copy a file's content (or an NTFS named stream) out of the volume",
        Extents: "where a file's metadata (MFT records; inode, extent-tree or indirect blocks) and content lie on the disk, holes and "
            + "unwritten ranges marked");

    /// <summary><c>prism fs</c>; disks are opened with <paramref name="openDisk"/> (default: VHDX chain or raw image).</summary>
    public static Command Create(Func<string, IDiskSource>? openDisk = null) =>
        VolumeCommands.Create(s_texts, openDisk ?? Program.OpenDisk, (disk, o, stdout, stderr) =>
        {
            IGuestVolume volume = SelectVolume(disk, o, stderr);
            return o.Command switch
            {
                "ls" => List(volume, o, stdout, stderr),
                "cat" => Cat(volume, o, stdout, stderr),
                _ => Extents(volume, o, stdout),
            };
        });

    /// <summary>Parses <c>fs</c> arguments (<c>ls DISK ...</c>) and runs them with <paramref name="openDisk"/> (tests).</summary>
    internal static int Run(string[] args, Func<string, IDiskSource> openDisk, TextWriter stdout, TextWriter stderr) =>
        VolumeCommands.Run(Create(openDisk), args, stdout, stderr);

    private static IGuestVolume SelectVolume(IDiskSource disk, VolumeRequest o, TextWriter stderr)
    {
        GuestDisk layout = GuestDisk.Open(disk, o.Disk);
        if (layout.TableProblem is not null)
        {
            stderr.WriteLine($"prism fs: warning: {TextEscaping.Escape(layout.TableProblem)}");
        }

        GuestVolumeChoice choice = GuestFileListing.SelectVolume(layout, o.Disk, o.Partition);
        if (choice.Ambiguous)
        {
            stderr.WriteLine($"prism fs: note: {choice.Readable.Count} volumes ({GuestFileListing.DescribeReadable(choice)}); "
                + $"using partition {choice.Partition.Number}, pass --partition N to choose");
        }

        return choice.Volume;
    }

    private static char TypeChar(GuestFileType t) => t switch
    {
        GuestFileType.Directory => 'd',
        GuestFileType.Symlink => 'l',
        GuestFileType.Fifo => 'p',
        GuestFileType.CharacterDevice => 'c',
        GuestFileType.BlockDevice => 'b',
        GuestFileType.Socket => 's',
        _ => '-',
    };

    private static string TypeName(GuestFileType t) => GuestFileListing.TypeName(t);

    private static string IdName(IGuestVolume volume) => GuestFileListing.IdName(volume.FileSystem);

    private static int List(IGuestVolume volume, VolumeRequest o, TextWriter stdout, TextWriter stderr)
    {
        IReadOnlyList<GuestFileEntry> entries = GuestFileListing.List(volume, o.Path ?? "/", o.Recursive,
            e => stderr.WriteLine($"prism fs: warning: skipped {TextEscaping.Escape(e.ToString())}"));

        if (o.Json)
        {
            string id = IdName(volume);
            ListingText.WriteJsonArray(stdout, entries, e => new JsonObject
            {
                ["path"] = e.Path,
                ["isDirectory"] = e.IsDirectory,
                ["type"] = TypeName(e.Type),
                ["size"] = e.Size,
                [id] = e.Id,
                ["streams"] = new JsonArray([.. e.Streams.Select(s => (JsonNode)new JsonObject { ["name"] = s.Name, ["size"] = s.Size })]),
            }.ToJsonString(s_json));
            return 0;
        }

        foreach (GuestFileEntry e in entries)
        {
            ListingText.WriteEntry(stdout, TypeChar(e.Type), e.Size, e.Id, e.ModifiedTime.UtcDateTime, e.Path, e.IsDirectory,
                e.Streams.Select(s => (s.Name, s.Size)));
        }

        return 0;
    }

    private static int Cat(IGuestVolume volume, VolumeRequest o, TextWriter stdout, TextWriter stderr)
    {
        (GuestFileEntry entry, string stream) = Resolve(volume, o.Path!);
        if (entry.IsDirectory && stream.Length == 0)
        {
            throw new IOException($"{entry.Path} is a directory");
        }

        return StreamOutput.Copy(volume.OpenStream(entry, stream), entry.Path, o.Output, stdout, stderr, "prism fs");
    }

    private static int Extents(IGuestVolume volume, VolumeRequest o, TextWriter stdout)
    {
        GuestFileEntry entry = volume.Find(o.Path!) ?? throw new FileNotFoundException($"no such file or directory: {o.Path}");
        GuestFileLayout layout = volume.GetLayout(entry);
        string id = IdName(volume);
        if (o.Json)
        {
            var item = new JsonObject
            {
                ["path"] = entry.Path,
                ["type"] = TypeName(entry.Type),
                [id] = entry.Id,
                ["metadata"] = new JsonArray([.. layout.Metadata.Select(r => (JsonNode)new JsonObject { ["offset"] = r.Offset, ["length"] = r.Length })]),
                ["streams"] = new JsonArray([.. layout.Streams.Select(s => (JsonNode)new JsonObject
                {
                    ["name"] = s.Name,
                    ["size"] = s.Size,
                    ["compressed"] = s.IsCompressed,
                    ["extents"] = new JsonArray([.. s.Extents.Select(x => (JsonNode)new JsonObject
                    {
                        ["fileOffset"] = x.FileOffset,
                        ["length"] = x.Length,
                        ["diskOffset"] = x.DiskOffset,
                        ["kind"] = x.Kind.ToString().ToLowerInvariant(),
                    })]),
                })]),
            };
            stdout.WriteLine(item.ToJsonString(s_json));
            return 0;
        }

        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{TextEscaping.Escape(entry.Path)} {(id == "inode" ? "inode" : "record")} {entry.Id} ({GuestFileSystems.DisplayName(volume.FileSystem)}; offsets on the disk)"));
        foreach (ByteRange r in layout.Metadata)
        {
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"metadata  0x{r.Offset:X12} {r.Length,12}"));
        }

        foreach (GuestStreamLayout s in layout.Streams)
        {
            string label = s.Name.Length == 0 ? string.Empty : " " + TextEscaping.Escape(s.Name);
            foreach (GuestExtent x in s.Extents)
            {
                string where = x.DiskOffset < 0 ? new string('-', 14) : string.Create(CultureInfo.InvariantCulture, $"0x{x.DiskOffset:X12}");
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{x.Kind.ToString().ToLowerInvariant(),-9} {where} {x.Length,12} @{x.FileOffset}{label}"));
            }
        }

        return 0;
    }

    // "dir/file:stream": the whole text when it names a file, otherwise split at the last ':' (NTFS named streams).
    private static (GuestFileEntry Entry, string Stream) Resolve(IGuestVolume volume, string path)
    {
        GuestFileEntry? whole = volume.Find(path);
        if (whole is not null)
        {
            return (whole, string.Empty);
        }

        int colon = path.LastIndexOf(':');
        if (colon > 0 && volume.Find(path[..colon]) is { } file)
        {
            string stream = path[(colon + 1)..];
            GuestStreamInfo? s = file.Streams.FirstOrDefault(x => x.Name.Length > 0 && string.Equals(x.Name, stream, StringComparison.OrdinalIgnoreCase));
            return s is null ? throw new FileNotFoundException($"{file.Path} has no stream \"{stream}\"") : (file, s.Name);
        }

        throw new FileNotFoundException($"no such file: {path}");
    }
}
