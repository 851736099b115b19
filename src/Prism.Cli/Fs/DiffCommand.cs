using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Prism.Disks.Errors;
using Prism.Disks.Guest;
using Prism.Disks.IO;
using Prism.Disks.Vhdx;

namespace Prism.Cli.Fs;

/// <summary>
/// <c>prism diff BASE CLONE [--json]</c>: the files CLONE added, deleted, modified, renamed or changed only in metadata
/// relative to BASE (its golden or any ancestor; any disk with the same partitions otherwise), for NTFS and ext2/3/4.
/// When BASE is in CLONE's chain, only what CLONE's own layers hold can differ: content outside them is not read.
/// Exit: 0 (changes or none; unreadable entries are warned about on stderr), 1 failure, 2 usage.
/// </summary>
internal static class DiffCommand
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    /// <summary><c>prism diff</c>.</summary>
    public static Command Create()
    {
        var baseArg = CliOptions.Arg("BASE", "the base disk (VHDX or raw image): the clone's golden or any ancestor");
        var cloneArg = CliOptions.Arg("CLONE", "the clone (VHDX or raw image)");
        var json = CliOptions.JsonFlag();
        var command = new Command("diff", "files a clone added, deleted, modified, renamed or changed only in metadata, relative to its golden "
            + "or an ancestor (NTFS, ext2/3/4). JSON: [{change, path, oldPath?, stream?, size}]. Exit: 0 ok, 1 failure, 2 usage")
        {
            baseArg, cloneArg, json,
        };
        command.SetAction(p => Run(p.GetValue(baseArg)!, p.GetValue(cloneArg)!, p.GetValue(json), p.InvocationConfiguration.Output, p.InvocationConfiguration.Error));
        return command;
    }

    private static int Run(string basePath, string clonePath, bool json, TextWriter stdout, TextWriter stderr)
    {
        IDiskSource? a = null;
        IDiskSource? b = null;
        try
        {
            a = Program.OpenDisk(basePath);
            b = Program.OpenDisk(clonePath);
            if (a.Length != b.Length)
            {
                throw new IOException($"{basePath} ({a.Length} bytes) and {clonePath} ({b.Length} bytes) are not the same size: not a base and its clone");
            }

            IReadOnlyList<ByteRange> divergent = Divergence(a, b);
            IReadOnlyList<GuestChange> changes = GuestDiff.Compare(a, b, divergent, e => stderr.WriteLine($"prism diff: warning: {TextEscaping.Escape(e)}"));
            if (json)
            {
                var array = new JsonArray();
                foreach (GuestChange c in changes)
                {
                    var o = new JsonObject { ["change"] = c.Change.ToString().ToLowerInvariant(), ["path"] = c.Path };
                    if (c.OldPath is not null)
                    {
                        o["oldPath"] = c.OldPath;
                    }

                    if (c.Stream is not null)
                    {
                        o["stream"] = c.Stream;
                    }

                    o["size"] = c.Size;
                    array.Add(o);
                }

                stdout.WriteLine(array.ToJsonString(s_json));
                return 0;
            }

            foreach (GuestChange c in changes)
            {
                string path = TextEscaping.Escape(c.Path) + (c.Stream is null ? string.Empty : ":" + TextEscaping.Escape(c.Stream));
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{c.Change.ToString().ToLowerInvariant(),-9} {c.Size,12} {path}{(c.OldPath is null ? string.Empty : " (was " + TextEscaping.Escape(c.OldPath) + ")")}"));
            }

            return 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            stderr.WriteLine($"prism diff: {TextEscaping.Escape(ex.Message)}");
            return 1;
        }
        finally
        {
            (a as IDisposable)?.Dispose();
            (b as IDisposable)?.Dispose();
        }
    }

    // Where the clone may differ from the base: the layers above the base when the base is in the clone's chain, else everywhere.
    private static List<ByteRange> Divergence(IDiskSource a, IDiskSource b)
    {
        if (a is VhdxDisk parent && b is VhdxDisk clone && clone.IndexInChain(parent) is int shared and >= 0)
        {
            return VhdxDisk.RangesAbove(clone.GetChainMap(), shared);
        }

        return [new ByteRange(0, b.Length)];
    }
}
