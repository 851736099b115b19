using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Prism.Disks.Errors;
using Prism.Disks.IO;
using Prism.Disks.Ntfs;
using Prism.Disks.Partitions;

namespace Prism.Cli.Ntfs;

/// <summary>
/// <c>prism ntfs ls|cat|extents</c>: read-only access to the NTFS volume of a virtual disk or raw image.
/// Volume choice: no partition table → the whole disk; <c>--partition N</c> → partition N (Linux numbering);
/// otherwise the only NTFS partition, or the first one with a note on stderr when there are several.
/// Exit codes: 0 ok (entries that could not be read are skipped with a warning on stderr), 1 failure, 2 usage.
/// </summary>
internal static class NtfsCommand
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    private static readonly VolumeCommands.Texts s_texts = new(
        Group: "ntfs",
        Description: "read-only access to the NTFS volume of a virtual disk or raw image. Exit: 0 ok (entries that could not be read "
            + "are skipped with a warning on stderr), 1 failure, 2 usage",
        Partition: "partition number (Linux numbering: 1, 2, ...); default: the only NTFS partition, or the first one with a note on stderr",
        ListPath: "folder or file inside the volume (default: the root)",
        Recursive: "list sub-folders too",
        Ls: "list a folder (names, sizes, streams)",
        FilePath: "file inside the volume, optionally with :STREAM for an alternate data stream",
        Cat: "copy a file's content (or a named stream) out of the volume",
        Extents: "where a file's MFT records and streams lie on the disk");

    /// <summary><c>prism ntfs</c>; disks are opened with <paramref name="openDisk"/> (default: VHDX chain or raw image).</summary>
    public static Command Create(Func<string, IDiskSource>? openDisk = null) =>
        VolumeCommands.Create(s_texts, openDisk ?? Program.OpenDisk, (disk, o, stdout, stderr) =>
        {
            NtfsVolume volume = SelectVolume(disk, o, stderr);
            return o.Command switch
            {
                "ls" => List(volume, o, stdout, stderr),
                "cat" => Cat(volume, o, stdout, stderr),
                _ => Extents(volume, o, stdout, stderr),
            };
        });

    /// <summary>Parses <c>ntfs</c> arguments (<c>ls DISK ...</c>) and runs them with <paramref name="openDisk"/> (tests).</summary>
    internal static int Run(string[] args, Func<string, IDiskSource> openDisk, TextWriter stdout, TextWriter stderr) =>
        VolumeCommands.Run(Create(openDisk), args, stdout, stderr);

    private static NtfsVolume SelectVolume(IDiskSource disk, VolumeRequest o, TextWriter stderr)
    {
        PartitionTable table = PartitionTable.Read(disk);
        foreach (string warning in table.Warnings)
        {
            stderr.WriteLine($"prism ntfs: warning: {TextEscaping.Escape(warning)}");
        }

        if (table.Scheme == PartitionScheme.None)
        {
            if (o.Partition is int n)
            {
                throw new IOException($"{o.Disk} has no partition table, so there is no partition {n}");
            }

            return NtfsVolume.Open(disk, o.Disk);
        }

        if (o.Partition is int number)
        {
            Partition p = table.Partitions.FirstOrDefault(x => x.Number == number)
                ?? throw new IOException($"{o.Disk} has no partition {number} (partitions: {Describe(table)})");
            return NtfsVolume.Open(p, $"{o.Disk} partition {number}");
        }

        List<Partition> ntfs = [.. table.Partitions.Where(p => NtfsVolume.IsNtfs(p.Source))];
        if (ntfs.Count == 0)
        {
            throw new IOException($"{o.Disk} has no NTFS partition (partitions: {Describe(table)})");
        }

        if (ntfs.Count > 1)
        {
            stderr.WriteLine($"prism ntfs: note: {ntfs.Count} NTFS partitions ({string.Join(", ", ntfs.Select(p => p.Number))}); " +
                $"using partition {ntfs[0].Number}, pass --partition N to choose");
        }

        return NtfsVolume.Open(ntfs[0], $"{o.Disk} partition {ntfs[0].Number}");
    }

    private static string Describe(PartitionTable table) =>
        table.Partitions.IsEmpty ? "none" : string.Join(", ", table.Partitions.Select(p => p.ToString()));

    private static int List(NtfsVolume volume, VolumeRequest o, TextWriter stdout, TextWriter stderr)
    {
        string path = o.Path ?? "/";
        NtfsFileEntry target = volume.Find(path) ?? throw new FileNotFoundException($"no such file or directory: {path}");
        IEnumerable<NtfsFileEntry> entries = target.IsDirectory
            ? volume.Enumerate(target.Path, o.Recursive, onError: e => stderr.WriteLine($"prism ntfs: warning: skipped {TextEscaping.Escape(e.ToString())}"))
            : [target];
        if (o.Json)
        {
            ListingText.WriteJsonArray(stdout, entries, e => JsonSerializer.Serialize(
                new ListItem(e.Path, e.IsDirectory, e.Size, e.RecordNumber, [.. e.Streams.Select(s => new StreamItem(s.Name, s.Size))]), s_json));
            return 0;
        }

        foreach (NtfsFileEntry e in entries)
        {
            char kind = e.IsDirectory ? 'd' : e.IsReparsePoint ? 'l' : '-';
            ListingText.WriteEntry(stdout, kind, e.Size, e.RecordNumber, e.LastWriteTime, e.Path, e.IsDirectory,
                e.Streams.Select(s => (s.Name, s.Size)));
        }

        return 0;
    }

    private static int Cat(NtfsVolume volume, VolumeRequest o, TextWriter stdout, TextWriter stderr)
    {
        (NtfsFileEntry entry, string stream) = Resolve(volume, o.Path!);
        if (entry.IsDirectory && stream.Length == 0)
        {
            throw new IOException($"{entry.Path} is a directory");
        }

        return StreamOutput.Copy(volume.OpenStream(entry, stream), entry.Path, o.Output, stdout, stderr, "prism ntfs");
    }

    private static int Extents(NtfsVolume volume, VolumeRequest o, TextWriter stdout, TextWriter stderr)
    {
        NtfsFileEntry entry = volume.Find(o.Path!) ?? throw new FileNotFoundException($"no such file or directory: {o.Path}");
        NtfsFileExtents extents = volume.GetExtents(entry);
        if (o.Json)
        {
            var item = new ExtentsItem(entry.Path, entry.RecordNumber, [.. extents.MftRecords.Select(ToItem)],
                [.. extents.Streams.Select(s => new StreamExtentsItem(s.Name, s.IsResident, [.. s.Ranges.Select(ToItem)]))]);
            stdout.WriteLine(JsonSerializer.Serialize(item, s_json));
            return 0;
        }

        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{TextEscaping.Escape(entry.Path)} record {entry.RecordNumber} (offsets on the disk)"));
        foreach (ByteRange r in extents.MftRecords)
        {
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"mft      0x{r.Offset:X12} {r.Length,12}"));
        }

        foreach (NtfsStreamExtents s in extents.Streams)
        {
            string label = s.Name.Length == 0 ? "::$DATA" : TextEscaping.Escape(s.Name);
            foreach (ByteRange r in s.Ranges)
            {
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{(s.IsResident ? "resident" : "data    ")} 0x{r.Offset:X12} {r.Length,12} {label}"));
            }
        }

        return 0;
    }

    private static ByteRangeItem ToItem(ByteRange r) => new(r.Offset, r.Length);

    // "dir/file:stream": the whole text when it names a file, otherwise split at the last ':'.
    private static (NtfsFileEntry Entry, string Stream) Resolve(NtfsVolume volume, string path)
    {
        NtfsFileEntry? whole = volume.Find(path);
        if (whole is not null)
        {
            return (whole, string.Empty);
        }

        int colon = path.LastIndexOf(':');
        if (colon > 0)
        {
            NtfsFileEntry? file = volume.Find(path[..colon]);
            if (file is not null)
            {
                string stream = path[(colon + 1)..];
                NtfsStreamInfo? s = file.Streams.FirstOrDefault(x => string.Equals(x.Name, stream, StringComparison.OrdinalIgnoreCase));
                return s is null ? throw new FileNotFoundException($"{file.Path} has no stream \"{stream}\"") : (file, s.Name);
            }
        }

        throw new FileNotFoundException($"no such file: {path}");
    }

    private sealed record ListItem(string Path, bool IsDirectory, long Size, long MftRecord, StreamItem[] Streams);

    private sealed record StreamItem(string Name, long Size);

    private sealed record ExtentsItem(string Path, long MftRecord, ByteRangeItem[] MftRecords, StreamExtentsItem[] Streams);

    private sealed record StreamExtentsItem(string Name, bool Resident, ByteRangeItem[] Ranges);

    private sealed record ByteRangeItem(long Offset, long Length);
}
