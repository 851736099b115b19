using System.Management.Automation;
using Prism.Disks.Guest;
using Prism.Disks.IO;
using Prism.Fleet.Files;

namespace Prism.PowerShell.Cmdlets;

/// <summary>
/// <para type="synopsis">Lists the files of a guest volume (NTFS, ext2, ext3, ext4) inside a VHDX chain or a raw disk image, read-only.</para>
/// <para type="description">Writes one object per path, with the fields of prism fs ls --json (Path, IsDirectory, Type, Size,
/// Inode or MftRecord, Streams): the directory -FilePath (default: the root), its subdirectories with -Recurse, or the file
/// -FilePath names. Every path of a hard-linked file is listed. -Partition N picks the volume; without it the only readable
/// volume is read, or the first one with a warning. Entries that cannot be read are skipped with a warning.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "PrismFile")]
[OutputType(typeof(PrismFile))]
public sealed class GetPrismFileCommand : PrismCmdletBase, IDisposable
{
    private readonly CancellationTokenSource _stop = new();

    /// <summary>Disk files: VHDX (read through its parent chain) or raw images (wildcards allowed).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = null!;

    /// <summary>Directory or file inside the volume, with '/' separators (default: the root).</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string FilePath { get; set; } = "/";

    /// <summary>List subdirectories too.</summary>
    [Parameter]
    public SwitchParameter Recurse { get; set; }

    /// <summary>Partition number (Linux numbering: 1, 2, ...).</summary>
    [Parameter]
    [ValidateRange(1, 128)]
    public int? Partition { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord() => ForEachExistingFile(Path, List);

    /// <inheritdoc />
    protected override void StopProcessing() => _stop.Cancel();

    /// <inheritdoc />
    public void Dispose() => _stop.Dispose();

    private void List(string file)
    {
        IDiskSource disk = GuestFileListing.OpenDisk(file);
        try
        {
            GuestDisk layout = GuestDisk.Open(disk, file);
            if (layout.TableProblem is not null)
            {
                WriteWarning($"{file}: {layout.TableProblem}");
            }

            GuestVolumeChoice choice = GuestFileListing.SelectVolume(layout, file, Partition);
            if (choice.Ambiguous)
            {
                WriteWarning($"{file}: {choice.Readable.Count} volumes ({GuestFileListing.DescribeReadable(choice)}); "
                    + $"using partition {choice.Partition.Number}, pass -Partition N to choose");
            }

            var skipped = new List<GuestEnumerationError>();
            IReadOnlyList<GuestFileEntry> entries = GuestFileListing.List(choice.Volume, FilePath, Recurse, skipped.Add, _stop.Token);
            foreach (GuestEnumerationError e in skipped)
            {
                WriteWarning($"{file}: skipped {e}");
            }

            foreach (GuestFileEntry e in entries)
            {
                WriteObject(PrismFile.From(e, choice, file));
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Ctrl+C: PowerShell stops the pipeline itself.
        }
        finally
        {
            (disk as IDisposable)?.Dispose();
        }
    }
}
